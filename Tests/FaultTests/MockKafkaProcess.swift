import CallFeedCore
import CallFeedTestSupport
import Foundation
import Testing

/// `callfeed mock-kafka` as a child process: the Kafka cluster every executable of a scenario talks
/// to, outside all of them, so that a test can take its brokers down, slow them or make their
/// requests fail while ingest and load keep running (and a killed executable does not take Kafka
/// with it).
final class MockKafkaProcess: Sendable {
    let child: ChildProcess
    let bootstrapServers: String

    init(brokers: Int = 3, partitions: Int = 4) throws {
        let child = try ChildProcess("callfeed", arguments: ["mock-kafka", "--brokers", "\(brokers)", "--partitions", "\(partitions)"])
        self.child = child
        #expect(waitUntil(.seconds(20)) { child.stdout.value.contains("\n") }, "mock-kafka did not start: \(child.stderr.value)")
        let first = try #require(child.stdout.lines.first)
        bootstrapServers = try #require(try JSONValue.parse(Array(first.utf8))["bootstrap_servers"]?.text)
    }

    /// Sends one command (`down all`, `up all`, `errors 0 20 NOT_LEADER_FOR_PARTITION`, `rtt all 500`)
    /// and waits for its `ok`.
    func command(_ line: String) {
        let ok = "ok \(line)"
        let before = child.stdout.lines.count { $0 == ok }
        child.write(line: line)
        #expect(waitUntil(.seconds(10)) { self.child.stdout.lines.count { $0 == ok } > before },
                "mock-kafka: \(child.stdout.value.suffix(500))")
    }

    func stop() { child.killHard() }
}
