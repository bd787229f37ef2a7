import CallFeedCore
import CallFeedPoll
import CallFeedVendors
import Foundation
import HTTPClient
import Synchronization
import Testing
import VendorSandbox
@_spi(Testing) import Warehouse

/// The HubSpot call poller (CRM search on `hs_lastmodifieddate`) and CRM lists against the
/// sandbox's HubSpot API (`/hubspot`), publishing into the in-process spine and loading SQLite.
/// One token reads one portal, so every portal gets its own source.
@Suite(.serialized) struct HubSpotPollerTests {
    static let may1 = Timestamp(year: 2024, month: 5, day: 1)!
    static let may4 = Timestamp(year: 2024, month: 5, day: 4)!

    static func sandbox(accounts: Int = 1, calls: Int = 35, from: Timestamp = may1, to: Timestamp = may4, odd: Int = 0,
                        searchLimit: SandboxRateLimit? = nil, cap: Int = 10_000) -> SandboxConfiguration {
        var c = SandboxConfiguration(seed: 13, accounts: accounts, callsPerAccount: calls, from: from, to: to, oddRecords: odd,
                                     oddKinds: [.unparseableTime, .garbagePhone],
                                     operationRateLimits: searchLimit.map { ["hubspot/search": $0] } ?? [:])
        c.hubSpotSearchCap = cap
        return c
    }

    /// The source reading sandbox portal number `index` (0-based) with its own token.
    static func source(_ h: PollHarness, account index: Int = 0, pageSize: Int = 200, token: String? = nil,
                       resultCap: Int = 10_000) -> HubSpotCallSource {
        let account = h.sandbox.accounts(vendor: .hubspot)[index]
        return HubSpotCallSource(name: "hs-test", baseURL: h.sandbox.baseURL(for: .hubspot), accessToken: token ?? account.credential.key,
                                 portalID: account.id, pageSize: pageSize, resultCap: resultCap)
    }

    static func searches(_ h: PollHarness) -> [SandboxRequest] {
        h.sandbox.requests(for: .hubspot).filter { $0.path.hasSuffix("/crm/v3/objects/calls/search") }
    }

    /// Disposition labels as the portal serves them.
    static func labels(_ h: PollHarness) throws -> [String: String] {
        let response = try HTTPClient().request("GET", h.sandbox.baseURL(for: .hubspot) + "/calling/v1/dispositions",
                                                headers: [("Authorization", "Bearer hubspot-sandbox-token")])
        var labels: [String: String] = [:]
        for item in try JSONValue.parse(response.body).arrayValue ?? [] {
            if let id = item["id"]?.text, let label = item["label"]?.text { labels[id] = label }
        }
        return labels
    }

    /// What the poller should have loaded for `call`: its full record mapped.
    static func expected(_ call: SandboxCall, labels: [String: String]) throws -> CallContent {
        try HubSpotMapping.content(from: call.record, context: MappingContext(accountID: call.account, timeZone: "UTC", defaultCountry: "US"),
                                   dispositions: labels)
    }

