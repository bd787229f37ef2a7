import CallFeedTestSupport
import Foundation
import Testing

/// Scenario 2: `callfeed-load` SIGKILLed mid-batch, ten times in a row, while it loads.
extension FaultSuite {
@Suite struct LoaderCrashTests {
    @Test func loaderKilledTenTimesWhileLoading() throws {
        guard let warehouse = FaultStack.sharedWarehouse() else { return }
        // Small batches, so a kill lands between many transactions and inside some.
        let stack = try FaultStack(warehouse: warehouse, batchSize: 25)
        defer { stack.tearDown() }
        let address = try stack.startIngest()

        // The topic fills first (no loader yet), so every loader start has a backlog to chew on.
        let deliveries = WebhookVendor.plan(calls: 3000, resends: 600, updates: 600)
        let vendor = WebhookVendor(address: address)
        vendor.deliver(deliveries, concurrency: 16)
        let expectation = Expectation(deliveries, vendor.results)

        var kills = 0
        var rowsAtKills: [Int] = []
        for _ in 0..<10 {
            let before = stack.calls().count
            try stack.startLoad()
            // Killed as soon as this loader has committed something: it is then in its stream
            // of batches (the next one being read, written or committed). Joining the group takes
            // up to the dead member's session timeout (6 s here).
            let grew = waitUntil(.seconds(60)) { stack.calls().count > before }
            #expect(grew, "loader \(kills + 1) loaded nothing in 60 s: \(stack.load?.stderr.value.suffix(1500) ?? "")")
            guard grew else { break }
            Thread.sleep(forTimeInterval: Double.random(in: 0...0.1))
            stack.load?.killHard()
            kills += 1
            rowsAtKills.append(stack.calls().count)
        }
        #expect(kills == 10)
        // If the backlog ran out before the tenth kill, the scenario proved less.
        #expect(rowsAtKills.last.map { $0 < expectation.latest.count } == true,
                "the backlog was loaded before the tenth kill: \(rowsAtKills)")

        let restarted = ContinuousClock.now
        try stack.startLoad()
        var figures = Conservation.Figures(scenario: "2 callfeed-load SIGKILLed 10 times while loading")
        figures.add("kills", kills)
        figures.add("rows_at_each_kill", rowsAtKills.map(String.init).joined(separator: " "))
        try Conservation.check(stack, expectation, deliveries: deliveries.count, since: restarted, figures: &figures)
        #expect(stack.terminate(stack.load) == 0)
        #expect(stack.terminate(stack.ingest) == 0)
    }
}
}
