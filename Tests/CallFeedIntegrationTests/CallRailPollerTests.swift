import CallFeedCore
import CallFeedPoll
import CallFeedVendors
import Foundation
import HTTPClient
import Testing
import VendorSandbox
@_spi(Testing) import Warehouse

/// The CallRail call poller and entity lists against the sandbox's CallRail API (`/callrail`),
/// publishing into the in-process spine and loading SQLite.
@Suite(.serialized) struct CallRailPollerTests {
    static let may1 = Timestamp(year: 2024, month: 5, day: 1)!
    static let may2 = Timestamp(year: 2024, month: 5, day: 2)!
    static let may3 = Timestamp(year: 2024, month: 5, day: 3)!
    static let may4 = Timestamp(year: 2024, month: 5, day: 4)!
    static let apiKey = "callrail_sandbox_api_key"

    static func sandbox(calls: Int = 35, to: Timestamp = may4, odd: Int = 0, rateLimit: SandboxRateLimit? = nil) -> SandboxConfiguration {
        SandboxConfiguration(seed: 11, accounts: 2, callsPerAccount: calls, from: may1, to: to, oddRecords: odd,
                             oddKinds: [.unparseableTime], rateLimits: rateLimit.map { [.callrail: $0] } ?? [:],
                             callRailRetentionDays: nil)
    }

    static func source(_ h: PollHarness, perPage: Int = 10, apiKey: String = apiKey, accountIDs: [String] = [],
                       pagination: CallRailCallSource.Pagination = .numbered) -> CallRailCallSource {
        CallRailCallSource(name: "callrail-test", baseURL: h.sandbox.baseURL(for: .callrail), apiKey: apiKey,
                           accountIDs: accountIDs, perPage: perPage, pagination: pagination)
    }

    static func expectedIDs(_ h: PollHarness) -> Set<String> {
        Set(h.sandbox.calls(vendor: .callrail).map(\.id))
    }

    static func callRequests(_ h: PollHarness) -> [SandboxRequest] {
        h.sandbox.requests(for: .callrail).filter { $0.path.hasSuffix("/calls.json") }
    }

    // MARK: - Calls

    @Test("a multi-page sync over two accounts lands every call exactly once, as poll events; relative pages read the same calls")
    func multiPageSync() throws {
        let h = try PollHarness(Self.sandbox())
        defer { h.stop() }
        let stats = try h.callPoller(Self.source(h), start: Self.may1).sync(now: Self.may4)
        let requests = Self.callRequests(h)
        #expect(h.sandbox.requests(for: .callrail).filter { $0.path.hasSuffix("/v3/a.json") }.count == 1)
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == 70)

