import CallFeedCore
import CallFeedTestSupport
import Foundation
import Testing

extension FaultSuite {
/// Scenarios 3 and 5: a CTM poller inside `callfeed-ingest` paging through `callfeed-sandbox`.
@Suite struct PollFaultTests {
    /// The CTM poll source for `sandbox`, reading its whole date range in 7-day windows.
    static func ctmPollSource(_ sandbox: SandboxProcess, rateLimits: String = "[\"1000/hour\"]",
                              maxRetries: Int = 3, timeoutSeconds: Int = 30) throws -> String {
        let ctm = try #require(sandbox.vendor("ctm"))
        let base = try #require(ctm["base_url"]?.text)
        let key = try #require(ctm["credentials"]?["access_key"]?.text)
        let start = try #require(sandbox.info["from"]?.text?.prefix(10))
        // The secret key comes from the environment (CTM_POLL_SECRET), as it would in production.
        return """
          ctm:
            - name: ctm-sandbox
              poll: {base_url: "\(base)", access_key: "\(key)", secret_key: "${CTM_POLL_SECRET}", start: "\(start)",
                     chunk_days: 7, interval_seconds: 5, lookback_hours: 1, entities: [],
                     rate_limits: \(rateLimits), max_retries: \(maxRetries), timeout_seconds: \(timeoutSeconds)}
        """
    }

    /// Calls-page requests (`/accounts/<id>/calls?...page=N`) the sandbox answered 200.
    static func servedPages(_ requests: [JSONValue]) -> [String] {
        requests.filter { ($0["target"]?.text ?? "").contains("/calls?") && $0["status"]?.integer == 200 }
            .compactMap { $0["target"]?.text }
    }

    @Test func ingestKilledMidPaginationResumesFromItsCheckpoint() throws {
        guard let warehouse = FaultStack.sharedWarehouse() else { return }
        // 2 accounts x 1,500 calls over 7 days: 10 pages of 150 per account.
        let sandbox = try SandboxProcess(arguments: ["--seed", "11", "--accounts", "2", "--calls-per-account", "1500"])
        defer { sandbox.stop() }
        let secret = try #require(sandbox.vendor("ctm")?["credentials"]?["secret_key"]?.text)
        let stack = try FaultStack(warehouse: warehouse, sources: try Self.ctmPollSource(sandbox),
                                   extraEnvironment: ["CTM_POLL_SECRET": secret])
        defer { stack.tearDown() }
        try stack.startLoad()
        try stack.startIngest()

        // Killed once a few pages are in: the page in hand is lost with the process.
        #expect(waitUntil(.seconds(60)) { ((try? Self.servedPages(sandbox.requests("ctm")))?.count ?? 0) >= 6 })
        stack.ingest?.killHard()
        let pagesBeforeKill = try Self.servedPages(sandbox.requests("ctm"))
        let rowsAtKill = stack.callIDs(source: "ctm").count
        try sandbox.call("DELETE", "requests")

        let restarted = ContinuousClock.now
        try stack.startIngest()
        let expected = Set(try sandbox.callIDs("ctm"))
        #expect(expected.count == 3000)
        let complete = waitUntil(.seconds(120)) { Set(stack.callIDs(source: "ctm").keys) == expected }
        let converge = ContinuousClock.now - restarted
        let loaded = stack.callIDs(source: "ctm")
        #expect(complete, "\(expected.subtracting(loaded.keys).count) calls missing after the restart")
        #expect(loaded.values.allSatisfy { $0 == 1 })
        // Each call was loaded as one revision: the pages read twice (the one in hand at the kill)
        // changed nothing.
        #expect(stack.revisions().count == expected.count)

        // Resumed, not restarted: the first page read after the restart is not page 1 of the
        // first window, and fewer pages were read after the restart than a full run needs.
        let pagesAfter = try Self.servedPages(sandbox.requests("ctm"))
        #expect(pagesAfter.first != pagesBeforeKill.first, "restarted from the first page: \(pagesAfter.first ?? "")")
        #expect(pagesAfter.count < 20, "read \(pagesAfter.count) pages after the restart; a full run is 20")

        var figures = Conservation.Figures(scenario: "3 callfeed-ingest SIGKILLed mid-pagination of a CTM poll")
        figures.add("calls_at_vendor", expected.count)
        figures.add("pages_before_kill", pagesBeforeKill.count)
        figures.add("rows_at_kill", rowsAtKill)
        figures.add("pages_after_restart", pagesAfter.count)
        figures.add("first_page_after_restart", pagesAfter.first ?? "")
        figures.add("rows_calls", loaded.count)
        figures.add("rows_call_revisions", stack.revisions().count)
        figures.add("converged_seconds_after_restart", String(format: "%.1f", Conservation.seconds(converge)))
        let deadLetters = try stack.deadLetters(stage: "load")
        #expect(deadLetters.isEmpty)
        figures.report()
        #expect(stack.terminate(stack.ingest) == 0)
        #expect(stack.terminate(stack.load) == 0)
    }

