import CallFeedCore
import Foundation
import HTTPClient
import Testing
import VendorSandbox

/// JustCall API v2.1 as `vendors/justcall.md` documents it.
@Suite struct JustCallSandboxTests {
    let auth = [("Authorization", "justcall_sandbox_key:justcall_sandbox_secret")]

    @Test func pagesFromZeroCollectEveryCallOfTheTeam() throws {
        try withSandbox { sandbox in
            let client = HTTPClient()
            for account in sandbox.accounts(vendor: .justcall) {
                let headers = [("Authorization", try #require(account.credential.authorization))]
                var ids: [String] = []
                var page = 0
                while true {
                    let response = try fetch(sandbox.baseURL(for: .justcall) + "/v2.1/calls?per_page=10&page=\(page)&sort=datetime&order=asc",
                                             headers: headers, client: client)
                    #expect(response.status == 200)
                    #expect(response.json["current_page"]?.integer == Int64(page))
                    let data = response.json["data"]!.items
                    #expect(response.json["count"]?.integer == Int64(data.count))
                    ids += data.compactMap { $0["id"]?.text }
                    guard let next = response.json["next_page_link"]?.text else { break }
                    page = Int(queryParameters(next)["page"] ?? "") ?? -1
                }
                #expect(page == 2)
                // Ascending by time: the generated order.
                #expect(ids == sandbox.calls(vendor: .justcall, account: account.id).map(\.id))
            }
        }
    }

    @Test func defaultOrderIsIdDescendingAndNextLinkDropsFilters() throws {
        try withSandbox { sandbox in
            let base = sandbox.baseURL(for: .justcall) + "/v2.1/calls"
            let first = try fetch(base + "?per_page=5&from_datetime=2024-05-01&to_datetime=2024-05-07", headers: auth)
            let ids = first.json["data"]!.items.compactMap { $0["id"]?.integer }
            #expect(ids == ids.sorted(by: >))
            #expect(first.json["per_page"]?.integer == 5)
            let next = try #require(first.json["next_page_link"]?.text)
            // The documented trap (§3): the link keeps page and per_page only.
            #expect(queryParameters(next).keys.sorted() == ["page", "per_page"])
            #expect(first.json["prev_page_link"] == .null)
            // Default page size 20, at most 100.
            #expect(try fetch(base, headers: auth).json["per_page"]?.integer == 20)
            #expect(try fetch(base + "?per_page=500", headers: auth).json["per_page"]?.integer == 100)
        }
    }

    @Test func datetimeFiltersAreInTheUserTimeZoneWhileCallTimesAreUTC() throws {
        try withSandbox { sandbox in
            let account = sandbox.accounts(vendor: .justcall)[0].id
            let calls = sandbox.calls(vendor: .justcall, account: account)
            // 2024-05-03 in America/Los_Angeles (UTC-7 in May).
            let from = Timestamp(year: 2024, month: 5, day: 3, utcOffsetSeconds: -7 * 3600)!
            let expected = calls.filter { $0.startedAt >= from && $0.startedAt < from.adding(seconds: 86_400) }.map(\.id)
            let response = try fetch(sandbox.baseURL(for: .justcall) + "/v2.1/calls?per_page=100&sort=datetime&order=asc&from_datetime=2024-05-03&to_datetime=2024-05-03%2023:59:59",
                                     headers: auth)
            #expect(response.json["data"]!.items.compactMap { $0["id"]?.text } == expected)
            for record in response.json["data"]!.items {
                let date = try #require(record["call_date"]?.text)
                let time = try #require(record["call_time"]?.text)
                let padded = time.count == 7 ? "0" + time : time  // the unpadded-hour quirk (§6)
                let utc = Timestamp.parseISO8601("\(date) \(padded)", defaultUTCOffsetSeconds: 0)
                #expect(utc?.secondsSinceEpoch == sandbox.call(vendor: .justcall, id: record["id"]?.text ?? "")?.startedAt.secondsSinceEpoch)
                #expect(record["contact_number"]?.text?.hasPrefix("+") == false)
            }
        }
    }

    @Test func rateLimitHeadersOnEveryResponseAndThe429() throws {
        let limits = [SandboxVendor.justcall: SandboxRateLimit(windows: [.perHour(100), .perMinute(3)])]
        try withSandbox(testConfiguration(rateLimits: limits)) { sandbox in
            let url = sandbox.baseURL(for: .justcall) + "/v2.1/users"
            let client = HTTPClient()
            var remaining: [Int] = []
            var burstRemaining: [Int] = []
            for _ in 0..<3 {
                let response = try fetch(url, headers: auth, client: client)
                #expect(response.status == 200)
                remaining.append(Int(response.headers["x-rate-limit-remaining"] ?? "") ?? -1)
                burstRemaining.append(Int(response.headers["x-rate-limit-burst-remaining"] ?? "") ?? -1)
                #expect(response.headers["x-rate-limit-limit"] == "100")
                let reset = Int64(response.headers["x-rate-limit-reset"] ?? "") ?? 0
                let now = Int64(Date().timeIntervalSince1970)
                #expect(reset > now && reset <= now + 3601)  // absolute epoch seconds
            }
            #expect(remaining == [99, 98, 97])
            #expect(burstRemaining == [2, 1, 0])
            let refused = try fetch(url, headers: auth, client: client)
            #expect(refused.status == 429)
            #expect(refused.json["status"]?.text == "error")
            #expect((Int(refused.headers["retry-after"] ?? "") ?? 0) >= 1)
            #expect(refused.headers["x-rate-limit-burst-remaining"] == "0")
            #expect(refused.headers["x-rate-limit-remaining"] == "97")
        }
    }

    @Test func authIsTheRawKeyColonSecretHeader() throws {
        try withSandbox { sandbox in
            let base = sandbox.baseURL(for: .justcall)
            // The seed's `api_key` header and a Basic header on v2.1 are refused (§1).
            let seed = try fetch(base + "/v2.1/calls", headers: [("api_key", "justcall_sandbox_key")])
            #expect(seed.status == 401)
            #expect(seed.json["status"]?.text == "error")
            let basic = "Basic " + Data("justcall_sandbox_key:justcall_sandbox_secret".utf8).base64EncodedString()
            #expect(try fetch(base + "/v2.1/calls", headers: [("Authorization", basic)]).status == 401)
            #expect(try fetch(base + "/v2.1/calls", headers: auth).headers["x-rate-limit-limit"] != nil)
            // v1 lists are POST; the seed's GET is refused.
            #expect(try fetch(base + "/v1/contacts/list", headers: auth).status == 405)
            #expect(try fetch(base + "/v1/contacts/list", method: "POST", headers: auth).json["data"]?.items.isEmpty == false)
            for path in ["/v2.1/users", "/v2.1/texts", "/v2.1/contacts", "/v2.1/phone-numbers", "/v2.1/calls/analytics/agent",
                         "/v2.1/sales_dialer/analytics"] {
                let response = try fetch(base + path, headers: auth)
                #expect(response.status == 200, "\(path)")
                #expect(response.json["data"]?.arrayValue != nil, "\(path)")
            }
        }
    }
}
