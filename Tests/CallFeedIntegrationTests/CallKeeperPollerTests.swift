import CallFeedCore
import CallFeedPoll
import Foundation
import HTTPClient
import Testing
import VendorSandbox
@_spi(Testing) import Warehouse

/// The CallKeeper call poller against the sandbox's CallKeeper export API (pages from 0, errors
/// with HTTP 200, the key in the URL), publishing into the in-process spine and loading SQLite.
@Suite(.serialized) struct CallKeeperPollerTests {
    static let may1 = Timestamp(year: 2024, month: 5, day: 1)!
    static let may4 = Timestamp(year: 2024, month: 5, day: 4)!
    /// The account id the Pipeline's CallKeeper webhook source is configured with: polled and
    /// hooked calls of one account share it, so their event_ids agree.
    static let account = "acct-ck"

    static func sandbox(calls: Int = 30, odd: Int = 0, pageSize: Int = 4) -> SandboxConfiguration {
        SandboxConfiguration(seed: 11, accounts: 1, callsPerAccount: calls, from: may1, to: may4, oddRecords: odd,
                             oddKinds: [.unparseableTime], callKeeperPageSize: pageSize)
    }

    static func source(_ h: PollHarness, key: String = "ckuser0000000001") -> CallKeeperCallSource {
        CallKeeperCallSource(name: "ck-test", baseURL: h.sandbox.baseURL(for: .callkeeper), apiKey: key, method: .get,
                             accountID: account)
    }

    /// The `source_call_id` the mapping gives each sandbox call (cbCallId for callback calls,
    /// `ct:` / `u:` prefixed ids otherwise).
    static func expectedIDs(_ h: PollHarness, excluding: Set<String> = []) -> Set<String> {
        Set(h.sandbox.calls(vendor: .callkeeper).filter { !excluding.contains($0.id) }.map { call in
            if let cb = call.record["cbCallId"]?.integer, cb > 0 { return String(cb) }
            if let ct = call.record["ctCallId"]?.integer, ct > 0 { return "ct:\(ct)" }
            return "u:\(call.record["universalId"]?.text ?? "")"
        })
    }

    @Test("a multi-page sync from page 0 lands every call exactly once; 'Incorrect page is set' ends the list")
    func multiPageSync() throws {
        let h = try PollHarness(Self.sandbox())
        defer { h.stop() }
        let stats = try h.callPoller(Self.source(h), start: Self.may1).sync(now: Self.may4)

        let expected = Self.expectedIDs(h)
        #expect(expected.count == 30)
        let rows = try h.waitForCalls(source: "callkeeper", count: 30)
        #expect(Set(rows.keys) == expected)
        #expect(stats.published == 30 && stats.rejected == 0)
        let requests = h.sandbox.requests(for: .callkeeper)
        #expect(requests.count == stats.pages)
        #expect(requests.contains { $0.query.keys.contains { $0.contains("/call/get/0/") } })
        #expect(requests.contains { $0.query.keys.contains { $0.contains("/call/get/2/") } })
    }

    @Test("the incremental run after it reads only the overlap and loads a call added since")
    func incrementalOverlap() throws {
        let h = try PollHarness(Self.sandbox())
        defer { h.stop() }
        try h.callPoller(Self.source(h), start: Self.may1, lookback: .seconds(1800)).sync(now: Self.may4)
        _ = try h.waitForCalls(source: "callkeeper", count: 30)
        let sandboxAccount = h.sandbox.accounts(vendor: .callkeeper)[0].id
        _ = h.sandbox.addCall(vendor: .callkeeper, account: sandboxAccount, at: Self.may4.adding(seconds: -600))
        h.sandbox.clearRequests()

        try h.callPoller(Self.source(h), start: Self.may1, lookback: .seconds(1800)).sync(now: Self.may4.adding(seconds: 60))
        // Every request's `from` is the mark minus 30 minutes: Unix seconds in the route.
        let from = String(Self.may4.adding(seconds: -1800).secondsSinceEpoch)
        let routes = h.sandbox.requests(for: .callkeeper).flatMap { $0.query.keys }
        #expect(!routes.isEmpty)
        #expect(routes.allSatisfy { $0.contains("/\(from)/") })
        #expect(try h.waitForCalls(source: "callkeeper", count: 31).count == 31)
    }