    @Test func vendorStormsOf429And5xxAndTimeouts() throws {
        guard let warehouse = FaultStack.sharedWarehouse() else { return }
        // The vendor's real limit is 120 requests a minute; on top of it 15 % of requests get a
        // 429 storm answer, 10 % a 5xx, 10 % an answer after 3 s (longer than our 2 s timeout).
        let sandbox = try SandboxProcess(arguments: [
            "--seed", "12", "--accounts", "2", "--calls-per-account", "3000", "--rate-limit", "ctm=120/60",
            "--chaos-storm-rate", "0.15", "--chaos-fail-rate", "0.1", "--chaos-slow-rate", "0.1",
            "--chaos-slow-ms", "3000", "--chaos-seed", "5",
        ])
        defer { sandbox.stop() }
        let secret = try #require(sandbox.vendor("ctm")?["credentials"]?["secret_key"]?.text)
        let stack = try FaultStack(warehouse: warehouse,
                                   sources: try Self.ctmPollSource(sandbox, rateLimits: "[\"100/minute\"]",
                                                                   maxRetries: 8, timeoutSeconds: 2),
                                   extraEnvironment: ["CTM_POLL_SECRET": secret])
        defer { stack.tearDown() }
        try stack.startLoad()
        let started = ContinuousClock.now
        try stack.startIngest()

        let expected = Set(try sandbox.callIDs("ctm"))
        let complete = waitUntil(.seconds(180)) { Set(stack.callIDs(source: "ctm").keys) == expected }
        let converge = ContinuousClock.now - started
        #expect(complete, "\(expected.subtracting(stack.callIDs(source: "ctm").keys).count) calls missing")
        #expect(stack.revisions().count == expected.count)

        let stats = try sandbox.call("GET", "stats")["vendors"]?["ctm"]
        let overBudget = stats?["over_budget"]?.integer ?? -1
        let storms = stats?["injected_storms"]?.integer ?? 0
        let failures = stats?["injected_failures"]?.integer ?? 0
        let delayed = stats?["delayed"]?.integer ?? 0
        // The storms happened, and CallFeed never went over the vendor's real limit.
        #expect(storms > 0 && failures > 0 && delayed > 0, "chaos did not show: \(String(describing: stats))")
        #expect(overBudget == 0, "\(overBudget) requests over the vendor's limit")

        var figures = Conservation.Figures(scenario: "5 vendor 429/5xx/timeout storms during a CTM poll")
        figures.add("calls_at_vendor", expected.count)
        figures.add("requests", stats?["requests"]?.integer ?? 0)
        figures.add("injected_429", storms)
        figures.add("injected_5xx", failures)
        figures.add("answers_after_timeout", delayed)
        figures.add("over_vendor_limit", overBudget)
        figures.add("rows_calls", stack.callIDs(source: "ctm").count)
        figures.add("poll_complete_seconds", String(format: "%.1f", Conservation.seconds(converge)))
        figures.report()
        #expect(stack.terminate(stack.ingest) == 0)
        #expect(stack.terminate(stack.load) == 0)
    }
}
}
