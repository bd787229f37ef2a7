import CallFeedCore
import Foundation
import HTTPClient
import Testing
import VendorSandbox

/// CallRail API v3 as `vendors/callrail.md` documents it.
@Suite struct CallRailSandboxTests {
    let auth = [("Authorization", "Token token=\"callrail_sandbox_api_key\"")]

    @Test func numberedPagesCollectEveryCall() throws {
        try withSandbox { sandbox in
            let client = HTTPClient()
            let accounts = try fetch(sandbox.baseURL(for: .callrail) + "/v3/a.json", headers: auth, client: client)
            let numericIDs = accounts.json["accounts"]!.items.compactMap { $0["numeric_id"]?.text }
            #expect(numericIDs == sandbox.accounts(vendor: .callrail).map(\.id))
            #expect(accounts.json["accounts"]!.items.allSatisfy { $0["id"]?.text?.hasPrefix("ACC") == true })

            for account in numericIDs {
                var ids: [String] = []
                var page = 1
                var totalPages: Int64 = 0
                repeat {
                    let response = try fetch(sandbox.baseURL(for: .callrail)
                        + "/v3/a/\(account)/calls.json?time_zone=Etc/UTC&start_date=2024-05-01&end_date=2024-05-07&per_page=10&page=\(page)",
                        headers: auth, client: client)
                    #expect(response.status == 200)
                    #expect(response.json["total_records"]?.integer == 23)
                    totalPages = response.json["total_pages"]?.integer ?? 0
                    #expect((response.headers["link"] != nil) == (Int64(page) < totalPages))
                    ids += response.json["calls"]!.items.compactMap { $0["id"]?.text }
                    page += 1
                } while Int64(page) <= totalPages
                #expect(totalPages == 3)
                #expect(ids.sorted() == sandbox.calls(vendor: .callrail, account: account).map(\.id).sorted())
                #expect(Set(ids).count == 23)
            }
        }
    }

    @Test func relativePaginationFollowsNextPageToTheEnd() throws {
        try withSandbox { sandbox in
            let account = sandbox.accounts(vendor: .callrail)[1].id
            var ids: [String] = []
            var url: String? = sandbox.baseURL(for: .callrail)
                + "/v3/a/\(account)/calls.json?relative_pagination=true&per_page=4&time_zone=Etc/UTC&start_date=2024-05-01&end_date=2024-05-07"
            var hops = 0
            while let next = url {
                let response = try fetch(next, headers: auth)
                #expect(response.status == 200)
                #expect(response.json["total_records"] == nil)
                ids += response.json["calls"]!.items.compactMap { $0["id"]?.text }
                let hasNext = response.json["has_next_page"]?.boolean ?? false
                url = hasNext ? response.json["next_page"]?.text : nil
                #expect(hasNext == (response.json["next_page"] != .null))
                hops += 1
            }
            #expect(hops == 6)
            #expect(ids == sandbox.calls(vendor: .callrail, account: account).reversed().map(\.id))
        }
    }

    @Test func datesAreReadInTheUserTimeZoneUnlessTimeZoneIsSent() throws {
        try withSandbox { sandbox in
            let account = sandbox.accounts(vendor: .callrail)[0].id
            let calls = sandbox.calls(vendor: .callrail, account: account)
            func ids(_ query: String) throws -> Set<String> {
                let response = try fetch(sandbox.baseURL(for: .callrail) + "/v3/a/\(account)/calls.json?per_page=250&" + query, headers: auth)
                #expect(response.status == 200)
                return Set(response.json["calls"]!.items.compactMap { $0["id"]?.text })
            }
            let utcDay = (Timestamp(year: 2024, month: 5, day: 3)!, Timestamp(year: 2024, month: 5, day: 4)!)
            // America/New_York is UTC-4 in May.
            let newYorkDay = (utcDay.0.adding(seconds: 4 * 3600), utcDay.1.adding(seconds: 4 * 3600))
            let inUTC = Set(calls.filter { $0.startedAt >= utcDay.0 && $0.startedAt < utcDay.1 }.map(\.id))
            let inNewYork = Set(calls.filter { $0.startedAt >= newYorkDay.0 && $0.startedAt < newYorkDay.1 }.map(\.id))
            #expect(inUTC != inNewYork)
            #expect(try ids("time_zone=Etc/UTC&start_date=2024-05-03&end_date=2024-05-03") == inUTC)
            #expect(try ids("start_date=2024-05-03&end_date=2024-05-03") == inNewYork)
            // Without dates CallRail serves only `recent` (last 7 days): nothing from May 2024.
            #expect(try ids("").isEmpty)
            #expect(try ids("date_range=all_time").count == 23)
            // start_time is written in the requested zone.
            let one = try fetch(sandbox.baseURL(for: .callrail) + "/v3/a/\(account)/calls/\(calls[0].id).json?time_zone=Etc/UTC", headers: auth)
            #expect(one.json["start_time"]?.text?.hasSuffix("+00:00") == true)
            #expect(Timestamp.parseISO8601(one.json["start_time"]?.text ?? "") == calls[0].startedAt)
        }
    }

