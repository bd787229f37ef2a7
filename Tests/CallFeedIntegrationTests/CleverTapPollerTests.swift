import CallFeedApp
import CallFeedCore
import CallFeedPoll
import Foundation
import HTTPClient
import Testing
import VendorSandbox
@_spi(Testing) import Warehouse

/// `CleverTapProfileStream` through the `EntityPoller` against the sandbox's CleverTap (2-step
/// cursor), into `clevertap_profiles`: real sockets, the mock Kafka cluster, the loader, SQLite.
@Suite("CleverTap poller", .serialized)
struct CleverTapPollerTests {
    static let may1 = Timestamp(year: 2024, month: 5, day: 1)!
    static let may8 = Timestamp(year: 2024, month: 5, day: 8)!
    static let may10 = Timestamp(year: 2024, month: 5, day: 10)!
    static let account = "TEST-R78-ZZ1"

    static func sandbox(profiles: Int = 100, oddRecords: Int = 0, notReady: Bool = false, seed: UInt64 = 7,
                        limit: SandboxRateLimit? = nil) -> SandboxConfiguration {
        var c = SandboxConfiguration(seed: seed, accounts: 1, callsPerAccount: profiles, from: may1, to: may8,
                                     oddRecords: oddRecords, callRailRetentionDays: nil)
        c.cleverTapCursorNotReadyOnce = notReady
        if let limit { c.operationRateLimits["clevertap/profiles"] = limit }
        return c
    }

    static func stream(_ sandbox: VendorSandbox, passcode: String? = nil, startDate: String? = "20240401", endDate: String? = "20240531",
                       batchSize: Int = 23, notReadyRetries: Int = 5) -> CleverTapProfileStream {
        CleverTapProfileStream(name: "ct-test", accountID: account, passcode: passcode ?? sandbox.configuration.cleverTap.passcode,
                               baseURL: sandbox.baseURL(for: .clevertap), eventName: "App Launched", startDate: startDate, endDate: endDate,
                               batchSize: batchSize, notReadyRetries: notReadyRetries, notReadyDelay: .milliseconds(50))
    }

    static func poller(_ h: PollHarness, _ stream: CleverTapProfileStream, client: VendorClient? = nil, start: Timestamp = may1) -> EntityPoller {
        h.entityPoller(name: "ct-test", streams: [stream], accounts: { _ throws(PollError) in [] }, client: client, start: start)
    }

    static func json(_ row: [String: WarehouseValue]?, _ column: String = "data") -> JSONValue? {
        guard case .text(let text)? = row?[column] else { return nil }
        return try? JSONValue.parse(Array(text.utf8))
    }

    @Test("a multi-page export (batch 23, 100 profiles) loads every profile once into clevertap_profiles")
    func multiPage() throws {
        let h = try PollHarness(Self.sandbox())
        defer { h.stop() }
        let stream = Self.stream(h.sandbox)
        #expect(!stream.isIncremental)
        let stats = try Self.poller(h, stream).sync(now: Self.may8)
        let profiles = h.sandbox.calls(vendor: .clevertap, account: Self.account)
        #expect(profiles.count == 100)
        let rows = try h.waitForEntities("clevertap_profiles", count: 100)
        #expect(Set(rows.keys) == Set(profiles.map(\.id)))
        #expect(stats.published == 100 && stats.rejected == 0)
        // Step 1 (a POST), then ⌈100 / 23⌉ = 5 pages, each GET with the previous page's next_cursor.
        let requests = h.sandbox.requests(for: .clevertap)
        #expect(requests.map(\.method) == ["POST"] + Array(repeating: "GET", count: 5))
        #expect(requests.first?.query["batch_size"] == "23")
        #expect(Set(requests.compactMap { $0.query["cursor"] }).count == 5)
        #expect(requests.allSatisfy { $0.status == 200 })
        // The entity: data = profile + phone_e164, updated = the latest last_seen.
        for profile in profiles.prefix(10) {
            let row = rows[profile.id]
            let data = try #require(Self.json(row))
            #expect(data["phone_e164"] == profile.record["phone"])
            #expect(data["objectId"]?.text == profile.id)
            #expect(Self.json(row, "raw") == profile.record)
            guard case .text(let updated)? = row?["source_updated_at"] else { Issue.record("no source_updated_at"); continue }
            #expect(Timestamp.parseISO8601(updated) == Timestamp(secondsSinceEpoch: profile.startedAt.secondsSinceEpoch))
        }
    }

