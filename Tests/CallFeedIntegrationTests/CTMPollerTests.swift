import CallFeedCore
import CallFeedPoll
import Foundation
import HTTPClient
import Testing
import VendorSandbox
@_spi(Testing) import Warehouse

/// The CTM call poller and entity lists against the sandbox's CTM API, publishing into the
/// in-process spine and loading SQLite.
@Suite(.serialized) struct CTMPollerTests {
    static let may1 = Timestamp(year: 2024, month: 5, day: 1)!
    static let may8 = Timestamp(year: 2024, month: 5, day: 8)!

    static func sandbox(calls: Int = 35, odd: Int = 0, oddKinds: [SandboxOddity] = [.unparseableTime], rateLimit: SandboxRateLimit? = nil, secret: String = "ctm_sandbox_secret_key") -> SandboxConfiguration {
        SandboxConfiguration(seed: 7, accounts: 2, callsPerAccount: calls, from: may1, to: may8, oddRecords: odd,
                             oddKinds: oddKinds, ctm: CTMCredentials(secretKey: secret),
                             rateLimits: rateLimit.map { [.ctm: $0] } ?? [:])
    }

    static func source(_ h: PollHarness, perPage: Int = 4, secret: String = "ctm_sandbox_secret_key") -> CTMCallSource {
        CTMCallSource(name: "ctm-test", baseURL: h.sandbox.baseURL(for: .ctm), accessKey: "ctm_sandbox_access_key",
                      secretKey: secret, perPage: perPage)
    }

    /// Every call the sandbox holds, by id.
    static func expectedIDs(_ h: PollHarness) -> Set<String> {
        Set(h.sandbox.calls(vendor: .ctm).map(\.id))
    }