    @Test func defaultFieldsAndFieldsParameter() throws {
        try withSandbox { sandbox in
            let account = sandbox.accounts(vendor: .callrail)[0].id
            let base = sandbox.baseURL(for: .callrail) + "/v3/a/\(account)/calls.json?date_range=all_time&per_page=1"
            let plain = try #require(fetch(base, headers: auth).json["calls"]?.items.first?.objectValue)
            #expect(plain["tags"] == nil && plain["company_id"] == nil)
            #expect(plain["customer_phone_number"]?.text?.hasPrefix("+") == true)
            // `recording_duration` is a string of seconds (§6), never a number.
            let all = try fetch(base.replacingOccurrences(of: "per_page=1", with: "per_page=250"), headers: auth).json["calls"]!.items
            let durations = all.compactMap { $0["recording_duration"] }.filter { $0 != .null }
            #expect(!durations.isEmpty)
            #expect(durations.allSatisfy { if case .string(let s) = $0 { Int(s) != nil } else { false } })
            let extended = try #require(fetch(base + "&fields=tags,company_id,no_such_field", headers: auth).json["calls"]?.items.first?.objectValue)
            #expect(extended["tags"]?.arrayValue != nil)
            #expect(extended["company_id"]?.text?.hasPrefix("COM") == true)
            #expect(extended["no_such_field"] == nil)
        }
    }

    @Test func authEntityListsAndSeedPaths() throws {
        try withSandbox { sandbox in
            let base = sandbox.baseURL(for: .callrail)
            let account = sandbox.accounts(vendor: .callrail)[0].id
            // The seed's Bearer scheme is refused; Airbyte's unquoted form is accepted.
            let bearer = try fetch(base + "/v3/a.json", headers: [("Authorization", "Bearer callrail_sandbox_api_key")])
            #expect(bearer.status == 401)
            #expect(bearer.json["error"]?.text != nil)
            #expect(try fetch(base + "/v3/a.json", headers: [("Authorization", "Token token=callrail_sandbox_api_key")]).status == 200)
            for (path, key) in [("companies.json", "companies"), ("trackers.json", "trackers"), ("users.json", "users"),
                                ("tags.json", "tags"), ("form_submissions.json?date_range=all_time", "form_submissions"),
                                ("text-messages.json?date_range=all_time", "conversations"), ("text-messages?date_range=all_time", "conversations")] {
                let response = try fetch(base + "/v3/a/\(account)/\(path)", headers: auth)
                #expect(response.status == 200, "\(path)")
                #expect(!(response.json[key]?.items.isEmpty ?? true), "\(path)")
            }
            #expect(try fetch(base + "/v3/a/\(account)/text_messages.json", headers: auth).status == 404)
            #expect(try fetch(base + "/v3/a/\(account)/accounts.json", headers: auth).status == 404)
        }
    }

    @Test func retentionRefusesDatesOlderThan25Months() throws {
        var configuration = testConfiguration()
        configuration.callRailRetentionDays = 760
        try withSandbox(configuration) { sandbox in
            let account = sandbox.accounts(vendor: .callrail)[0].id
            let old = try fetch(sandbox.baseURL(for: .callrail) + "/v3/a/\(account)/calls.json?start_date=2015-01-01", headers: auth)
            #expect(old.status == 400)
            #expect(old.json["error"]?.text?.contains("retention") == true)
        }
    }
}
