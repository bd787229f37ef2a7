import Foundation
import Kafka

/// The Kafka implementations the tests run against: a guarantee proven on one only is not proven.
/// - `mock`: librdkafka's mock cluster, in process. It alone can inject errors by API key.
/// - `tansu`: tansu 0.6.0 (an independent, Apache-Kafka-API broker) in a process of its own, with
///   its log in memory, or on S3 outside it for the tests that restart it (``TansuBroker``).
public enum TestBroker: String, Sendable, CaseIterable, CustomStringConvertible {
    case mock, tansu

    public var description: String { rawValue }

    /// The brokers a parameterised test runs on: both when tansu is installed or required
    /// (scripts/test.sh), else the mock only (a plain `swift test`).
    public static var underTest: [TestBroker] {
        TansuBroker.isAvailable || TestServers.required ? [.mock, .tansu] : [.mock]
    }
}

/// A running Kafka of one kind for one test, with what the tests do to it: create topics, take the
/// brokers down and bring them back.
public final class TestKafka: @unchecked Sendable {
    public let broker: TestBroker
    public let bootstrapServers: String
    public let mock: KafkaMockCluster?
    public let tansu: TansuBroker?

    /// - Parameters:
    ///   - mockBrokers: Brokers of the mock cluster (tansu is one broker).
    ///   - restartable: tansu keeps its log outside its process (S3), so ``takeDown()`` then
    ///     ``bringUp()`` keeps every acknowledged record; otherwise in memory, which is much faster.
    public init(_ broker: TestBroker, mockBrokers: Int32 = 1, restartable: Bool = false) throws {
        self.broker = broker
        switch broker {
        case .mock:
            let cluster = try KafkaMockCluster(brokers: mockBrokers)
            mock = cluster
            tansu = nil
            bootstrapServers = cluster.bootstrapServers
        case .tansu:
            let started = try TansuBroker(storage: restartable ? .s3 : .memory)
            tansu = started
            mock = nil
            bootstrapServers = started.bootstrapServers
        }
    }

    /// Creates the topics through the Admin API (the mock through its own call: its CreateTopics
    /// handler exists too, but its direct call sets the replication the tests ask for).
    public func createTopics(_ names: [String], partitions: Int32) throws {
        if let mock {
            for name in names { try mock.createTopic(name, partitions: partitions) }
            return
        }
        let admin = try KafkaAdmin(properties: ["bootstrap.servers": bootstrapServers])
        try admin.createTopics(names, partitions: partitions)
        // CreateTopics answers once the controller has them; wait until metadata shows them all.
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let counts = (try? admin.partitionCounts(names)) ?? [:]
            if names.allSatisfy({ counts[$0] == Int(partitions) }) { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw TansuError("topics \(names) not visible with \(partitions) partitions after CreateTopics")
    }

    /// Takes every broker down (mock: connections refused; tansu: the process SIGKILLed, its storage kept).
    public func takeDown() {
        if let mock { mock.setAllBrokers(up: false) }
        tansu?.kill()
    }

    /// Brings the brokers back (tansu: restarted on the same port and storage).
    public func bringUp() throws {
        if let mock { mock.setAllBrokers(up: true) }
        try tansu?.start()
    }

    public func shutdown() {
        tansu?.shutdown()
        withExtendedLifetime(mock) {}
    }
}
