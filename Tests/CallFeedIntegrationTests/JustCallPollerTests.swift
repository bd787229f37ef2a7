import CallFeedCore
import CallFeedIngest
import CallFeedPoll
import CallFeedVendors
import Dispatch
import Foundation
import HTTPClient
import HTTPServer
import Logging
import Prometheus
import Synchronization
import Testing
import VendorSandbox
@_spi(Testing) import Warehouse

/// The JustCall call poller and entity lists against the sandbox's JustCall API (`/justcall`),
/// publishing into the in-process spine and loading SQLite. One key pair reads one team, so every
/// account gets its own source.
@Suite(.serialized) struct JustCallPollerTests {
    static let may1 = Timestamp(year: 2024, month: 5, day: 1)!
    static let may4 = Timestamp(year: 2024, month: 5, day: 4)!
    static let secret = "justcall_sandbox_secret"

    static func sandbox(accounts: Int = 2, calls: Int = 35, from: Timestamp = may1, to: Timestamp = may4, odd: Int = 0,
                        rateLimit: SandboxRateLimit? = nil) -> SandboxConfiguration {
        SandboxConfiguration(seed: 11, accounts: accounts, callsPerAccount: calls, from: from, to: to, oddRecords: odd,
                             oddKinds: [.unparseableTime], rateLimits: rateLimit.map { [.justcall: $0] } ?? [:])
    }

    /// The source reading sandbox account number `index` (0-based) with its own key.
    static func source(_ h: PollHarness, account index: Int = 0, perPage: Int = 10, secret: String = secret) -> JustCallCallSource {
        let account = h.sandbox.accounts(vendor: .justcall)[index]
        return JustCallCallSource(name: "jc-test", baseURL: h.sandbox.baseURL(for: .justcall), apiKey: account.credential.key,
                                  apiSecret: secret, accountID: account.id, perPage: perPage)
    }

    static func ids(_ h: PollHarness, account index: Int = 0) -> Set<String> {
        Set(h.sandbox.calls(vendor: .justcall, account: h.sandbox.accounts(vendor: .justcall)[index].id).map(\.id))
    }

    static func callRequests(_ h: PollHarness) -> [SandboxRequest] {
        h.sandbox.requests(for: .justcall).filter { $0.path.hasSuffix("/v2.1/calls") }
    }

    /// `2024-05-01T07:00:00Z` and the like.
    static func at(_ day: Int, _ hour: Int, _ minute: Int = 0, _ second: Int = 0, month: Int = 5) -> Timestamp {
        Timestamp(year: 2024, month: month, day: day, hour: hour, minute: minute, second: second)!
    }

    @Test("two teams, small pages: every call lands once as a poll event, calls around local and UTC midnight included")
    func multiPageSync() throws {
        let h = try PollHarness(Self.sandbox())
        defer { h.stop() }
        let first = h.sandbox.accounts(vendor: .justcall)[0].id
        // Around the user's midnight (America/Los_Angeles, UTC-7 in May: 07:00Z) and UTC's, and the
        // very first and last second of the polled range.
        let edges = [Self.may1, Self.at(1, 6, 59, 59), Self.at(1, 7), Self.at(1, 23, 59, 59), Self.at(2, 0),
                     Self.at(2, 7), Self.may4.adding(seconds: -1)]
        for instant in edges { h.sandbox.addCall(vendor: .justcall, account: first, at: instant) }

        let one = try h.callPoller(Self.source(h, account: 0), start: Self.may1).sync(now: Self.may4)
        let two = try h.callPoller(Self.source(h, account: 1), start: Self.may1).sync(now: Self.may4)

        let expected = [Self.ids(h, account: 0), Self.ids(h, account: 1)]
        #expect(expected[0].count == 35 + edges.count && expected[1].count == 35)
        let total = expected[0].count + expected[1].count
        let rows = try h.waitForCalls(source: "justcall", count: total)
        #expect(Set(rows.keys) == expected[0].union(expected[1]))
        #expect(rows.values.allSatisfy { $0["channel"] == .text("poll") })
        let accounts = h.sandbox.accounts(vendor: .justcall).map(\.id)
        for (n, ids) in expected.enumerated() {
            #expect(ids.allSatisfy { rows[$0]?["source_account_id"] == .text(accounts[n]) })
        }
        // Exactly once: no window boundary read a call twice.
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == Int64(total))
        #expect(one.processed == expected[0].count && one.published == expected[0].count && one.rejected == 0)
        #expect(two.processed == 35 && two.published == 35 && two.rejected == 0)
        #expect(one.windows == 3 && two.windows == 3)