    @Test("two portals, small pages: every call lands once with its mapped content; the odd time dead-letters")
    func multiPageSync() throws {
        let h = try PollHarness(Self.sandbox(accounts: 2, odd: 2))
        defer { h.stop() }
        let one = try h.callPoller(Self.source(h, account: 0, pageSize: 7), start: Self.may1).sync(now: Self.may4)
        let two = try h.callPoller(Self.source(h, account: 1, pageSize: 7), start: Self.may1).sync(now: Self.may4)
        // Dispositions once per run per source (before this test reads them itself).
        #expect(h.sandbox.requests(for: .hubspot).filter { $0.path.hasSuffix("/calling/v1/dispositions") }.count == 2)

        let calls = h.sandbox.calls(vendor: .hubspot)
        let good = calls.filter { $0.oddity != .unparseableTime }
        #expect(calls.count == 70 && good.count == 68)
        let rows = try h.waitForCalls(source: "hubspot", count: good.count)
        #expect(Set(rows.keys) == Set(good.map(\.id)))
        let labels = try Self.labels(h)
        #expect(labels.count == 8)  // six defaults, two custom
        for call in good {
            let row = try #require(rows[call.id])
            let content = try Self.expected(call, labels: labels)
            // The search record (requested properties only) maps to the same content as the full one.
            #expect(row["revision"] == .text(EventIdentity.revision(of: content)), "\(call.id)")
            #expect(row["source_account_id"] == .text(call.account))
            #expect(row["channel"] == .text("poll"))
            #expect(row["started_at"] != .null && row["source_updated_at"] != .null)
        }
        // Free-text numbers arrive in E.164; the garbage one as written.
        let garbage = try #require(calls.first { $0.oddity == .garbagePhone })
        #expect(rows[garbage.id]?["caller_number"] == .text("call-me-maybe"))
        #expect(good.filter { $0.oddity == nil }.allSatisfy { call in
            if case .text(let number)? = rows[call.id]?["caller_number"] { return number.hasPrefix("+1") && number.count == 12 }
            return false
        })
        // Custom dispositions became tags.
        #expect(rows.values.contains { row in
            if case .text(let tags)? = row["tags"] { return tags.contains("\"Appointment booked\"") }
            return false
        })
        // Durations are milliseconds / 1000.
        let sample = try #require(good.first { ($0.record[path: "properties", "hs_call_duration"]?.integer ?? 0) > 0 })
        let ms = try #require(sample.record[path: "properties", "hs_call_duration"]?.integer)
        #expect(rows[sample.id]?["duration_seconds"] == .integer((ms + 500) / 1000))

        #expect(one.rejected == 1 && two.rejected == 1 && one.published + two.published == 68)
        let letters = try h.deadLetters(expecting: 2)
        #expect(letters.count == 2 && letters.allSatisfy { $0.reason.contains("hs_timestamp") })
        // Exactly once: no window boundary read a call twice.
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == 68)

        let searches = Self.searches(h)
        #expect(searches.count == one.pages + two.pages)
        #expect(one.pages > one.windows && one.windows == 3)
        #expect(searches.allSatisfy { $0.status == 200 && $0.method == "POST" })
    }

    @Test("the next run re-reads only the lookback by hs_lastmodifieddate: a changed call and a late one, nothing else")
    func incrementalByModificationDate() throws {
        // Data near the real clock: a sandbox change stamps hs_lastmodifieddate with it.
        let t0 = Timestamp(secondsSinceEpoch: Timestamp.now().secondsSinceEpoch)
        let h = try PollHarness(Self.sandbox(calls: 30, from: t0.adding(seconds: -3 * 86_400), to: t0.adding(seconds: -7200)))
        defer { h.stop() }
        let account = h.sandbox.accounts(vendor: .hubspot)[0].id
        let first = try h.callPoller(Self.source(h, pageSize: 10), start: t0.adding(seconds: -3 * 86_400), lookback: .seconds(3600)).sync(now: t0)
        #expect(first.published == 30)
        _ = try h.waitForCalls(source: "hubspot", count: 30)

        let old = h.sandbox.calls(vendor: .hubspot, account: account)[4]
        let changed = try #require(h.sandbox.updateCall(vendor: .hubspot, account: account, id: old.id,
                                                        .recording("https://example.test/hubspot/late.mp3")))
        let late = h.sandbox.addCall(vendor: .hubspot, account: account, at: t0.adding(seconds: -1800))
        h.sandbox.clearRequests()

        let now = Timestamp.now().adding(seconds: 1)
        let second = try h.callPoller(Self.source(h, pageSize: 10), start: t0.adding(seconds: -3 * 86_400), lookback: .seconds(3600)).sync(now: now)
        // From the mark minus one hour: the late call (modified half an hour before t0) and the
        // changed one (modified now); the 29 untouched calls were modified before the overlap.
        #expect(second.processed == 2 && second.published == 2)
        let searches = Self.searches(h)
        #expect(!searches.isEmpty && searches.allSatisfy { $0.status == 200 })

        let rows = try h.waitForCalls(source: "hubspot", count: 31)
        #expect(rows.count == 31 && rows[late.id] != nil)
        let labels = try Self.labels(h)
        let revision = EventIdentity.revision(of: try Self.expected(changed, labels: labels))
        #expect(h.pipeline.wait { (try? h.callRows(source: "hubspot")[old.id]?["revision"]) == .text(revision) })
        #expect(try h.callRows(source: "hubspot")[old.id]?["recording_url"] == .text("https://example.test/hubspot/late.mp3"))
    }

    @Test("search over its per-second budget: 429s without Retry-After, the client backs off, every call once")
    func searchRateLimit() throws {
        // The sandbox allows 2 searches per 2 seconds; the source paces itself to HubSpot's 4 a second.
        let limit = SandboxRateLimit(windows: [.init(limit: 2, period: .seconds(2))], sendsRetryAfter: false)
        let h = try PollHarness(Self.sandbox(calls: 40, searchLimit: limit))
        defer { h.stop() }
        let stats = try h.callPoller(Self.source(h, pageSize: 5), client: h.client(maxRetries: 10), start: Self.may1).sync(now: Self.may4)
        #expect(stats.published == 40)
        let rows = try h.waitForCalls(source: "hubspot", count: 40)
        #expect(Set(rows.keys) == Set(h.sandbox.calls(vendor: .hubspot).map(\.id)))
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == 40)
        let searches = Self.searches(h)
        let refused = searches.filter { $0.status == 429 }
        #expect(!refused.isEmpty)
        #expect(refused.allSatisfy { $0.outcome == .overBudget })
        #expect(searches.filter { $0.status == 200 }.count == stats.pages)
        #expect(stats.apiCalls == h.sandbox.requests(for: .hubspot).count)
    }

    @Test("day windows over the search cap are halved until each fits: every call once, no 400 past the cap")
    func capSplit() throws {
        let h = try PollHarness(Self.sandbox(calls: 60, cap: 12))
        defer { h.stop() }
        let stats = try h.callPoller(Self.source(h, pageSize: 5, resultCap: 12), start: Self.may1).sync(now: Self.may4)
        let expected = Set(h.sandbox.calls(vendor: .hubspot).map(\.id))
        #expect(Set(try h.waitForCalls(source: "hubspot", count: 60).keys) == expected)
        // Three day windows of ~20 calls cannot be read under a cap of 12: more, smaller ones were.
        #expect(stats.windows > 3)
        #expect(stats.published == 60)
        let searches = Self.searches(h)
        #expect(searches.allSatisfy { $0.status == 200 })
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == 60)
    }

    @Test("one second still over the cap: the poller reads up to the cap and stops there instead of asking for HubSpot's 400")
    func capExceededInOneSecond() throws {
        let h = try PollHarness(Self.sandbox(calls: 6, cap: 12))
        defer { h.stop() }
        let account = h.sandbox.accounts(vendor: .hubspot)[0].id
        // Fifteen calls added after the generated range are modified in the same second as they
        // start (HubSpotAPI+Records.swift): no window can separate them.
        let crowded = Self.may4.adding(seconds: 600)
        for _ in 0..<15 { h.sandbox.addCall(vendor: .hubspot, account: account, at: crowded) }
        let stats = try h.callPoller(Self.source(h, pageSize: 5, resultCap: 12), start: Self.may1).sync(now: Self.may4.adding(seconds: 3600))

        // The six generated calls, and twelve of the fifteen: what HubSpot can return.
        #expect(stats.published == 6 + 12)
        let searches = Self.searches(h)
        #expect(searches.allSatisfy { $0.status == 200 })
        #expect(try h.waitForCalls(source: "hubspot", count: 18).count == 18)
    }

    @Test("a call modified while its window is paged pushes no other call out of the pass (keyset pages, not offsets)")
    func modifiedWhilePaging() throws {
        let h = try PollHarness(Self.sandbox(calls: 30))
        defer { h.stop() }
        let account = h.sandbox.accounts(vendor: .hubspot)[0].id
        // The call read first: the oldest hs_lastmodifieddate.
        let first = try #require(h.sandbox.calls(vendor: .hubspot, account: account).min {
            (HubSpotCallSource.modifiedAt($0.record)?.millisecondsSinceEpoch ?? 0) < (HubSpotCallSource.modifiedAt($1.record)?.millisecondsSinceEpoch ?? 0)
        })
        let poller = h.callPoller(Self.source(h, pageSize: 5), start: Self.may1)
        let edits = Mutex(0)
        // Between pages 1 and 2 of the first window the first call changes: its new modification
        // time (now) is past the window's end, so it leaves the sorted list. With `after=5` the
        // sixth call would slide to position 5 and never be read in this run.
        poller.isCancelled = {
            let n = edits.withLock { n -> Int in n += 1; return n }
            if n == 1 { _ = h.sandbox.updateCall(vendor: .hubspot, account: account, id: first.id, .recording("https://example.test/moved.mp3")) }
            return false
        }
        let stats = try poller.sync(now: Self.may4)
        #expect(edits.withLock { $0 } > 1)
        #expect(stats.published == 30)
        let rows = try h.waitForCalls(source: "hubspot", count: 30)
        #expect(Set(rows.keys) == Set(h.sandbox.calls(vendor: .hubspot).map(\.id)))
        // Every page after the first of a window starts at the last modification time read.
        let bodies = Self.searches(h).count
        #expect(bodies == stats.pages)
    }

    @Test("a refused token stops the run with a credentials error naming access_token")
    func refusedCredentials() throws {
        let h = try PollHarness(Self.sandbox(calls: 5))
        defer { h.stop() }
        let poller = h.callPoller(Self.source(h, token: "pat-na1-wrong"), start: Self.may1)
        let error = try #require(throws: PollError.self) { try poller.sync(now: Self.may4) }
        #expect(error.kind == .credentials)
        #expect(error.reason.contains("401"))
        #expect(error.reason.contains("sources.hubspot[hs-test].poll.access_token"))
        #expect(!error.reason.contains("pat-na1-wrong"))
        #expect(h.sandbox.requests(for: .hubspot).map(\.status) == [401])
    }

    @Test("contacts (with phone_e164), companies, deals, custom objects and call_contacts land in hubspot_* tables")
    func entityLists() throws {
        let h = try PollHarness(Self.sandbox(calls: 130, odd: 2))
        defer { h.stop() }
        let source = Self.source(h)
        let names = HubSpotEntityStream.standardNames + ["genius_users", "divisions", "zipcodes"]
        let streams = HubSpotEntityStream.streams(calls: source, names: names)
        #expect(streams.map(\.entity) == names)
        let poller = h.entityPoller(name: "hs-test", streams: streams,
                                    accounts: { client throws(PollError) in try source.accounts(client: client) }, start: Self.may1)
        let stats = try poller.sync(now: Self.may4)

        let calls = h.sandbox.calls(vendor: .hubspot)
        let callees = calls.compactMap { call in
            call.record[path: "properties", "hs_call_callee_object_id"]?.text.map { (call: call.id, contact: $0) }
        }
        let contactIDs = Set(callees.map(\.contact))
        #expect(contactIDs.count > 100)  // more than one page of 100

        let contacts = try h.waitForEntities("hubspot_contacts", count: contactIDs.count)
        #expect(Set(contacts.keys) == contactIDs)
        for (id, row) in contacts {
            guard case .text(let json)? = row["data"], let data = try? JSONValue.parse(Array(json.utf8)) else {
                Issue.record("contact \(id) has no data"); continue
            }
            // The contact id is 9 + the customer's digits (Sources/VendorSandbox/Vendors/HubSpot/HubSpotStore.swift): phone_e164 is that number.
            #expect(data["phone_e164"]?.text == "+" + id.dropFirst())
            #expect(data["phone"]?.text?.hasPrefix("(") == true && data["firstname"]?.text != nil && data["id"]?.text == id)
        }
        // Calls can be joined to their caller: every loaded call's E.164 caller is a contact's phone_e164.
        let phones = Set(contacts.keys.map { "+" + $0.dropFirst() })
        let callerNumbers = calls.filter { $0.oddity == nil }.compactMap { call -> String? in
            let p = call.record["properties"] ?? .null
            let raw = p["hs_call_direction"]?.text == "INBOUND" ? p["hs_call_from_number"]?.text : p["hs_call_to_number"]?.text
            return PhoneNumber.normalize(raw, defaultCountry: "US")
        }
        #expect(Set(callerNumbers).isSubset(of: phones))

        #expect(try h.waitForEntities("hubspot_companies", count: 1).count == 1)
        let deals = try h.waitForEntities("hubspot_deals", count: 1)
        #expect(!deals.isEmpty)
        #expect(Set(try h.waitForEntities("hubspot_genius_users", count: 3).keys) == ["5040001", "5040002", "5040003"])
        #expect(try h.waitForEntities("hubspot_divisions", count: 3).count == 3)
        let zipcodes = try h.waitForEntities("hubspot_zipcodes", count: 7)
        #expect(zipcodes.count == 7)
        // A custom object's properties come from its catalogue: zipcode and city are in data.
        if case .text(let json)? = zipcodes.values.first?["data"] {
            let data = try JSONValue.parse(Array(json.utf8))
            #expect(data["zipcode"]?.text != nil && data["city"]?.text != nil)
        } else {
            Issue.record("zipcode row without data")
        }
        let links = try h.waitForEntities("hubspot_call_contacts", count: callees.count)
        #expect(Set(links.keys) == Set(callees.map { "\($0.call)/\($0.contact)" }))
        #expect(stats.rejected == 0)
        #expect(stats.published == contactIDs.count + 1 + deals.count + 3 + 3 + 7 + callees.count)

        // call_contacts: one calls page and one batch read per 100 calls.
        let requests = h.sandbox.requests(for: .hubspot)
        let callPages = requests.filter { $0.path.hasSuffix("/crm/v3/objects/calls") }
        #expect(callPages.count == 2 && callPages.allSatisfy { $0.query["properties"] == "hs_object_id" && $0.query["limit"] == "100" })
        #expect(requests.filter { $0.path.hasSuffix("/crm/v4/associations/calls/contacts/batch/read") }.count == 2)
        #expect(requests.contains { $0.path.hasSuffix("/crm/v3/objects/contacts") && $0.query["after"] != nil })
        #expect(requests.contains { $0.path.hasSuffix("/crm/v3/objects/p20000001_genius_users") })
        #expect(requests.allSatisfy { $0.status == 200 })
    }
}
