import CallFeedCore
import Foundation
import HTTPClient
import Testing
import VendorSandbox

/// CleverTap's Profiles API (2-step cursor) as `vendors/clevertap.md` documents it.
@Suite struct CleverTapSandboxTests {
    static let auth = [("X-CleverTap-Account-Id", "TEST-R78-ZZ1"), ("X-CleverTap-Passcode", "clevertap-sandbox-passcode"),
                       ("Content-Type", "application/json")]

    static func configuration(notReady: Bool = false, limit: SandboxRateLimit? = nil) -> SandboxConfiguration {
        var c = testConfiguration(accounts: 2, callsPerAccount: 23)
        c.cleverTapCursorNotReadyOnce = notReady
        if let limit { c.operationRateLimits["clevertap/profiles"] = limit }
        return c
    }

    /// Step 1: POST the query, answer parsed.
    static func start(_ sandbox: VendorSandbox, event: String = "App Launched", from: JSONValue = .int(20_240_401),
                      to: JSONValue = .int(20_240_531), batchSize: Int? = 5, headers: [(String, String)] = auth) throws -> JSONResponse {
        let body = JSONValue.object(["event_name": .string(event), "from": from, "to": to])
        let query = batchSize.map { "?batch_size=\($0)" } ?? ""
        let response = try HTTPClient().request("POST", sandbox.baseURL(for: .clevertap) + "/1/profiles.json" + query,
                                                headers: headers, body: Array(body.canonicalJSON.utf8))
        return JSONResponse(status: response.status, headers: response.headers, text: response.bodyText,
                            json: (try? JSONValue.parse(response.body)) ?? .null)
    }

    /// Step 2: GET one page.
    static func page(_ sandbox: VendorSandbox, _ cursor: String, headers: [(String, String)] = auth) throws -> JSONResponse {
        let encoded = cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor
        return try fetch(sandbox.baseURL(for: .clevertap) + "/1/profiles.json?cursor=" + encoded, headers: headers)
    }

    /// Every page of an export: the records' objectIds and the page sizes.
    static func drain(_ sandbox: VendorSandbox, cursor first: String, headers: [(String, String)] = auth) throws -> (ids: [String], sizes: [Int]) {
        var ids: [String] = []
        var sizes: [Int] = []
        var cursor: String? = first
        while let current = cursor {
            let response = try page(sandbox, current, headers: headers)
            #expect(response.status == 200 && response.json["status"] == .string("success"))
            let records = response.json["records"]?.items ?? []
            ids += records.compactMap { $0["objectId"]?.text }
            sizes.append(records.count)
            cursor = response.json["next_cursor"]?.text
            #expect(response.json["cursor"] == nil)
            if sizes.count > 100 { Issue.record("the export does not end"); break }
        }
        return (ids, sizes)
    }

    @Test func wrongOrMissingCredentialsAre401WithTheFailBody() throws {
        try withSandbox(Self.configuration()) { sandbox in
            let wrong = [("X-CleverTap-Account-Id", "TEST-R78-ZZ1"), ("X-CleverTap-Passcode", "nope")]
            for headers in [wrong, [], [("X-CleverTap-Account-Id", "NO-SUCH"), ("X-CleverTap-Passcode", "clevertap-sandbox-passcode")]] {
                let refused = try Self.start(sandbox, headers: headers)
                #expect(refused.status == 401)
                #expect(refused.json == .object(["status": .string("fail"), "error": .string("Invalid Credentials"), "code": .int(401)]))
            }
            #expect(try Self.page(sandbox, "anything", headers: wrong).status == 401)
            // Account 2 has its own id and the same passcode.
            let second = [("X-CleverTap-Account-Id", "TEST-R78-ZZ1-2"), ("X-CleverTap-Passcode", "clevertap-sandbox-passcode")]
            #expect(try Self.start(sandbox, headers: second).status == 200)
        }
    }

