import CallFeedCore
import Foundation
import HTTPClient
import Testing
import VendorSandbox

/// CTM REST v1 as `vendors/ctm.md` documents it.
@Suite struct CTMSandboxTests {
    let auth = [("Authorization", "Basic " + Data("ctm_sandbox_access_key:ctm_sandbox_secret_key".utf8).base64EncodedString())]

    @Test func followingNextPageCollectsExactlyEveryCallOfEveryAccount() throws {
        try withSandbox { sandbox in
            let client = HTTPClient()
            // Accounts are paginated too: 1 per page forces a walk.
            var accountIDs: [String] = []
            var url: String? = sandbox.baseURL(for: .ctm) + "/api/v1/accounts?per_page=1"
            while let next = url {
                let page = try fetch(next, headers: auth, client: client)
                #expect(page.status == 200)
                accountIDs += page.json["accounts"]!.items.compactMap { $0["id"]?.text }
                url = page.json["next_page"]?.text
            }
            #expect(accountIDs == sandbox.accounts(vendor: .ctm).map(\.id))

            for account in accountIDs {
                var ids: [String] = []
                var pages = 0
                var url: String? = sandbox.baseURL(for: .ctm) + "/api/v1/accounts/\(account)/calls?per_page=5&page=1&start_date=2024-05-01&end_date=2024-05-07"
                while let next = url {
                    let page = try fetch(next, headers: auth, client: client)
                    #expect(page.status == 200)
                    pages += 1
                    #expect(page.json["total_entries"]?.integer == 23)
                    #expect(page.json["total_pages"]?.integer == 5)
                    ids += page.json["calls"]!.items.compactMap { $0["id"]?.text }
                    url = page.json["next_page"]?.text
                    if let url {
                        #expect(url.hasPrefix("http://127.0.0.1:\(sandbox.port)/ctm/api/v1/accounts/\(account)/calls?"))
                        #expect(queryParameters(url)["start_date"] == "2024-05-01")
                    } else {
                        // Absent, not null, on the last page.
                        #expect(page.json.objectValue?.keys.contains("next_page") == false)
                    }
                }
                #expect(pages == 5)
                #expect(ids.sorted() == sandbox.calls(vendor: .ctm, account: account).map(\.id).sorted())
                #expect(Set(ids).count == 23)
            }
        }
    }

    @Test func dateFilterIsWholeUTCDaysInclusive() throws {
        try withSandbox { sandbox in
            let account = sandbox.accounts(vendor: .ctm)[0].id
            let dayStart = Timestamp(year: 2024, month: 5, day: 3)!
            let dayEnd = Timestamp(year: 2024, month: 5, day: 5)!
            let expected = sandbox.calls(vendor: .ctm, account: account)
                .filter { $0.startedAt >= dayStart && $0.startedAt < dayEnd }.map(\.id)
            #expect(!expected.isEmpty)
            let page = try fetch(sandbox.baseURL(for: .ctm) + "/api/v1/accounts/\(account)/calls.json?start_date=2024-05-03&end_date=2024-05-04&per_page=150",
                                 headers: auth)
            let ids = page.json["calls"]!.items.compactMap { $0["id"]?.text }
            #expect(ids.sorted() == expected.sorted())
            // Newest first.
            let times = page.json["calls"]!.items.compactMap { $0["unix_time"]?.integer }
            #expect(times == times.sorted(by: >))

            let bad = try fetch(sandbox.baseURL(for: .ctm) + "/api/v1/accounts/\(account)/calls?start_date=05/03/2024", headers: auth)
            #expect(bad.status == 400)
        }
    }

    @Test func perPageAbove150Is400WithTheDocumentedBody() throws {
        try withSandbox { sandbox in
            let account = sandbox.accounts(vendor: .ctm)[0].id
            let base = sandbox.baseURL(for: .ctm) + "/api/v1/accounts/\(account)/calls?per_page="
            let refused = try fetch(base + "151", headers: auth)
            #expect(refused.status == 400)
            #expect(refused.json == .object(["error": .string("per_page limit is 150")]))
            let allowed = try fetch(base + "150", headers: auth)
            #expect(allowed.status == 200)
            #expect(allowed.json["per_page"]?.integer == 150)
        }
    }

    @Test func onlyBasicAuthWithTheRightSecretIsAccepted() throws {
        try withSandbox { sandbox in
            let url = sandbox.baseURL(for: .ctm) + "/api/v1/accounts"
            let wrongSecret = "Basic " + Data("ctm_sandbox_access_key:wrong".utf8).base64EncodedString()
            // The seed's scheme (ctm.md §1 [SEED?]) is not CTM's.
            let seedScheme = "Token token=\"ctm_sandbox_access_key:ctm_sandbox_secret_key\""
            for header in [wrongSecret, seedScheme] {
                let refused = try fetch(url, headers: [("Authorization", header)])
                #expect(refused.status == 401)
                #expect(refused.json["status"]?.text == "error")
            }
            #expect(try fetch(url).status == 401)
            #expect(try fetch(url, headers: auth).status == 200)
        }
    }

    @Test func jsonSuffixSingleCallAndNoActivitiesPath() throws {
        try withSandbox { sandbox in
            let account = sandbox.accounts(vendor: .ctm)[1].id
            let call = sandbox.calls(vendor: .ctm, account: account)[4]
            let base = sandbox.baseURL(for: .ctm) + "/api/v1/accounts/\(account)"
            let one = try fetch(base + "/calls/\(call.id).json", headers: auth)
            #expect(one.status == 200)
            #expect(one.json == call.record)
            #expect(one.json["account_id"]?.text == account)
            #expect(try fetch(base + "/activities", headers: auth).status == 404)
            #expect(try fetch(base + "/users.json", headers: auth).json["users"]?.items.count == 3)
        }
    }
}