    @Test("a multi-page sync over two accounts lands every call exactly once, as poll events")
    func multiPageSync() throws {
        let h = try PollHarness(Self.sandbox())
        defer { h.stop() }
        let stats = try h.callPoller(Self.source(h), start: Self.may1).sync(now: Self.may8)

        let expected = Self.expectedIDs(h)
        #expect(expected.count == 70)
        let rows = try h.waitForCalls(source: "ctm", count: expected.count)
        #expect(Set(rows.keys) == expected)
        #expect(rows.values.allSatisfy { $0["channel"] == .text("poll") })
        #expect(stats.processed == 70 && stats.published == 70 && stats.rejected == 0)
        // 7 one-day windows per account, each read to its last page.
        let callRequests = h.sandbox.requests(for: .ctm).filter { $0.path.hasSuffix("/calls") }
        #expect(callRequests.count == stats.pages)
        #expect(callRequests.contains { $0.query["page"] == "2" })
        #expect(stats.pages > 14)
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == 70)
    }

    @Test("the next incremental run reads only the lookback overlap, and picks up new and changed calls")
    func incrementalOverlap() throws {
        let h = try PollHarness(Self.sandbox())
        defer { h.stop() }
        try h.callPoller(Self.source(h), start: Self.may1, lookback: .seconds(3600)).sync(now: Self.may8)
        _ = try h.waitForCalls(source: "ctm", count: 70)

        let account = h.sandbox.accounts(vendor: .ctm)[0].id
        let late = h.sandbox.addCall(vendor: .ctm, account: account, at: Self.may8.adding(seconds: -1800))
        let changed = try #require(h.sandbox.calls(vendor: .ctm, account: account).last { $0.startedAt > Self.may8.adding(seconds: -86_400) })
        _ = h.sandbox.updateCall(vendor: .ctm, account: account, id: changed.id, .recording("https://example.test/recordings/late.mp3"))
        h.sandbox.clearRequests()

        let second = try h.callPoller(Self.source(h), start: Self.may1, lookback: .seconds(3600)).sync(now: Self.may8.adding(seconds: 600))
        let requests = h.sandbox.requests(for: .ctm).filter { $0.path.hasSuffix("/calls") }
        // From the mark (May 8) minus one hour: CTM's whole-day filter starts on May 7 and ends May 8.
        #expect(!requests.isEmpty)
        #expect(requests.allSatisfy { $0.query["start_date"] == "2024-05-07" && $0.query["end_date"] == "2024-05-08" })
        #expect(second.processed < 70)

        let rows = try h.waitForCalls(source: "ctm", count: 71)
        #expect(rows.count == 71)
        #expect(rows[late.id] != nil)
        #expect(h.pipeline.wait { (try? h.callRows(source: "ctm")[changed.id]?["recording_url"]) == .text("https://example.test/recordings/late.mp3") })
    }

    @Test("a call delivered by webhook and then by poll is one row with one event_id")
    func webhookThenPoll() throws {
        let h = try PollHarness(Self.sandbox(calls: 10, secret: Pipeline.ctmSecret))
        defer { h.stop() }
        let hooked = Array(h.sandbox.calls(vendor: .ctm).prefix(3))
        let statuses = try h.sandbox.fireWebhooks(vendor: .ctm, to: h.pipeline.baseURL + "/webhooks/ctm", calls: hooked)
        #expect(statuses == [202, 202, 202])
        let before = try h.waitForCalls(source: "ctm", count: 3)
        #expect(before.count == 3)

        try h.callPoller(Self.source(h, secret: Pipeline.ctmSecret), start: Self.may1).sync(now: Self.may8)
        let after = try h.waitForCalls(source: "ctm", count: 20)
        #expect(after.count == 20)
        for call in hooked {
            #expect(after[call.id]?["event_id"] == before[call.id]?["event_id"])
        }
    }

    @Test("a record whose time does not parse, or that has no start time at all, goes to the dead-letter topic; the rest of its page loads")
    func oddRecordToDeadLetters() throws {
        // Per account: one `"unix_time": "not-a-time"` and one `"unix_time": null,
        // "called_at": "Invalid date"` (issue 20), each in the middle of a page of 6.
        let h = try PollHarness(Self.sandbox(calls: 12, odd: 2, oddKinds: [.unparseableTime, .missingTime]))
        defer { h.stop() }
        let oddCalls = h.sandbox.calls(vendor: .ctm).filter { $0.oddity != nil }
        let odd = Set(oddCalls.map(\.id))
        #expect(odd.count == 4)
        #expect(Set(oddCalls.compactMap(\.oddity)) == [.unparseableTime, .missingTime])
        let stats = try h.callPoller(Self.source(h, perPage: 6), start: Self.may1).sync(now: Self.may8)

        #expect(stats.rejected == 4 && stats.published == 20)
        let rows = try h.waitForCalls(source: "ctm", count: 20)
        #expect(Set(rows.keys) == Self.expectedIDs(h).subtracting(odd))
        #expect(rows.values.allSatisfy { row in
            if case .text(let startedAt)? = row["started_at"] { return !startedAt.isEmpty }
            return false
        })
        let letters = try h.deadLetters(expecting: 4)
        #expect(letters.count == 4)
        #expect(Set(letters.compactMap { letter in odd.first { letter.body.contains("\"id\":\($0)") } }) == odd)
        #expect(letters.filter { $0.reason.contains("malformed start time (unix_time): \"not-a-time\"") }.count == 2)
        #expect(letters.filter {
            $0.reason.contains("unparseable start time (unix_time: null, called_at: \"Invalid date\")")
        }.count == 2)
    }

    @Test("a 429 storm with Retry-After is waited out: the run completes with every call, within the vendor's limit")
    func rateLimitStorm() throws {
        let h = try PollHarness(Self.sandbox(calls: 20, rateLimit: SandboxRateLimit(windows: [.perSecond(20)])))
        defer { h.stop() }
        h.sandbox.faults.rateLimitStorm(vendor: .ctm, count: 3, retryAfter: 1)
        let client = h.client(limits: [RateLimiter.Window(limit: 15, period: .seconds(1))], maxRetries: 4)
        let stats = try h.callPoller(Self.source(h, perPage: 5), client: client, start: Self.may1).sync(now: Self.may8)

        #expect(stats.published == 40)
        #expect(try h.waitForCalls(source: "ctm", count: 40).count == 40)
        let statuses = h.sandbox.requests(for: .ctm).map(\.status)
        // The three injected 429s, and none from the sandbox's own 20/s limit.
        #expect(statuses.filter { $0 == 429 }.count == 3)
        #expect(stats.apiCalls == statuses.count)
    }

    @Test("refused credentials stop the run with an error naming the key to check")
    func refusedCredentials() throws {
        let h = try PollHarness(Self.sandbox(calls: 5))
        defer { h.stop() }
        let poller = h.callPoller(Self.source(h, secret: "wrong-secret"), start: Self.may1)
        let error = try #require(throws: PollError.self) { try poller.sync(now: Self.may8) }
        #expect(error.kind == .credentials)
        #expect(error.reason.contains("401"))
        #expect(error.reason.contains("access_key"))
        #expect(!error.reason.contains("wrong-secret"))
    }

    @Test("a poller stopped mid-pagination resumes at its last acknowledged page: no gaps")
    func resumeAfterStop() throws {
        let h = try PollHarness(Self.sandbox())
        defer { h.stop() }
        let first = h.callPoller(Self.source(h, perPage: 3), start: Self.may1)
        let pages = PageCounter(stopAfter: 5)
        first.isCancelled = { pages.tick() }
        let error = try #require(throws: PollError.self) { try first.sync(now: Self.may8) }
        #expect(error.kind == .cancelled)
        let partial = try h.callRows(source: "ctm").count
        let lastRead = try #require(h.sandbox.requests(for: .ctm).last { $0.path.hasSuffix("/calls") })
        h.sandbox.clearRequests()

        try h.callPoller(Self.source(h, perPage: 3), start: Self.may1).sync(now: Self.may8)
        let rows = try h.waitForCalls(source: "ctm", count: 70)
        #expect(Set(rows.keys) == Self.expectedIDs(h))
        #expect(partial < 70)
        // The second run started at the page after the last one the first run read, in the same
        // window, and did not read any earlier day of that account again.
        let requests = h.sandbox.requests(for: .ctm).filter { $0.path.hasSuffix("/calls") }
        let resumed = try #require(requests.first)
        #expect(resumed.path == lastRead.path)
        #expect(resumed.query["start_date"] == lastRead.query["start_date"])
        #expect(resumed.query["page"] == String(Int(lastRead.query["page"] ?? "0")! + 1))
        let resumedDay = resumed.query["start_date"] ?? ""
        #expect(!requests.contains { $0.path == lastRead.path && ($0.query["start_date"] ?? "") < resumedDay })
    }

    @Test("a backfill replays history as backfill events with progress to 100 %, and a dry run publishes nothing")
    func backfillAndDryRun() throws {
        let h = try PollHarness(Self.sandbox(calls: 15))
        defer { h.stop() }
        let dry = try h.callPoller(Self.source(h), start: Self.may1, dryRun: true).backfill(from: Self.may1, to: Self.may8)
        #expect(dry.processed == 30)
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == 0)

        let fractions = Fractions()
        let stats = try h.callPoller(Self.source(h), start: Self.may1).backfill(from: Self.may1, to: Self.may8) { fractions.add($0.fraction) }
        #expect(stats.published == 30)
        let rows = try h.waitForCalls(source: "ctm", count: 30)
        #expect(rows.values.allSatisfy { $0["channel"] == .text("backfill") })
        #expect(fractions.values.last == 1)
        #expect(fractions.values == fractions.values.sorted())
    }

    @Test("a stopped backfill, run again with the same range, resumes at its next page, skips finished accounts, completes")
    func backfillResumes() throws {
        let h = try PollHarness(Self.sandbox(calls: 20))
        defer { h.stop() }
        let first = h.callPoller(Self.source(h, perPage: 3), start: Self.may1)
        let pages = PageCounter(stopAfter: 4)
        first.isCancelled = { pages.tick() }
        #expect(throws: PollError.self) { try first.backfill(from: Self.may1, to: Self.may8) }
        let lastRead = try #require(h.sandbox.requests(for: .ctm).last { $0.path.hasSuffix("/calls") })
        h.sandbox.clearRequests()

        let second = try h.callPoller(Self.source(h, perPage: 3), start: Self.may1).backfill(from: Self.may1, to: Self.may8)
        let resumed = try #require(h.sandbox.requests(for: .ctm).first { $0.path.hasSuffix("/calls") })
        #expect(resumed.path == lastRead.path && resumed.query["start_date"] == lastRead.query["start_date"])
        #expect(resumed.query["page"] == String(Int(lastRead.query["page"] ?? "0")! + 1))
        // Accounts the first run finished are not read again.
        let finished = h.sandbox.accounts(vendor: .ctm).map(\.id).prefix { !lastRead.path.contains($0) }
        #expect(finished.count == 1, "the first run should stop in the second account")
        #expect(!h.sandbox.requests(for: .ctm).contains { request in finished.contains { request.path.contains($0) } })
        #expect(second.processed < 40)
        #expect(Set(try h.waitForCalls(source: "ctm", count: 40).keys) == Self.expectedIDs(h))
    }

    @Test("accounts, users and numbers load into ctm_accounts, ctm_users and ctm_numbers; a second run adds no rows")
    func entityLists() throws {
        let h = try PollHarness(Self.sandbox(calls: 3))
        defer { h.stop() }
        let source = Self.source(h)
        let streams = CTMEntityStream.Kind.allCases.map { CTMEntityStream(calls: source, kind: $0) }
        let poller = h.entityPoller(name: "ctm-test", streams: streams, accounts: { client throws(PollError) in try source.accounts(client: client) })
        let stats = try poller.sync()

        let served = try Self.servedCounts(h)
        let accounts = try h.waitForEntities("ctm_accounts", count: 2)
        #expect(Set(accounts.keys) == Set(h.sandbox.accounts(vendor: .ctm).map(\.id)))
        let users = try h.waitForEntities("ctm_users", count: served.users)
        let numbers = try h.waitForEntities("ctm_numbers", count: served.numbers)
        #expect(users.count == served.users && served.users > 0)
        #expect(numbers.count == served.numbers && served.numbers > 0)
        #expect(stats.published == 2 + served.users + served.numbers)

        try poller.sync()
        Thread.sleep(forTimeInterval: 1)
        #expect(try h.entityRows("ctm_users").count == served.users)
        #expect(try h.pipeline.reader._query("SELECT count(*) AS n FROM ctm_accounts").first?["n"] == .integer(2))
    }

    /// What the sandbox serves, read straight from its API (`total_entries` of each list).
    static func servedCounts(_ h: PollHarness) throws -> (users: Int, numbers: Int) {
        let http = HTTPClient()
        func total(_ account: String, _ list: String) throws -> Int {
            let response = try http.request("GET", h.sandbox.baseURL(for: .ctm) + "/api/v1/accounts/\(account)/\(list)?per_page=150",
                                            headers: Self.source(h).authHeadersForTest)
            return Int(try JSONValue.parse(response.body)["total_entries"]?.integer ?? -1)
        }
        let accounts = h.sandbox.accounts(vendor: .ctm).map(\.id)
        return (try accounts.map { try total($0, "users") }.reduce(0, +), try accounts.map { try total($0, "numbers") }.reduce(0, +))
    }
}

extension CTMCallSource {
    var authHeadersForTest: [(String, String)] {
        [("Authorization", "Basic " + Data("\(accessKey):\(secretKey)".utf8).base64EncodedString())]
    }
}
