import CallFeedCore
import CallFeedPoll
import Foundation
import HTTPClient
import Testing
import VendorSandbox
@_spi(Testing) import Warehouse

/// The Five9 call-log poller (SOAP report runs) against the sandbox's Five9 API (`/five9`),
/// publishing into the in-process spine and loading SQLite. One window = one report run.
@Suite(.serialized) struct Five9PollerTests {
    static let may1 = Timestamp(year: 2024, month: 5, day: 1)!
    static let may4 = Timestamp(year: 2024, month: 5, day: 4)!

    static func sandbox(calls: Int = 40, to: Timestamp = may4, odd: Int = 0,
                        runReportLimit: SandboxRateLimit? = nil) -> SandboxConfiguration {
        var configuration = SandboxConfiguration(seed: 21, accounts: 1, callsPerAccount: calls, from: may1, to: to, oddRecords: odd,
                                                 oddKinds: [.unparseableTime],
                                                 operationRateLimits: runReportLimit.map { ["five9/runReport": $0] } ?? [:])
        configuration.five9ReportDelay = .milliseconds(100)
        return configuration
    }

    static func source(_ h: PollHarness, password: String? = nil, reportName: String = "Call Log",
                       runReportLimits: [RateLimiter.Window] = [.perMinute(16), .perHour(120), .perDay(800)],
                       limitRetryDelay: Duration? = nil) -> Five9CallSource {
        let domain = h.sandbox.accounts(vendor: .five9)[0]
        return Five9CallSource(name: "f9-test", baseURL: h.sandbox.baseURL(for: .five9), username: domain.credential.key,
                               password: password ?? h.sandbox.configuration.five9.password, domain: domain.id, reportName: reportName,
                               runReportLimits: runReportLimits, pollInterval: .milliseconds(50), limitRetryDelay: limitRetryDelay,
                               maxLimitRetries: 10)
    }

    static func ids(_ h: PollHarness) -> Set<String> { Set(h.sandbox.calls(vendor: .five9).map(\.id)) }

    /// Calls whose report lists two rows (transfers).
    static func transferred(_ h: PollHarness) -> [SandboxCall] {
        h.sandbox.calls(vendor: .five9).filter { ($0.record["rows"]?.arrayValue?.count ?? 0) > 1 }
    }

    static func seconds(_ text: String?) -> Int64 {
        (text ?? "").split(separator: ":").reduce(Int64(0)) { $0 * 60 + (Int64($1) ?? 0) }
    }

    @Test("three daily windows = three report runs: every call lands once, transfers collapsed to one row")
    func multiWindowSync() throws {
        let h = try PollHarness(Self.sandbox())
        defer { h.stop() }
        let stats = try h.callPoller(Self.source(h), start: Self.may1).sync(now: Self.may4)

        let expected = Self.ids(h)
        #expect(expected.count == 40)
        #expect(stats.windows == 3 && stats.pages == 3)
        #expect(stats.processed == 40 && stats.published == 40 && stats.rejected == 0)
        let rows = try h.waitForCalls(source: "five9", count: 40)
        #expect(Set(rows.keys) == expected)
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == 40)
        #expect(rows.values.allSatisfy { $0["source_account_id"] == .text("five9-domain-1") && $0["channel"] == .text("poll") })