    @Test("incremental: the second run asks only for the days since the mark minus the lookback and picks up a new profile")
    func incremental() throws {
        let h = try PollHarness(Self.sandbox())
        defer { h.stop() }
        let stream = Self.stream(h.sandbox, startDate: "20240401", endDate: nil)
        #expect(stream.isIncremental)
        // First run: from the start (May 1) to the day before May 8.
        #expect(stream.days(since: Self.may1, until: Self.may8) == (20_240_501, 20_240_507))
        let poller = Self.poller(h, stream)
        let first = try poller.sync(now: Self.may8)
        #expect(first.published == 100)
        _ = try h.waitForEntities("clevertap_profiles", count: 100)

        let added = h.sandbox.addCall(vendor: .clevertap, account: Self.account, at: Timestamp(year: 2024, month: 5, day: 9, hour: 10)!)
        h.sandbox.clearRequests()
        let second = try poller.sync(now: Self.may10)
        // The mark is May 8 00:00; minus the one-hour lookback that is May 7: days May 7 .. May 9.
        let lower = Timestamp(year: 2024, month: 5, day: 7)!.secondsSinceEpoch
        let active = h.sandbox.calls(vendor: .clevertap, account: Self.account).filter { profile in
            (profile.record[path: "events", "App Launched", "last_seen"]?.integer ?? 0) >= lower
        }
        #expect(active.contains { $0.id == added.id })
        #expect(active.count < 101)
        #expect(second.published == active.count)
        let rows = try h.waitForEntities("clevertap_profiles", count: 101)
        #expect(rows.count == 101)
        #expect(rows[added.id] != nil)
        // One export (one POST) for the new days.
        #expect(h.sandbox.requests(for: .clevertap).filter { $0.method == "POST" }.count == 1)
    }

    @Test("forced 429s (the concurrency limit) are backed off and retried: the export completes")
    func rateLimited() throws {
        let limit = SandboxRateLimit(windows: [.perSecond(2)], sendsRetryAfter: false)
        let h = try PollHarness(Self.sandbox(limit: limit))
        defer { h.stop() }
        let stats = try Self.poller(h, Self.stream(h.sandbox), client: h.client(maxRetries: 12)).sync(now: Self.may8)
        #expect(stats.published == 100)
        #expect(try h.waitForEntities("clevertap_profiles", count: 100).count == 100)
        let requests = h.sandbox.requests(for: .clevertap)
        let refused = requests.filter { $0.status == 429 }
        #expect(!refused.isEmpty)
        #expect(refused.allSatisfy { $0.outcome == .overBudget })
        // Every page was eventually served: one POST and five distinct cursors answered 200.
        #expect(Set(requests.filter { $0.status == 200 }.compactMap { $0.query["cursor"] }).count == 5)
    }

    @Test("a fresh cursor that is still processing is asked again, the same cursor, and the export completes")
    func notReadyRetried() throws {
        let h = try PollHarness(Self.sandbox(notReady: true))
        defer { h.stop() }
        let stats = try Self.poller(h, Self.stream(h.sandbox)).sync(now: Self.may8)
        #expect(stats.published == 100)
        let gets = h.sandbox.requests(for: .clevertap).filter { $0.method == "GET" }
        // The first cursor twice (not ready, then served), then four more pages.
        #expect(gets.count == 6)
        #expect(gets[0].query["cursor"] == gets[1].query["cursor"])
        #expect(Set(gets.compactMap { $0.query["cursor"] }).count == 5)
        #expect(try h.waitForEntities("clevertap_profiles", count: 100).count == 100)
    }

    @Test("a cursor that never gets ready fails the run with CleverTap's message")
    func notReadyGivesUp() throws {
        let h = try PollHarness(Self.sandbox(notReady: true))
        defer { h.stop() }
        let error = try #require(throws: PollError.self) { try Self.poller(h, Self.stream(h.sandbox, notReadyRetries: 0)).sync(now: Self.may8) }
        #expect(error.kind == .vendor)
        #expect(error.reason.contains("still not ready"))
        #expect(error.reason.contains("try again"))
        #expect(try h.entityRows("clevertap_profiles").isEmpty)
    }