    @Test func twoStepsPageThroughEveryProfileUntilNoNextCursor() throws {
        try withSandbox(Self.configuration()) { sandbox in
            let started = try Self.start(sandbox, batchSize: 5)
            #expect(started.status == 200)
            #expect(started.json["status"] == .string("success"))
            #expect(started.json["records"] == nil)
            let cursor = try #require(started.json["cursor"]?.text)
            let (ids, sizes) = try Self.drain(sandbox, cursor: cursor)
            #expect(sizes == [5, 5, 5, 5, 3])
            let profiles = sandbox.calls(vendor: .clevertap, account: "TEST-R78-ZZ1")
            #expect(profiles.count == 23)
            #expect(ids == profiles.map(\.id).sorted())
            // Each profile is a CleverTap profile: +E.164 phone, epoch-second events.
            for profile in profiles {
                #expect(profile.record["phone"]?.text?.hasPrefix("+1") == true)
                let launched = try #require(profile.record[path: "events", "App Launched"])
                #expect(launched["last_seen"]?.integer == profile.startedAt.secondsSinceEpoch)
                #expect((launched["first_seen"]?.integer ?? .max) <= profile.startedAt.secondsSinceEpoch)
            }
            // The other account's export holds only its own profiles.
            let second = [("X-CleverTap-Account-Id", "TEST-R78-ZZ1-2"), ("X-CleverTap-Passcode", "clevertap-sandbox-passcode")]
            let other = try Self.drain(sandbox, cursor: try #require(try Self.start(sandbox, headers: second).json["cursor"]?.text), headers: second)
            #expect(other.ids == sandbox.calls(vendor: .clevertap, account: "TEST-R78-ZZ1-2").map(\.id).sorted())
            #expect(Set(other.ids).isDisjoint(with: ids))
        }
    }

    @Test func theEventAndTheDaysFilterTheProfiles() throws {
        try withSandbox(Self.configuration()) { sandbox in
            let profiles = sandbox.calls(vendor: .clevertap, account: "TEST-R78-ZZ1")
            func expected(_ event: String, from: Int64, to: Int64) -> [String] {
                profiles.filter { p in
                    guard let e = p.record[path: "events", event], let first = e["first_seen"]?.integer, let last = e["last_seen"]?.integer else { return false }
                    return first < to && last >= from
                }.map(\.id).sorted()
            }
            let quotes = try Self.drain(sandbox, cursor: try #require(try Self.start(sandbox, event: "Quote Requested").json["cursor"]?.text))
            #expect(!quotes.ids.isEmpty && quotes.ids.count < profiles.count)
            #expect(quotes.ids == expected("Quote Requested", from: 0, to: .max))
            // One day, given as 8-digit strings: profiles whose App Launched range overlaps 2024-05-03 (UTC).
            let may3 = Timestamp(year: 2024, month: 5, day: 3)!.secondsSinceEpoch
            let day = try Self.drain(sandbox, cursor: try #require(try Self.start(sandbox, from: .string("20240503"), to: .string("20240503")).json["cursor"]?.text))
            #expect(day.ids == expected("App Launched", from: may3, to: may3 + 86_400))
            #expect(!day.ids.isEmpty && day.ids.count < profiles.count)
            // Nothing matches: one empty last page.
            let none = try Self.start(sandbox, event: "Never Happened")
            let empty = try Self.page(sandbox, try #require(none.json["cursor"]?.text))
            #expect(empty.json == .object(["status": .string("success"), "records": .array([])]))
        }
    }

    @Test func batchSizeAndQueryAreChecked() throws {
        try withSandbox(Self.configuration()) { sandbox in
            let tooBig = try Self.start(sandbox, batchSize: 5001)
            #expect(tooBig.status == 400)
            #expect(tooBig.json["status"] == .string("fail") && tooBig.json["error"]?.text?.contains("5000") == true)
            #expect(try Self.start(sandbox, batchSize: 0).status == 400)
            #expect(try Self.start(sandbox, batchSize: 5000).status == 200)
            // Default 10 per page.
            let defaulted = try Self.start(sandbox, batchSize: nil)
            let first = try Self.page(sandbox, try #require(defaulted.json["cursor"]?.text))
            #expect(first.json["records"]?.items.count == 10)
            #expect(try Self.start(sandbox, from: .int(20_240_532)).status == 400)
            #expect(try Self.start(sandbox, from: .int(20_240_510), to: .int(20_240_501)).status == 400)
            #expect(try Self.start(sandbox, event: "").status == 400)
            #expect(try fetch(sandbox.baseURL(for: .clevertap) + "/1/profiles.json", headers: Self.auth).status == 400)
            #expect(try fetch(sandbox.baseURL(for: .clevertap) + "/1/events.json", headers: Self.auth).status == 404)
        }
    }

    @Test func aTamperedOrForeignCursorIsRefused() throws {
        try withSandbox(Self.configuration()) { sandbox in
            let cursor = try #require(try Self.start(sandbox, batchSize: 5).json["cursor"]?.text)
            // The cursor is Base64 JSON; move the offset without the signature.
            var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while base64.count % 4 != 0 { base64 += "=" }
            let decoded = try JSONValue.parse(Array(try #require(Data(base64Encoded: base64))))
            #expect(decoded["o"] == .int(0))
            let moved = Data(decoded.setting("o", .int(5)).canonicalJSON.utf8).base64EncodedString()
            let tampered = try Self.page(sandbox, moved)
            #expect(tampered.status == 400)
            #expect(tampered.json == .object(["status": .string("fail"), "error": .string("Invalid cursor"), "code": .int(400)]))
            #expect(try Self.page(sandbox, "not-a-cursor").status == 400)
            // Account 2 cannot read account 1's export.
            let second = [("X-CleverTap-Account-Id", "TEST-R78-ZZ1-2"), ("X-CleverTap-Passcode", "clevertap-sandbox-passcode")]
            #expect(try Self.page(sandbox, cursor, headers: second).status == 400)
            #expect(try Self.page(sandbox, cursor).status == 200)
        }
    }

    @Test func aFreshCursorIsNotReadyOnceThenServes() throws {
        try withSandbox(Self.configuration(notReady: true)) { sandbox in
            let cursor = try #require(try Self.start(sandbox, batchSize: 20).json["cursor"]?.text)
            let first = try Self.page(sandbox, cursor)
            #expect(first.status == 200)
            #expect(first.json["status"] == .string("fail"))
            #expect(first.json["code"] == .int(2))
            #expect(first.json["error"]?.text?.contains("try again") == true)
            #expect(first.json["records"] == nil)
            let again = try Self.page(sandbox, cursor)
            #expect(again.json["status"] == .string("success") && again.json["records"]?.items.count == 20)
            // next_cursor is ready at once; a new export's cursor is fresh again.
            let next = try Self.page(sandbox, try #require(again.json["next_cursor"]?.text))
            #expect(next.json["status"] == .string("success") && next.json["records"]?.items.count == 3)
            let other = try #require(try Self.start(sandbox, batchSize: 20).json["cursor"]?.text)
            #expect(other != cursor)
            #expect(try Self.page(sandbox, other).json["code"] == .int(2))
        }
    }

    @Test func theProfilesBudgetAnswersTheConcurrency429() throws {
        let limit = SandboxRateLimit(windows: [.perMinute(2)], sendsRetryAfter: false)
        try withSandbox(Self.configuration(limit: limit)) { sandbox in
            let cursor = try #require(try Self.start(sandbox).json["cursor"]?.text)
            #expect(try Self.page(sandbox, cursor).status == 200)
            let refused = try Self.page(sandbox, cursor)
            #expect(refused.status == 429)
            #expect(refused.json == .object(["status": .string("fail"), "error": .string("Too many concurrent requests"), "code": .int(429)]))
            #expect(refused.headers["retry-after"] == nil)
            #expect(try Self.start(sandbox).status == 429)
            let log = sandbox.requests(for: .clevertap)
            #expect(log.map(\.status) == [200, 200, 429, 429])
            #expect(log.suffix(2).allSatisfy { $0.outcome == .overBudget })
            sandbox.resetRateLimits()
            #expect(try Self.page(sandbox, cursor).status == 200)
        }
    }
}

extension JSONValue {
    /// A copy of this object with member `key` set, or removed when `value` is nil.
    fileprivate func setting(_ key: String, _ value: JSONValue?) -> JSONValue {
        guard case .object(var members) = self else { return self }
        members[key] = value
        return .object(members)
    }
}
