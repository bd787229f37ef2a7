import CallFeedTestSupport
import Foundation
import HTTPClient
import Testing

/// Scenario 4: the warehouse goes away (PostgreSQL stopped for 20 s) while webhooks keep arriving.
extension FaultSuite {
@Suite struct WarehouseRestartTests {
    @Test func postgresStoppedForTwentySeconds() throws {
        guard let warehouse = TestServers.postgresRestartable, let control = TestServers.postgresRestartableControl else {
            if TestServers.required { Issue.record("no restartable PostgreSQL: scripts/test.sh starts one") }
            return
        }
        let stack = try FaultStack(warehouse: warehouse)
        defer { stack.tearDown() }
        let vendor = try stack.startWebhookPipeline()

        let deliveries = WebhookVendor.plan(calls: 600, resends: 100, updates: 100)
        // Two senders: deliveries go on while the warehouse is down.
        let group = vendor.deliverInBackground(deliveries, concurrency: 2)

        #expect(waitUntil(.seconds(60)) { stack.calls().count >= 50 })
        let rowsAtStop = stack.calls().count
        #expect(Self.run(control, "stop") == 0)
        Thread.sleep(forTimeInterval: 20)
        let acknowledgedDuringOutage = vendor.acknowledgedCount
        let retries = Self.metric("callfeed_load_retries_total", at: stack.loadMetricsAddress())
        #expect(Self.run(control, "start") == 0)
        let faultEnded = ContinuousClock.now
        group.wait()
        let vendorDone = ContinuousClock.now - faultEnded

        // The loader kept running, retried instead of dead-lettering, and caught up.
        #expect(stack.load?.isRunning == true)
        #expect((retries ?? 0) > 0, "no retries counted while the warehouse was down")
        let expectation = Expectation(deliveries, vendor.results)
        var figures = Conservation.Figures(scenario: "4 PostgreSQL stopped for 20 s while loading")
        figures.add("rows_when_stopped", rowsAtStop)
        figures.add("acknowledged_by_end_of_outage", acknowledgedDuringOutage)
        figures.add("loader_retries_during_outage", Int(retries ?? 0))
        figures.add("vendor_done_seconds_after_fault", String(format: "%.1f", Conservation.seconds(vendorDone)))
        try Conservation.check(stack, expectation, deliveries: deliveries.count, since: faultEnded, figures: &figures)
        #expect(stack.terminate(stack.load) == 0)
        #expect(stack.terminate(stack.ingest) == 0)
    }

    static func run(_ script: String, _ argument: String) -> Int32 {
        runToCompletion(["/bin/sh", script, argument])
    }

    /// The sum of a Prometheus series' samples at `address`/metrics.
    static func metric(_ name: String, at address: String?) -> Double? {
        guard let address, let response = try? HTTPClient().request("GET", "http://\(address)/metrics") else { return nil }
        return response.bodyText.split(separator: "\n")
            .filter { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0, +)
    }
}
}