    @Test("a profile without objectId goes to the dead-letter topic while the rest load")
    func oddProfileToDLQ() throws {
        let h = try PollHarness(Self.sandbox(profiles: 40, oddRecords: 1))
        defer { h.stop() }
        let stats = try Self.poller(h, Self.stream(h.sandbox)).sync(now: Self.may8)
        let profiles = h.sandbox.calls(vendor: .clevertap, account: Self.account)
        let odd = try #require(profiles.first { $0.oddity != nil })
        #expect(odd.record["objectId"] == nil)
        #expect(stats.published == 39 && stats.rejected == 1)
        let rows = try h.waitForEntities("clevertap_profiles", count: 39)
        #expect(Set(rows.keys) == Set(profiles.filter { $0.oddity == nil }.map(\.id)))
        let letters = try h.deadLetters(expecting: 1)
        #expect(letters.count == 1)
        #expect(letters.first?.reason.contains("objectId") == true)
        #expect(letters.first.map { (try? JSONValue.parse(Array($0.body.utf8))) == odd.record } == true)
    }

    @Test("a wrong passcode stops the run with a credentials error")
    func wrongPasscode() throws {
        let h = try PollHarness(Self.sandbox(profiles: 5))
        defer { h.stop() }
        let error = try #require(throws: PollError.self) { try Self.poller(h, Self.stream(h.sandbox, passcode: "wrong")).sync(now: Self.may8) }
        #expect(error.kind == .credentials)
        #expect(error.reason.contains("passcode"))
        #expect(!error.reason.contains("wrong"))
        #expect(h.sandbox.requests(for: .clevertap).map(\.status) == [401])
    }

    @Test("a saved cursor the server refuses (expired) restarts the export from step 1 once; nothing is lost")
    func refusedCursorRestarts() throws {
        let h = try PollHarness(Self.sandbox())
        defer { h.stop() }
        // Stop after step 1 and one page: the checkpoint holds the second page's cursor.
        let first = Self.poller(h, Self.stream(h.sandbox))
        let pages = PageCounter(stopAfter: 2)
        first.isCancelled = { pages.tick() }
        let stopped = try #require(throws: PollError.self) { try first.sync(now: Self.may8) }
        #expect(stopped.kind == .cancelled)
        // Another server (another seed signs cursors differently, so the saved one is refused: 400).
        let other = VendorSandbox(configuration: Self.sandbox(seed: 8))
        try other.start()
        defer { other.stop() }
        let stats = try Self.poller(h, Self.stream(other)).sync(now: Self.may8)
        let requests = other.requests(for: .clevertap)
        #expect(requests.first?.method == "GET" && requests.first?.status == 400)
        #expect(requests.dropFirst().first?.method == "POST")
        #expect(requests.dropFirst().allSatisfy { $0.status == 200 })
        #expect(stats.published == 100)
        let expected = Set(other.calls(vendor: .clevertap, account: Self.account).map(\.id))
        let rows = try h.waitForEntities("clevertap_profiles", count: 23 + 100)
        #expect(expected.isSubset(of: Set(rows.keys)))
    }

    @Test("validate() names the field: region, dates, batch size")
    func validation() throws {
        func reason(_ s: CleverTapProfileStream) -> String? {
            do { try s.validate(); return nil } catch { return error.reason }
        }
        func make(region: String = "eu1", baseURL: String? = nil, start: String? = "20240101", end: String? = nil, batch: Int = 4991) -> CleverTapProfileStream {
            CleverTapProfileStream(name: "t", accountID: "A", passcode: "p", region: region, baseURL: baseURL, eventName: "App Launched",
                                   startDate: start, endDate: end, batchSize: batch)
        }
        #expect(reason(make()) == nil)
        #expect(reason(make(region: "sk1"))?.contains("region") == true)
        #expect(reason(make(region: "sk1", baseURL: "http://127.0.0.1:1")) == nil)
        #expect(reason(make(start: "2024-01-01"))?.contains("start_date") == true)
        #expect(reason(make(start: "20240230"))?.contains("start_date") == true)
        #expect(reason(make(start: "20240301", end: "20240201"))?.contains("after") == true)
        #expect(reason(make(start: nil, end: "20240201"))?.contains("start_date is required") == true)
        #expect(reason(make(batch: 5001))?.contains("batch_size") == true)
        #expect(reason(make(batch: 0))?.contains("batch_size") == true)
        #expect(CleverTapProfileStream.regionHost("in1") == "in1.api.clevertap.com")
        #expect(CleverTapProfileStream.regionHost("eu1") == "api.clevertap.com")
        #expect(CleverTapProfileStream.regionHost("mec1") == "mec1.api.clevertap.com")
        #expect(CleverTapProfileStream.regionHost("sk1") == nil)
        #expect(make(region: "us1").endpoint == "https://us1.api.clevertap.com")
    }
}