        let requests = Self.callRequests(h)
        #expect(requests.count == one.pages + two.pages)
        #expect(one.apiCalls == one.pages)
        #expect(requests.contains { $0.query["page"] == "1" })
        #expect(one.pages > one.windows && two.pages > two.windows)
        #expect(requests.allSatisfy { $0.status == 200 && $0.query["per_page"] == "10" && $0.query["sort"] == "datetime" && $0.query["order"] == "asc" })
        // Pages count from 0; the UTC-day windows are sent as the user's wall time (PDT).
        #expect(requests.first?.query["page"] == "0")
        #expect(requests.first?.query["from_datetime"] == "2024-04-30 17:00:00")
        #expect(requests.first?.query["to_datetime"] == "2024-05-01 16:59:59")
        #expect(requests.contains { $0.query["from_datetime"] == "2024-05-02 17:00:00" && $0.query["to_datetime"] == "2024-05-03 16:59:59" })
    }

    @Test("in the fall-back hour the bounds are widened, so neither reading of 01:xx loses calls")
    func fallBackHour() throws {
        // 2024-11-03: 01:00-02:00 happens twice in Los Angeles (PDT 08:00-09:00Z, PST 09:00-10:00Z).
        let start = Self.at(3, 0, month: 11)
        let h = try PollHarness(Self.sandbox(accounts: 1, calls: 6, from: start, to: Self.at(3, 8, month: 11)))
        defer { h.stop() }
        let account = h.sandbox.accounts(vendor: .justcall)[0].id
        h.sandbox.addCall(vendor: .justcall, account: account, at: Self.at(3, 8, 30, month: 11))  // 01:30 PDT
        h.sandbox.addCall(vendor: .justcall, account: account, at: Self.at(3, 9, 30, month: 11))  // 01:30 PST
        let end = Self.at(3, 9, 40, month: 11)  // 01:40 PST

        // Dry runs: what was fetched, without waiting for the loader. "01:39:59" alone could be read
        // as PDT (08:39:59Z) and cut off the 01:30 PST call: the end is sent an hour later.
        let whole = try h.callPoller(Self.source(h, perPage: 100), start: start, dryRun: true).sync(now: end)
        #expect(whole.processed == 8 && whole.rejected == 0)
        #expect(Self.callRequests(h).last?.query["to_datetime"] == "2024-11-03 02:39:59")
        // A start at 01:35 PDT could be read as 01:35 PST (09:35Z): it is sent an hour earlier.
        h.sandbox.clearRequests()
        let tail = try h.callPoller(Self.source(h, perPage: 100), start: Self.at(3, 8, 35, month: 11), dryRun: true).sync(now: end)
        #expect(Self.callRequests(h).first?.query["from_datetime"] == "2024-11-03 00:35:00")
        #expect(tail.processed >= 1)
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == 0)
    }

    @Test("the next run reads only the lookback overlap, and picks up a late call and a changed recording")
    func incrementalOverlap() throws {
        let h = try PollHarness(Self.sandbox(accounts: 1))
        defer { h.stop() }
        let account = h.sandbox.accounts(vendor: .justcall)[0].id
        let changed = h.sandbox.addCall(vendor: .justcall, account: account, at: Self.may4.adding(seconds: -1800))
        try h.callPoller(Self.source(h), start: Self.may1, lookback: .seconds(3600)).sync(now: Self.may4)
        _ = try h.waitForCalls(source: "justcall", count: 36)

        _ = h.sandbox.updateCall(vendor: .justcall, account: account, id: changed.id, .recording("https://example.test/justcall/late.mp3"))
        let late = h.sandbox.addCall(vendor: .justcall, account: account, at: Self.may4.adding(seconds: 1200))
        h.sandbox.clearRequests()

        let now = Self.may4.adding(seconds: 3600)
        let second = try h.callPoller(Self.source(h), start: Self.may1, lookback: .seconds(3600)).sync(now: now)
        // From the mark minus one hour (May 3 23:00Z = 16:00 PDT) to the last second before now.
        let requests = Self.callRequests(h)
        #expect(!requests.isEmpty)
        #expect(requests.allSatisfy { $0.query["from_datetime"] == "2024-05-03 16:00:00" && $0.query["to_datetime"] == "2024-05-03 17:59:59" })
        let inOverlap = h.sandbox.calls(vendor: .justcall, account: account).filter { $0.startedAt >= Self.may4.adding(seconds: -3600) && $0.startedAt < now }
        #expect(second.processed == inOverlap.count)
        #expect(second.processed < 10)

        let rows = try h.waitForCalls(source: "justcall", count: 37)
        #expect(rows.count == 37)
        #expect(rows[late.id] != nil)
        #expect(h.pipeline.wait { (try? h.callRows(source: "justcall")[changed.id]?["recording_url"]) == .text("https://example.test/justcall/late.mp3") })
    }

    @Test("a call delivered by the JustCall webhook route and then polled is one row with one event_id")
    func webhookThenPoll() throws {
        let h = try PollHarness(Self.sandbox(accounts: 1, calls: 10))
        defer { h.stop() }
        let account = h.sandbox.accounts(vendor: .justcall)[0].id
        // The JustCall route is not in Pipeline's config: a receiver of our own on the same spine.
        let hookURL = "https://ingest.example.com/webhooks/justcall?src=jc"
        let route = JustCallWebhookRoute(sources: [.init(
            source: WebhookSource(name: "jc-hooks", context: MappingContext(accountID: account, timeZone: "UTC", defaultCountry: "US")),
            secrets: [Self.secret], webhookURL: hookURL)])
        let receiver = WebhookReceiver(routes: [route], publisher: EventPublisher(producer: h.pipeline.producer, topics: h.pipeline.topics),
                                       metrics: IngestMetrics(registry: PrometheusCollectorRegistry()),
                                       logger: Logger(label: "jc-hooks", factory: { _ in SwiftLogNoOpLogHandler() }))
        let hooked = Array(h.sandbox.calls(vendor: .justcall, account: account).prefix(2))
        for call in hooked {
            let hook = h.sandbox.webhook(vendor: .justcall, to: hookURL, call: call)
            let request = HTTPRequest(method: "POST", path: "/webhooks/justcall", query: ["src": "jc"],
                                      headers: Dictionary(hook.headers.map { ($0.0.lowercased(), $0.1) }, uniquingKeysWith: { a, _ in a }),
                                      body: hook.body)
            let responder = OneResponse()
            receiver.handle(request, responder)
            let answer = responder.wait()
            #expect(answer?.status == 202)
            // Accepted only after Kafka acknowledged: the event is on the spine, ahead of the poll's.
            let expectedID = EventIdentity.eventID(source: "justcall", accountID: account, callID: call.id)
            #expect(answer.map { String(decoding: $0.body, as: UTF8.self).contains("\"event_id\":\"\(expectedID)\"") } == true)
        }
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == 2)

        try h.callPoller(Self.source(h), start: Self.may1).sync(now: Self.may4)
        let after = try h.waitForCalls(source: "justcall", count: 10)
        #expect(after.count == 10)
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == 12)
        for call in hooked {
            #expect(after[call.id]?["event_id"] == .text(EventIdentity.eventID(source: "justcall", accountID: account, callID: call.id)))
        }
        #expect(try h.pipeline.reader._query("SELECT count(*) AS n FROM calls").first?["n"] == .integer(10))
    }

    @Test("a record whose call_date does not parse goes to the dead-letter topic; the rest of its page loads")
    func oddRecordToDeadLetters() throws {
        let h = try PollHarness(Self.sandbox(accounts: 1, calls: 12, odd: 1))
        defer { h.stop() }
        let odd = try #require(h.sandbox.calls(vendor: .justcall).first { $0.oddity != nil })
        let stats = try h.callPoller(Self.source(h, perPage: 100), start: Self.may1).sync(now: Self.may4)

        #expect(stats.rejected == 1 && stats.published == 11)
        let letters = try h.deadLetters(expecting: 1)
        #expect(letters.count == 1)
        #expect(letters.first?.reason.contains("call_date") == true)
        #expect(letters.first?.body.contains("\"id\":\(odd.id)") == true)
        let rows = try h.waitForCalls(source: "justcall", count: 11)
        #expect(Set(rows.keys) == Self.ids(h).subtracting([odd.id]))
        // Its page (its day's window) held other calls, which loaded.
        let day = odd.startedAt.utcComponents.day
        #expect(h.sandbox.calls(vendor: .justcall).contains { $0.id != odd.id && $0.startedAt.utcComponents.day == day && rows[$0.id] != nil })
    }

    @Test("X-Rate-Limit-Remaining/-Reset slow the client before JustCall's limit: no 429, every call")
    func rateLimitHeaders() throws {
        let limit = SandboxRateLimit(windows: [.init(limit: 2, period: .seconds(1))])
        let h = try PollHarness(Self.sandbox(accounts: 1, calls: 40, to: Self.at(2, 0), rateLimit: limit))
        defer { h.stop() }
        // The client's own limit is generous: only the vendor's headers can hold it back.
        let stats = try h.callPoller(Self.source(h), client: h.client(limits: [.perMinute(10_000)], maxRetries: 0), start: Self.may1)
            .sync(now: Self.at(2, 0))
        #expect(stats.published == 40 && stats.pages == 4)
        #expect(try h.waitForCalls(source: "justcall", count: 40).count == 40)
        // Four pages, each admitted at the first try (maxRetries 0: a 429 would have failed the run).
        let statuses = h.sandbox.requests(for: .justcall).map(\.status)
        #expect(statuses == Array(repeating: 200, count: 4))
    }

    @Test("a 429 storm without Retry-After and a burst limit with it: bounded 429s, every call once")
    func stormAndBurstLimit() throws {
        // JustCall's real header shape: the hourly window in X-Rate-Limit-*, the burst in -Burst-*.
        let limit = SandboxRateLimit(windows: [.perHour(3600), .init(limit: 2, period: .seconds(1))])
        let h = try PollHarness(Self.sandbox(accounts: 1, calls: 40, to: Self.at(2, 0), rateLimit: limit))
        defer { h.stop() }
        // JustCall documents no Retry-After (justcall.md §4): for the storm the client's backoff has
        // to do; the sandbox's burst 429s carry one.
        h.sandbox.faults.rateLimitStorm(vendor: .justcall, count: 3, retryAfter: nil)
        let stats = try h.callPoller(Self.source(h), client: h.client(limits: [.perMinute(10_000)], maxRetries: 4), start: Self.may1)
            .sync(now: Self.at(2, 0))
        #expect(stats.published == 40)
        let rows = try h.waitForCalls(source: "justcall", count: 40)
        #expect(Set(rows.keys) == Self.ids(h))
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == 40)
        let statuses = h.sandbox.requests(for: .justcall).map(\.status)
        // Four pages served; the three injected 429s plus at most one per burst window.
        #expect(statuses.filter { $0 == 200 }.count == 4)
        #expect(statuses.filter { $0 == 429 }.count >= 3 && statuses.filter { $0 == 429 }.count <= 5)
        #expect(stats.apiCalls == statuses.count)
    }

    @Test("a wrong secret stops the run with a credentials error naming api_key/api_secret")
    func refusedCredentials() throws {
        let h = try PollHarness(Self.sandbox(accounts: 1, calls: 5))
        defer { h.stop() }
        let poller = h.callPoller(Self.source(h, secret: "wrong-secret"), start: Self.may1)
        let error = try #require(throws: PollError.self) { try poller.sync(now: Self.may4) }
        #expect(error.kind == .credentials)
        #expect(error.reason.contains("401"))
        #expect(error.reason.contains("sources.justcall[jc-test].poll.api_key/api_secret"))
        #expect(!error.reason.contains("wrong-secret"))
        #expect(h.sandbox.requests(for: .justcall).map(\.status) == [401])
    }

    @Test("users, texts, contacts, phone numbers and per-day agent analytics load; a second run adds no rows")
    func entityLists() throws {
        let h = try PollHarness(Self.sandbox(accounts: 1, calls: 30))
        defer { h.stop() }
        let source = Self.source(h)
        let streams = JustCallEntityStream.Kind.allCases.map { JustCallEntityStream(calls: source, kind: $0) }
        let poller = h.entityPoller(name: "jc-test", streams: streams, accounts: { client throws(PollError) in try source.accounts(client: client) },
                                    start: Self.may1)
        let stats = try poller.sync(now: Self.may4)

        // What the sandbox serves (Vendors/JustCall/JustCallAPI+Entities.swift): three agents and
        // two numbers for the first team, one contact per distinct customer number (id = call
        // serial + 7,000,000), one text per third call (serial + 5,000,000); call id = 918,000,000 + serial.
        let calls = h.sandbox.calls(vendor: .justcall)
        func serial(_ call: SandboxCall) -> Int { Int(call.id)! - 918_000_000 }
        var seen = Set<String>()
        let contacts = Set(calls.compactMap { call -> String? in
            guard let number = call.record["contact_number"]?.text, seen.insert(number).inserted else { return nil }
            return String(serial(call) + 7_000_000)
        })
        let texts = Set(calls.filter { serial($0) % 3 == 0 }.map { String(serial($0) + 5_000_000) })
        let agents = ["40001", "40002", "40003"]
        // Days of the user's zone (PDT) holding [May 1 00:00Z, May 4 00:00Z): Apr 30 to May 3.
        let days = ["2024-04-30", "2024-05-01", "2024-05-02", "2024-05-03"]
        let analytics = Set(agents.flatMap { agent in days.map { "\(agent)/\($0)" } })

        #expect(Set(try h.waitForEntities("justcall_users", count: 3).keys) == Set(agents))
        #expect(Set(try h.waitForEntities("justcall_phone_numbers", count: 2).keys) == ["1", "2"])
        #expect(Set(try h.waitForEntities("justcall_contacts", count: contacts.count).keys) == contacts)
        #expect(Set(try h.waitForEntities("justcall_texts", count: texts.count).keys) == texts)
        let daily = try h.waitForEntities("justcall_agent_analytics", count: analytics.count)
        #expect(Set(daily.keys) == analytics)
        #expect(stats.published == 3 + 2 + contacts.count + texts.count + analytics.count && stats.rejected == 0)
        // Each day's totals are that user-zone day's calls: together, every call exactly once.
        var totals: [String: Int64] = [:]
        for (id, row) in daily {
            guard case .text(let json)? = row["data"], let data = try? JSONValue.parse(Array(json.utf8)) else { continue }
            totals[id] = data["total_calls"]?.integer
            #expect(data["from_date"]?.text == String(id.split(separator: "/")[1]))
        }
        #expect(totals.values.reduce(0, +) == Int64(calls.count))
        let firstDay = calls.filter { $0.record["call_user_date"]?.text == "2024-04-30" && $0.record["agent_id"]?.text == "40001" }
        #expect(totals["40001/2024-04-30"] == Int64(firstDay.count))
        let analyticsDays = h.sandbox.requests(for: .justcall).filter { $0.path.hasSuffix("/analytics/agent") }.compactMap { $0.query["from_date"] }
        #expect(analyticsDays == days)

        // Second run: texts and analytics only from the mark minus the lookback (one hour), the
        // full-refresh lists whole again; same data, so no new or changed rows.
        let loadedAt = try h.entityRows("justcall_texts").mapValues { $0["loaded_at"] }
        h.sandbox.clearRequests()
        let again = try poller.sync(now: Self.may4)
        let textsInOverlap = calls.filter { serial($0) % 3 == 0 && $0.startedAt >= Self.may4.adding(seconds: -3600) }.count
        #expect(again.published == 3 + 2 + contacts.count + textsInOverlap + 3)
        let requests = h.sandbox.requests(for: .justcall)
        #expect(requests.filter { $0.path.hasSuffix("/texts") }.allSatisfy { $0.query["from_datetime"] == "2024-05-03 16:00:00" })
        #expect(requests.filter { $0.path.hasSuffix("/analytics/agent") }.compactMap { $0.query["from_date"] } == ["2024-05-03"])
        let produced = try h.pipeline.count(h.pipeline.topics.entities)
        #expect(produced == Int64(stats.published + again.published))
        #expect(h.pipeline.wait { (try? h.pipeline.metric("callfeed_load_messages_total")).flatMap { $0 }.map { Int64($0) >= produced } ?? false })
        #expect(try h.entityRows("justcall_users").count == 3)
        #expect(try h.entityRows("justcall_contacts").count == contacts.count)
        #expect(try h.entityRows("justcall_texts").mapValues { $0["loaded_at"] } == loadedAt)
        #expect(try h.entityRows("justcall_agent_analytics").count == analytics.count)
    }

    @Test("a poller stopped mid-pagination resumes at its last acknowledged page: every call once, no gap")
    func resumeAfterStop() throws {
        let h = try PollHarness(Self.sandbox(accounts: 1))
        defer { h.stop() }
        let first = h.callPoller(Self.source(h, perPage: 5), start: Self.may1)
        let pages = PageCounter(stopAfter: 3)
        first.isCancelled = { pages.tick() }
        let error = try #require(throws: PollError.self) { try first.sync(now: Self.may4) }
        #expect(error.kind == .cancelled)
        let stoppedAt = try #require(Self.callRequests(h).last)
        h.sandbox.clearRequests()

        let second = h.callPoller(Self.source(h, perPage: 5), start: Self.may1)
        try second.sync(now: Self.may4)
        let resumedAt = try #require(Self.callRequests(h).first)
        // The same window, the page after the last acknowledged one.
        #expect(resumedAt.query["from_datetime"] == stoppedAt.query["from_datetime"])
        #expect(resumedAt.query["to_datetime"] == stoppedAt.query["to_datetime"])
        #expect(Int(resumedAt.query["page"] ?? "") == Int(stoppedAt.query["page"] ?? "-9")! + 1)
        #expect(!Self.callRequests(h).contains { $0.query["from_datetime"] == "2024-04-30 17:00:00" && $0.query["page"] == "0" })

        let rows = try h.waitForCalls(source: "justcall", count: 35)
        #expect(Set(rows.keys) == Self.ids(h))
        #expect(try h.pipeline.reader._query("SELECT count(*) AS n FROM calls").first?["n"] == .integer(35))
    }
}

/// Collects the receiver's one answer for a blocking test thread.
private final class OneResponse: HTTPResponder {
    private let response = Mutex<HTTPResponse?>(nil)
    private let done = DispatchSemaphore(value: 0)

    func respond(_ response: HTTPResponse) {
        let first = self.response.withLock { stored in
            guard stored == nil else { return false }
            stored = response
            return true
        }
        if first { done.signal() }
    }

    func wait(seconds: Double = 15) -> HTTPResponse? {
        _ = done.wait(timeout: .now() + seconds)
        return response.withLock { $0 }
    }
}
