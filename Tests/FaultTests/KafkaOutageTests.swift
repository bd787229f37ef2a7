import CallFeedTestSupport
import Foundation
import Testing

/// Scenario 1: every Kafka broker down for 30 s in the middle of a webhook flood.
extension FaultSuite {
@Suite struct KafkaOutageTests {
    @Test func brokersDownForThirtySecondsDuringAWebhookFlood() throws {
        guard let warehouse = FaultStack.sharedWarehouse() else { return }
        let stack = try FaultStack(warehouse: warehouse)
        defer { stack.tearDown() }
        let vendor = try stack.startWebhookPipeline()

        let deliveries = WebhookVendor.plan(calls: 1200, resends: 200, updates: 200)
        let group = vendor.deliverInBackground(deliveries, concurrency: 16)

        // A third in, Kafka goes away for 30 s.
        #expect(waitUntil(.seconds(60)) { vendor.acknowledgedCount >= deliveries.count / 3 })
        stack.kafka.command("down all")
        let acknowledgedAtOutage = vendor.acknowledgedCount
        Thread.sleep(forTimeInterval: 30)
        let acknowledgedDuringOutage = vendor.acknowledgedCount - acknowledgedAtOutage
        stack.kafka.command("up all")
        let faultEnded = ContinuousClock.now
        group.wait()
        let vendorDone = ContinuousClock.now - faultEnded

        let expectation = Expectation(deliveries, vendor.results)
        // While no broker was up nothing could be acknowledged; the refused ones were answered
        // 503 and retried by the vendor.
        #expect(expectation.statuses[503, default: 0] > 0, "the outage never showed: \(expectation.statusSummary)")
        var figures = Conservation.Figures(scenario: "1 Kafka brokers down 30 s during a webhook flood")
        figures.add("acknowledged_while_brokers_down", acknowledgedDuringOutage)
        figures.add("vendor_done_seconds_after_fault", String(format: "%.1f", Conservation.seconds(vendorDone)))
        try Conservation.check(stack, expectation, deliveries: deliveries.count, since: faultEnded, figures: &figures)
        #expect(stack.terminate(stack.ingest) == 0)
        #expect(stack.terminate(stack.load) == 0)
    }
}
}