    @Test("a callback call delivered by AFTER_CALL_FINISH webhook and then by poll is one row")
    func webhookThenPoll() throws {
        let h = try PollHarness(Self.sandbox(calls: 12))
        defer { h.stop() }
        let callbacks = Array(h.sandbox.calls(vendor: .callkeeper).filter { $0.record["serviceType"]?.text == "callback" }.prefix(2))
        #expect(callbacks.count == 2)
        let url = h.pipeline.baseURL + "/webhooks/callkeeper?token=\(Pipeline.callKeeperToken)"
        #expect(try h.sandbox.fireWebhooks(vendor: .callkeeper, to: url, calls: callbacks) == [202, 202])
        let hooked = try h.waitForCalls(source: "callkeeper", count: 2)
        #expect(hooked.count == 2)

        try h.callPoller(Self.source(h), start: Self.may1).sync(now: Self.may4)
        let rows = try h.waitForCalls(source: "callkeeper", count: 12)
        #expect(rows.count == 12)
        for (id, row) in hooked { #expect(rows[id]?["event_id"] == row["event_id"]) }
    }

    @Test("an unparseable callTime is dead-lettered with its reason; the rest of the page loads")
    func oddRecordToDeadLetters() throws {
        let h = try PollHarness(Self.sandbox(calls: 10, odd: 1, pageSize: 100))
        defer { h.stop() }
        let odd = Set(h.sandbox.calls(vendor: .callkeeper).filter { $0.oddity != nil }.map(\.id))
        #expect(odd.count == 1)
        let stats = try h.callPoller(Self.source(h), start: Self.may1).sync(now: Self.may4)
        #expect(stats.rejected == 1 && stats.published == 9)
        #expect(Set(try h.waitForCalls(source: "callkeeper", count: 9).keys) == Self.expectedIDs(h, excluding: odd))
        let letters = try h.deadLetters(expecting: 1)
        #expect(letters.count == 1)
        #expect(letters.first?.reason.contains("callTime") == true)
    }

    @Test("an unknown key is a credentials error naming the config key, never the key itself")
    func unknownKey() throws {
        let h = try PollHarness(Self.sandbox(calls: 3))
        defer { h.stop() }
        let error = try #require(throws: PollError.self) {
            try h.callPoller(Self.source(h, key: "ckwrong000000001"), start: Self.may1).sync(now: Self.may4)
        }
        #expect(error.kind == .credentials)
        #expect(error.reason.contains("sources.callkeeper[ck-test].poll.api_key"))
        #expect(!error.reason.contains("ckwrong000000001"))
    }

    @Test("5xx answers are retried; a stop mid-pagination resumes at the next page with no gap")
    func retriesAndResume() throws {
        let h = try PollHarness(Self.sandbox())
        defer { h.stop() }
        h.sandbox.faults.fail(vendor: .callkeeper, status: 503, count: 2)
        let first = h.callPoller(Self.source(h), start: Self.may1)
        let pages = PageCounter(stopAfter: 3)
        first.isCancelled = { pages.tick() }
        #expect(throws: PollError.self) { try first.sync(now: Self.may4) }
        #expect(h.sandbox.requests(for: .callkeeper).filter { $0.status == 503 }.count == 2)
        h.sandbox.clearRequests()

        try h.callPoller(Self.source(h), start: Self.may1).sync(now: Self.may4)
        #expect(h.sandbox.requests(for: .callkeeper).first?.query.keys.contains { $0.contains("/call/get/3/") } == true)
        #expect(Set(try h.waitForCalls(source: "callkeeper", count: 30).keys) == Self.expectedIDs(h))
    }
}