        // A transferred call: one row, the legs' talk time summed, the second leg's agent.
        let transfers = Self.transferred(h)
        #expect(!transfers.isEmpty)
        for call in transfers {
            let legs = call.record["rows"]?.arrayValue ?? []
            let talk = legs.reduce(Int64(0)) { $0 + Self.seconds($1["TALK TIME"]?.text) }
            #expect(rows[call.id]?["talk_seconds"] == .integer(talk))
            #expect(rows[call.id]?["agent_name"] == legs.last?["AGENT NAME"]?.text.map(WarehouseValue.text))
        }
        // Requests: all served; per report one runReport, one result, and one or more isReportRunning.
        let requests = h.sandbox.requests(for: .five9)
        #expect(requests.allSatisfy { $0.status == 200 && $0.method == "POST" && $0.path == "/five9/wsadmin/v13/AdminWebService" })
        #expect(requests.count >= 9 && stats.apiCalls == requests.count)
    }

    @Test("a report over the result cap (rows, not calls) is split into smaller report windows: every call once, none twice")
    func resultCapSplits() throws {
        let h = try PollHarness(Self.sandbox())
        defer { h.stop() }
        let domain = h.sandbox.accounts(vendor: .five9)[0]
        let source = Five9CallSource(name: "f9-test", baseURL: h.sandbox.baseURL(for: .five9), username: domain.credential.key,
                                     password: h.sandbox.configuration.five9.password, domain: domain.id,
                                     pollInterval: .milliseconds(50), resultCap: 10)
        let stats = try h.callPoller(source, start: Self.may1).sync(now: Self.may4)
        // ~13 calls (more rows) a day: every daily report is over 10 rows and is split at least once.
        // Each over-cap report was fetched (a page) and then discarded for its two halves.
        #expect(stats.windows > 3 && stats.pages > stats.windows)
        #expect(stats.processed == 40 && stats.published == 40)
        #expect(Set(try h.waitForCalls(source: "five9", count: 40).keys) == Self.ids(h))
        // The split windows meet without overlap: no call was read twice.
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == 40)
    }

    @Test("the next run re-reads the lookback: a call added late inside it is picked up; the high-water mark advances")
    func incremental() throws {
        let h = try PollHarness(Self.sandbox(calls: 20))
        defer { h.stop() }
        let domain = h.sandbox.accounts(vendor: .five9)[0].id
        let hwmKey = "poll/five9/f9-test/\(domain)/calls/hwm"
        let source = Self.source(h)
        try h.callPoller(source, start: Self.may1, lookback: .seconds(3600)).sync(now: Self.may4)
        _ = try h.waitForCalls(source: "five9", count: 20)
        #expect(try h.store.value(for: hwmKey) == String(Self.may4.millisecondsSinceEpoch))

        // Late: it started before the mark (inside the lookback) but the vendor shows it only now.
        let late = h.sandbox.addCall(vendor: .five9, account: domain, at: Self.may4.adding(seconds: -1800))
        h.sandbox.clearRequests()
        let now = Self.may4.adding(seconds: 3600)
        let second = try h.callPoller(source, start: Self.may1, lookback: .seconds(3600)).sync(now: now)
        // One window (mark − 1 h … now) = one report.
        #expect(second.windows == 1 && second.pages == 1)
        let inOverlap = h.sandbox.calls(vendor: .five9).filter { $0.startedAt >= Self.may4.adding(seconds: -3600) && $0.startedAt < now }
        #expect(second.processed == inOverlap.count && second.processed < 20)
        let rows = try h.waitForCalls(source: "five9", count: 21)
        #expect(rows.count == 21 && rows[late.id] != nil)
        #expect(try h.store.value(for: hwmKey) == String(now.millisecondsSinceEpoch))
    }

    @Test("runReport limited to 3 per 4 s in the sandbox and in the client: the poller waits, never over the limit, completes")
    func clientRespectsRunReportLimit() throws {
        let serverLimit = SandboxRateLimit(windows: [.init(limit: 3, period: .seconds(4))], sendsRetryAfter: false)
        let h = try PollHarness(Self.sandbox(calls: 30, to: Self.may1.adding(seconds: 7 * 86_400), runReportLimit: serverLimit))
        defer { h.stop() }
        let source = Self.source(h, runReportLimits: [.init(limit: 3, period: .seconds(4))])
        let stats = try h.callPoller(source, start: Self.may1).sync(now: Self.may1.adding(seconds: 7 * 86_400))
        #expect(stats.windows == 7 && stats.published == 30)
        #expect(try h.waitForCalls(source: "five9", count: 30).count == 30)
        // Seven report runs (one per window), more than two windows' worth of the server's budget, and
        // not one refused: the client waited instead (without it the server refuses, as the next test shows).
        let requests = h.sandbox.requests(for: .five9)
        #expect(requests.count >= 21)
        #expect(requests.allSatisfy { $0.outcome == .served && $0.status == 200 })
    }

    @Test("a server stricter than the client: limit faults are waited out and retried; the poll completes with every call once")
    func serverLimitFaultsAreRetried() throws {
        let serverLimit = SandboxRateLimit(windows: [.init(limit: 2, period: .seconds(3))], sendsRetryAfter: false)
        let h = try PollHarness(Self.sandbox(calls: 25, to: Self.may1.adding(seconds: 5 * 86_400), runReportLimit: serverLimit))
        defer { h.stop() }
        let source = Self.source(h, runReportLimits: [.perMinute(1000)], limitRetryDelay: .seconds(1))
        let stats = try h.callPoller(source, start: Self.may1).sync(now: Self.may1.adding(seconds: 5 * 86_400))
        #expect(stats.windows == 5 && stats.published == 25 && stats.rejected == 0)
        let rows = try h.waitForCalls(source: "five9", count: 25)
        #expect(Set(rows.keys) == Self.ids(h))
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == 25)
        let refused = h.sandbox.requests(for: .five9).filter { $0.outcome == .overBudget }
        #expect(!refused.isEmpty && refused.allSatisfy { $0.status == 500 })
    }

    @Test("a row whose TIMESTAMP does not parse goes to the dead-letter topic; the rest of its report loads")
    func oddRowToDeadLetters() throws {
        let h = try PollHarness(Self.sandbox(calls: 12, odd: 1))
        defer { h.stop() }
        let odd = try #require(h.sandbox.calls(vendor: .five9).first { $0.oddity != nil })
        let stats = try h.callPoller(Self.source(h), start: Self.may1).sync(now: Self.may4)
        #expect(stats.rejected == 1 && stats.published == 11)
        let letters = try h.deadLetters(expecting: 1)
        #expect(letters.count == 1)
        #expect(letters.first?.reason.contains("TIMESTAMP") == true)
        #expect(letters.first?.body.contains("\"CALL ID\":\"\(odd.id)\"") == true)
        let rows = try h.waitForCalls(source: "five9", count: 11)
        #expect(Set(rows.keys) == Self.ids(h).subtracting([odd.id]))
        // Its report (its day's window) held other calls, which loaded.
        let day = odd.startedAt.utcComponents.day
        #expect(h.sandbox.calls(vendor: .five9).contains { $0.id != odd.id && $0.startedAt.utcComponents.day == day && rows[$0.id] != nil })
    }

    @Test("a wrong password stops the run with a credentials error naming username/password")
    func refusedCredentials() throws {
        let h = try PollHarness(Self.sandbox(calls: 5))
        defer { h.stop() }
        let poller = h.callPoller(Self.source(h, password: "wrong-password"), start: Self.may1)
        let error = try #require(throws: PollError.self) { try poller.sync(now: Self.may4) }
        #expect(error.kind == .credentials)
        #expect(error.reason.contains("401") && error.reason.contains("sources.five9[f9-test].poll.username/password"))
        #expect(!error.reason.contains("wrong-password"))
        #expect(h.sandbox.requests(for: .five9).map(\.status) == [401])
    }

    @Test("an unknown report is a permanent fault: a vendor error with the faultstring, no retries")
    func unknownReport() throws {
        let h = try PollHarness(Self.sandbox(calls: 5))
        defer { h.stop() }
        let poller = h.callPoller(Self.source(h, reportName: "No Such Report"), start: Self.may1)
        let error = try #require(throws: PollError.self) { try poller.sync(now: Self.may4) }
        #expect(error.kind == .vendor)
        #expect(error.reason.contains("No Such Report") && error.reason.contains("runReport"))
        #expect(h.sandbox.requests(for: .five9).map(\.status) == [500])
    }
}