        // Relative pagination (a second source, its own checkpoints), while the loader starts:
        // offsets from 0 until has_next_page is false, the same 70 calls again.
        h.sandbox.clearRequests()
        let relative = CallRailCallSource(name: "callrail-relative", baseURL: h.sandbox.baseURL(for: .callrail), apiKey: Self.apiKey,
                                          perPage: 10, pagination: .relative)
        let relativeStats = try h.callPoller(relative, start: Self.may1).sync(now: Self.may4)
        let relativeRequests = Self.callRequests(h)
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == 140)

        // Same event_ids both times: 70 rows.
        let expected = Self.expectedIDs(h)
        #expect(expected.count == 70)
        let rows = try h.waitForCalls(source: "callrail", count: expected.count)
        #expect(Set(rows.keys) == expected)
        #expect(try h.pipeline.reader._query("SELECT count(*) AS n FROM calls WHERE source = 'callrail'").first?["n"] == .integer(70))
        #expect(rows.values.allSatisfy { $0["channel"] == .text("poll") })
        // Every row under its account (the dashboard's numeric id, from /v3/a.json), with the
        // attribution that only `fields=` brings.
        for account in h.sandbox.accounts(vendor: .callrail) {
            for call in h.sandbox.calls(vendor: .callrail, account: account.id) {
                #expect(rows[call.id]?["source_account_id"] == .text(account.id))
                #expect(rows[call.id]?["tracking_source"] == call.record["source"]?.text.map(WarehouseValue.text))
                #expect(rows[call.id]?["tracking_campaign"] == call.record["campaign"]?.text.map(WarehouseValue.text))
            }
        }

        // Three one-day windows per account, each read to its last page (10 per page).
        var pages = 0
        for account in h.sandbox.accounts(vendor: .callrail) {
            for day in [Self.may1, Self.may2, Self.may3] {
                let n = h.sandbox.calls(vendor: .callrail, account: account.id)
                    .filter { $0.startedAt >= day && $0.startedAt < day.adding(seconds: 86_400) }.count
                pages += max(1, (n + 9) / 10)
            }
        }
        #expect(stats.windows == 6)
        #expect(stats.pages == pages)
        #expect(stats.processed == 70 && stats.published == 70 && stats.rejected == 0)
        #expect(stats.apiCalls == pages + 1)  // + GET /v3/a.json

        #expect(requests.count == pages)
        #expect(requests.contains { $0.query["page"] == "2" })
        #expect(requests.allSatisfy {
            $0.query["time_zone"] == "Etc/UTC" && $0.query["per_page"] == "10" && $0.query["order"] == "asc"
                && ($0.query["fields"] ?? "").split(separator: ",").contains("tags")
        })
        // [May 1, May 2) asked as inclusive date-times.
        #expect(requests.first?.query["start_date"] == "2024-05-01T00:00:00")
        #expect(requests.first?.query["end_date"] == "2024-05-01T23:59:59")

        #expect(relativeStats.processed == 70 && relativeStats.published == 70 && relativeStats.pages == pages)
        #expect(relativeRequests.count == pages)
        #expect(relativeRequests.allSatisfy { $0.query["relative_pagination"] == "true" && $0.query["page"] == nil })
        #expect(relativeRequests.first?.query["offset"] == "0")
        #expect(relativeRequests.contains { $0.query["offset"] == "1" })
    }

    @Test("the next incremental run reads only the lookback overlap, and picks up new and changed calls")
    func incrementalOverlap() throws {
        let h = try PollHarness(Self.sandbox(to: Self.may3))
        defer { h.stop() }
        let noon = Self.may2.adding(seconds: 12 * 3600)
        let lookback = Duration.seconds(6 * 3600)
        try h.callPoller(Self.source(h), start: Self.may1, lookback: lookback).sync(now: noon)
        let firstCount = h.sandbox.calls(vendor: .callrail).filter { $0.startedAt < noon }.count
        #expect(try h.waitForCalls(source: "callrail", count: firstCount).count == firstCount)

        let account = h.sandbox.accounts(vendor: .callrail)[0].id
        // Loaded by the first run, changed afterwards, inside the overlap.
        let changed = try #require(h.sandbox.calls(vendor: .callrail, account: account)
            .last { $0.startedAt < noon && $0.startedAt >= noon.adding(seconds: -6 * 3600) })
        #expect(try h.callRows(source: "callrail")[changed.id] != nil)
        h.sandbox.updateCall(vendor: .callrail, account: account, id: changed.id, .recording("https://example.test/callrail/late.mp3"))
        // CallRail learns of a call late: it started before the mark.
        let late = h.sandbox.addCall(vendor: .callrail, account: account, at: noon.adding(seconds: -1800))
        h.sandbox.clearRequests()

        let second = try h.callPoller(Self.source(h), start: Self.may1, lookback: lookback).sync(now: Self.may3)
        let requests = Self.callRequests(h)
        // From the mark (May 2 12:00) minus six hours to May 3, one window per account.
        #expect(requests.count >= 2)
        #expect(requests.allSatisfy { $0.query["start_date"] == "2024-05-02T06:00:00" && $0.query["end_date"] == "2024-05-02T23:59:59" })
        let overlap = h.sandbox.calls(vendor: .callrail).filter { $0.startedAt >= noon.adding(seconds: -6 * 3600) }.count
        #expect(second.processed == overlap)

        let rows = try h.waitForCalls(source: "callrail", count: 71)
        #expect(Set(rows.keys) == Self.expectedIDs(h))
        #expect(rows[late.id] != nil)
        #expect(h.pipeline.wait {
            (try? h.callRows(source: "callrail")[changed.id]?["recording_url"]) == .text("https://example.test/callrail/late.mp3")
        })
    }

    @Test("a call delivered by the CallRail webhook and then by poll is one row with one event_id")
    func webhookThenPoll() throws {
        let h = try PollHarness(Self.sandbox(calls: 10))
        defer { h.stop() }
        let account = h.sandbox.accounts(vendor: .callrail)[0].id
        // Pipeline's CallRail webhook source is this account, with the sandbox's signing key.
        #expect(account == Pipeline.callRailAccount)
        let hooked = Array(h.sandbox.calls(vendor: .callrail, account: account).prefix(3))
        let url = h.pipeline.baseURL + "/webhooks/callrail"
        #expect(try h.sandbox.fireWebhooks(vendor: .callrail, to: url, calls: hooked) == [202, 202, 202])
        let before = try h.waitForCalls(source: "callrail", count: 3)
        #expect(before.count == 3)
        #expect(before.values.allSatisfy { $0["channel"] == .text("webhook") })

        try h.callPoller(Self.source(h), start: Self.may1).sync(now: Self.may4)
        let after = try h.waitForCalls(source: "callrail", count: 20)
        #expect(after.count == 20)
        for call in hooked {
            let expectedID = EventIdentity.eventID(source: "callrail", accountID: account, callID: call.id)
            #expect(before[call.id]?["event_id"] == .text(expectedID))
            #expect(after[call.id]?["event_id"] == .text(expectedID))
            // The poll asked for every field the mapping reads: same content, same revision, so the
            // webhook's row was left as it was.
            #expect(after[call.id]?["revision"] == before[call.id]?["revision"])
            #expect(after[call.id]?["channel"] == .text("webhook"))
        }
        let ids = hooked.map { "'\(EventIdentity.eventID(source: "callrail", accountID: account, callID: $0.id))'" }.joined(separator: ",")
        #expect(try h.pipeline.reader._query("SELECT count(*) AS n FROM call_revisions WHERE event_id IN (\(ids))").first?["n"] == .integer(3))
    }

    @Test("a record whose start_time does not parse goes to the dead-letter topic; the rest of its page loads")
    func oddRecordToDeadLetters() throws {
        let h = try PollHarness(Self.sandbox(calls: 12, odd: 1))
        defer { h.stop() }
        let odd = Set(h.sandbox.calls(vendor: .callrail).filter { $0.oddity != nil }.map(\.id))
        #expect(odd.count == 2)
        // The dead-letter reader joins its consumer group while the poller runs.
        let reading = CallRailDeadLetterReader(h, expecting: 2)
        let stats = try h.callPoller(Self.source(h, perPage: 250), start: Self.may1).sync(now: Self.may4)

        #expect(stats.rejected == 2 && stats.published == 22)
        let rows = try h.waitForCalls(source: "callrail", count: 22)
        #expect(Set(rows.keys) == Self.expectedIDs(h).subtracting(odd))
        let letters = try reading.result()
        #expect(letters.count == 2)
        #expect(letters.allSatisfy { $0.reason.contains("start_time") })
        #expect(Set(letters.compactMap { letter in odd.first { letter.body.contains("\"id\":\"\($0)\"") } }) == odd)
    }

    @Test("a 429 storm with Retry-After is waited out: the run completes with every call, within the vendor's limit")
    func rateLimitStorm() throws {
        let h = try PollHarness(Self.sandbox(calls: 20, rateLimit: SandboxRateLimit(windows: [.perSecond(10)], sendsRetryAfter: false)))
        defer { h.stop() }
        h.sandbox.faults.rateLimitStorm(vendor: .callrail, count: 3, retryAfter: 1)
        let client = h.client(limits: [RateLimiter.Window(limit: 8, period: .seconds(1))], maxRetries: 4)
        let stats = try h.callPoller(Self.source(h, perPage: 5), client: client, start: Self.may1).sync(now: Self.may4)

        #expect(stats.published == 40)
        #expect(try h.waitForCalls(source: "callrail", count: 40).count == 40)
        let statuses = h.sandbox.requests(for: .callrail).map(\.status)
        // The three injected 429s, and none from the sandbox's own 10/s limit.
        #expect(statuses.filter { $0 == 429 }.count == 3)
        #expect(statuses.filter { $0 == 200 }.count == statuses.count - 3)
        #expect(stats.apiCalls == statuses.count)
        #expect(h.sandbox.faults.pending(vendor: .callrail).storms == 0)
    }

    @Test("a refused API key stops the run with an error naming the key to check; a start past retention is a configuration error")
    func refusedCredentials() throws {
        // CallRail's 25-month retention on (May 2024 is older than that by the sandbox's clock).
        var configuration = Self.sandbox(calls: 5)
        configuration.callRailRetentionDays = 760
        configuration.now = { Timestamp(year: 2026, month: 11, day: 30)! }
        let h = try PollHarness(configuration)
        defer { h.stop() }
        // Account discovery (GET /v3/a.json) and the call list itself.
        let account = h.sandbox.accounts(vendor: .callrail)[0].id
        for source in [Self.source(h, apiKey: "wrong-key-123"), Self.source(h, apiKey: "wrong-key-123", accountIDs: [account])] {
            let poller = h.callPoller(source, start: Self.may1)
            let error = try #require(throws: PollError.self) { try poller.sync(now: Self.may4) }
            #expect(error.kind == .credentials)
            #expect(error.reason.contains("401"))
            #expect(error.reason.contains("sources.callrail[callrail-test].poll.api_key"))
            #expect(!error.reason.contains("wrong-key-123"))
        }
        #expect(h.sandbox.requests(for: .callrail).map(\.status) == [401, 401])

        let tooOld = try #require(throws: PollError.self) {
            try h.callPoller(Self.source(h, accountIDs: [account]), start: Self.may1).sync(now: Self.may4)
        }
        #expect(tooOld.kind == .configuration)
        #expect(tooOld.reason.contains("25 months") && tooOld.reason.contains("sources.callrail[callrail-test]"))
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == 0)
    }

    @Test("a poller stopped mid-pagination resumes at its last acknowledged page: no gaps")
    func resumeAfterStop() throws {
        let h = try PollHarness(Self.sandbox())
        defer { h.stop() }
        let first = try #require(h.sandbox.accounts(vendor: .callrail).first).id
        let firstDay = h.sandbox.calls(vendor: .callrail, account: first).filter { $0.startedAt < Self.may2 }.count
        try #require(firstDay > 10)  // so two pages of 5 leave a third

        let poller = h.callPoller(Self.source(h, perPage: 5), start: Self.may1)
        let pages = PageCounter(stopAfter: 2)
        poller.isCancelled = { pages.tick() }
        let error = try #require(throws: PollError.self) { try poller.sync(now: Self.may4) }
        #expect(error.kind == .cancelled)
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == 10)
        h.sandbox.clearRequests()

        try h.callPoller(Self.source(h, perPage: 5), start: Self.may1).sync(now: Self.may4)
        let rows = try h.waitForCalls(source: "callrail", count: 70)
        #expect(Set(rows.keys) == Self.expectedIDs(h))
        // Resumed at page 3 of the first account's first day: no page read twice, none skipped;
        // only the lookback hour after the resumed range is read again (first account only: the
        // second had no mark yet).
        let requests = Self.callRequests(h)
        #expect(requests.first?.query["page"] == "3")
        #expect(requests.first?.query["start_date"] == "2024-05-01T00:00:00")
        #expect(!requests.contains { $0.path.contains("/\(first)/") && $0.query["start_date"] == "2024-05-01T00:00:00" && ["1", "2"].contains($0.query["page"]) })
        let lastHour = h.sandbox.calls(vendor: .callrail, account: first).filter { $0.startedAt >= Self.may4.adding(seconds: -3600) }.count
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == Int64(70 + lastHour))
    }

    // MARK: - Entities

    @Test("companies, trackers, users, tags, text messages and form submissions load into their tables; a second run adds no rows")
    func entityLists() throws {
        let h = try PollHarness(Self.sandbox(calls: 24))
        defer { h.stop() }
        let source = Self.source(h, perPage: 3)
        let streams = CallRailEntityStream.Kind.allCases.map { CallRailEntityStream(calls: source, kind: $0) }
        #expect(streams.filter(\.isIncremental).map(\.entity) == ["text_messages", "form_submissions"])
        let poller = h.entityPoller(name: "callrail-test", streams: streams,
                                    accounts: { client throws(PollError) in try source.accounts(client: client) }, start: Self.may1)
        let now = Timestamp(year: 2024, month: 5, day: 5)!
        let stats = try poller.sync(now: now)
        let firstRun = h.sandbox.requests(for: .callrail)
        #expect(try Self.loaderCaughtUp(h))

        let accounts = h.sandbox.accounts(vendor: .callrail).map(\.id)
        let calls = h.sandbox.calls(vendor: .callrail)
        var total = 0
        var fullRefresh = 0
        for kind in CallRailEntityStream.Kind.allCases {
            let served = try accounts.flatMap { try Self.served(h, account: $0, kind) }
            let ids = Set(try served.map { try $0.idText() })
            #expect(ids.count == served.count, "\(kind.rawValue) ids are unique")
            total += served.count
            if !CallRailEntityStream(calls: source, kind: kind).isIncremental { fullRefresh += served.count }
            let table = "callrail_\(kind.rawValue)"
            let rows = try h.entityRows(table)
            #expect(Set(rows.keys) == ids, "\(table)")
            #expect(rows.values.allSatisfy { $0["account_id"].map { accounts.map(WarehouseValue.text).contains($0) } ?? false }, "\(table)")
        }
        // What the generator makes, seen through the calls that refer to it.
        #expect(try h.entityRows("callrail_companies").count == 2)
        #expect(try h.entityRows("callrail_users").count == 6)
        #expect(try h.entityRows("callrail_trackers").count == 4)
        #expect(Set(calls.compactMap { $0.record["tracker_id"]?.text }).isSubset(of: try h.entityRows("callrail_trackers").keys))
        #expect(Set(calls.compactMap { $0.record["company_id"]?.text }) == Set(try h.entityRows("callrail_companies").keys))
        let tagCount = accounts.map { account in
            Set(h.sandbox.calls(vendor: .callrail, account: account).flatMap { $0.record["tags"]?.arrayValue ?? [] }.compactMap(\.text)).count
        }.reduce(0, +)
        #expect(try h.entityRows("callrail_tags").count == tagCount)
        let serials = try calls.map { try Self.serial(h, $0) }
        #expect(try h.entityRows("callrail_form_submissions").count == serials.filter { $0 % 4 == 0 }.count)
        #expect(try h.entityRows("callrail_text_messages").count == serials.filter { $0 % 3 == 0 }.count)
        #expect(stats.published == total && stats.rejected == 0)

        // Incremental lists asked for [start, now) in UTC; full lists for everything.
        let texts = firstRun.filter { $0.path.hasSuffix("/text-messages.json") }
        #expect(texts.contains { $0.query["page"] == "2" })
        #expect(texts.allSatisfy { $0.query["start_date"] == "2024-05-01T00:00:00" && $0.query["end_date"] == "2024-05-04T23:59:59"
            && $0.query["time_zone"] == "Etc/UTC" })
        #expect(firstRun.filter { $0.path.hasSuffix("/trackers.json") }.allSatisfy { $0.query["start_date"] == nil && $0.query["date_range"] == nil })

        // Second run: the full lists again, the incremental ones from the mark minus the lookback.
        // Same objects, same revisions: no row added, none rewritten.
        let before = try Dictionary(uniqueKeysWithValues: CallRailEntityStream.Kind.allCases.map { kind in
            (kind.rawValue, try h.entityRows("callrail_\(kind.rawValue)"))
        })
        h.sandbox.clearRequests()
        let again = try poller.sync(now: now.adding(seconds: 600))
        #expect(again.rejected == 0 && again.published == fullRefresh)
        #expect(try Self.loaderCaughtUp(h))
        for kind in CallRailEntityStream.Kind.allCases {
            let rows = try h.entityRows("callrail_\(kind.rawValue)")
            #expect(rows.count == before[kind.rawValue]?.count, "\(kind.rawValue)")
            #expect(rows.allSatisfy { $0.value["received_at"] == before[kind.rawValue]?[$0.key]?["received_at"] }, "\(kind.rawValue)")
        }
        let forms = h.sandbox.requests(for: .callrail).filter { $0.path.hasSuffix("/form_submissions.json") }
        #expect(!forms.isEmpty && forms.allSatisfy { $0.query["start_date"] == "2024-05-04T23:00:00" })
    }

    @Test("an entity record without an id goes to the dead-letter topic")
    func entityWithoutID() throws {
        let stream = CallRailEntityStream(calls: CallRailCallSource(name: "t", apiKey: "k"), kind: .trackers)
        #expect(throws: MappingError.self) { try stream.object(from: .object(["name": .string("no id")]), account: "1") }
        #expect(throws: MappingError.self) { try stream.object(from: .array([]), account: "1") }
        let object = try stream.object(from: .object(["id": .int(7), "created_at": .string("2021-03-01T10:00:00.000-05:00")]), account: "1")
        #expect(object.id == "7")
        #expect(object.sourceUpdatedAt == Timestamp(year: 2021, month: 3, day: 1, hour: 15))
        #expect(CallRailEntityStream.Kind.textMessages.path == "text-messages")
        #expect(CallRailEntityStream.Kind.textMessages.collectionKey == "conversations")
    }

    // MARK: - Helpers

    /// Waits until the loader has read every entity record published so far.
    static func loaderCaughtUp(_ h: PollHarness) throws -> Bool {
        let published = try h.pipeline.count(h.pipeline.topics.entities)
        return h.pipeline.wait { (try? h.pipeline.metric("callfeed_load_messages_total")).flatMap { $0 }.map { Int64($0) >= published } ?? false }
    }

    /// A list as the sandbox serves it, read straight from its API in one page.
    static func served(_ h: PollHarness, account: String, _ kind: CallRailEntityStream.Kind) throws -> [JSONValue] {
        let url = h.sandbox.baseURL(for: .callrail) + "/v3/a/\(account)/\(kind.path).json?per_page=250&date_range=all_time"
        let response = try HTTPClient().request("GET", url, headers: [("Authorization", "Token token=\"\(apiKey)\"")])
        return try JSONValue.parse(response.body)[kind.collectionKey]?.arrayValue ?? []
    }

    /// The sandbox's serial of a call: its legacy webhook id is 900 000 000 + serial.
    static func serial(_ h: PollHarness, _ call: SandboxCall) throws -> Int64 {
        let hook = h.sandbox.webhook(vendor: .callrail, to: "http://127.0.0.1/unused", call: call)
        return try #require(try JSONValue.parse(hook.body)["id"]?.integer) - 900_000_000
    }
}

/// `PollHarness.deadLetters(expecting:)` on another thread, started before the messages exist.
private final class CallRailDeadLetterReader: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var outcome: Result<[(reason: String, body: String)], any Error> = .success([])

    init(_ h: PollHarness, expecting count: Int) {
        Thread.detachNewThread { [self] in
            outcome = Result { try h.deadLetters(expecting: count) }
            done.signal()
        }
    }

    func result() throws -> [(reason: String, body: String)] {
        done.wait()
        return try outcome.get()
    }
}
