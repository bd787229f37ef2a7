import Foundation
import Kafka
import Synchronization
import Testing

/// The embedded mode's back-pressure (``BacklogGate``): alone, then in front of the mock cluster,
/// whose 5 MiB-per-partition retention deletes unread messages when nothing holds the producer back.
@Suite struct BacklogGateTests {
    @Test func admitsWithinTheLimitAndFreesWhatTheLoaderCommitted() {
        let gate = BacklogGate(limitBytes: 1_000, topics: ["calls"])
        #expect(gate.admit(topic: "calls", bytes: 600))
        #expect(!gate.admit(topic: "calls", bytes: 600), "in flight counts before the acknowledgement")
        #expect(gate.admit(topic: "raw", bytes: 10_000), "topics the loader does not read pass")
        gate.delivered(DeliveryReport(topic: "calls", partition: 0, offset: 0), bytes: 600)
        #expect(gate.snapshot == .init(pendingBytes: 0, largestPartitionBytes: 600, refused: 1, waited: 0))
        #expect(gate.admit(topic: "calls", bytes: 400))
        gate.delivered(DeliveryReport(topic: "calls", partition: 1, offset: 0), bytes: 400)
        #expect(!gate.admit(topic: "calls", bytes: 401), "600 on the fullest partition + 401 > 1000")
        gate.loaded([TopicPartitionOffset(topic: "calls", partition: 0, offset: 1)])
        #expect(gate.snapshot.largestPartitionBytes == 400)
        #expect(gate.admit(topic: "calls", bytes: 600))
        gate.undelivered(topic: "calls", bytes: 600)
        #expect(gate.snapshot.pendingBytes == 0)
        // Nothing outstanding: even an oversized message goes (no deadlock on one big record).
        gate.loaded([TopicPartitionOffset(topic: "calls", partition: 1, offset: 1)])
        #expect(gate.admit(topic: "calls", bytes: 5_000))
    }

    /// Plain threads and sleeps, not the cooperative pool: with the whole suite running on 2 cores
    /// an async sleep of 300 ms once took longer than the publisher's patience.
    @Test func aWaitingPublisherResumesWhenTheLoaderCommits() {
        let gate = BacklogGate(limitBytes: 1_000, topics: ["calls"])
        #expect(gate.admit(topic: "calls", bytes: 900))
        gate.delivered(DeliveryReport(topic: "calls", partition: 0, offset: 41), bytes: 900)
        let admitted = Mutex<Bool?>(nil)
        let thread = Thread {
            let result = gate.admit(topic: "calls", bytes: 500, waiting: .seconds(600))
            admitted.withLock { $0 = result }
        }
        thread.start()
        let waitingDeadline = Date().addingTimeInterval(120)
        while gate.snapshot.waited == 0 && Date() < waitingDeadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(gate.snapshot.waited == 1, "the publisher is waiting")
        Thread.sleep(forTimeInterval: 0.2)
        #expect(admitted.withLock { $0 } == nil, "still waiting: the loader has not committed")
        gate.loaded([TopicPartitionOffset(topic: "calls", partition: 0, offset: 42)])
        let deadline = Date().addingTimeInterval(120)
        while admitted.withLock({ $0 }) == nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        #expect(admitted.withLock { $0 } == true)
        #expect(!gate.admit(topic: "calls", bytes: 600, waiting: .milliseconds(200)), "gives up after its patience")
        #expect(gate.snapshot.waited == 2)
    }

    /// 20 MB into one partition of the mock with a consumer that commits slowly: without the gate
    /// the mock deletes the oldest; with it the producer is held back and the consumer reads every
    /// message exactly at the offsets acknowledged.
    @Test func theMockKeepsEveryUnreadMessageBehindTheGate() throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        try cluster.createTopic("gated", partitions: 1)
        let gate = BacklogGate(limitBytes: 2 * 1024 * 1024, topics: ["gated"])
        let producer = try KafkaProducer(properties: ["bootstrap.servers": cluster.bootstrapServers, "linger.ms": "5"], gate: gate)
        defer { producer.close() }
        let consumer = try KafkaConsumer(groupID: "gate-reader", properties: ["bootstrap.servers": cluster.bootstrapServers,
                                                                              "auto.offset.reset": "earliest"])
        defer { consumer.close() }
        try consumer.subscribe(["gated"])
        let count = 2_000
        let value = [UInt8](repeating: 0x61, count: 10_000)
        let acknowledged = Mutex(0)
        let producing = Thread {
            for i in 0..<count {
                try? producer.produce(topic: "gated", key: Array("k\(i)".utf8), value: value, whenFull: .wait(.seconds(60))) { result in
                    if case .success = result { acknowledged.withLock { $0 += 1 } }
                }
            }
        }
        producing.start()
        var offsets: [Int64] = []
        let deadline = ContinuousClock.now + .seconds(120)
        while offsets.count < count && ContinuousClock.now < deadline {
            guard let message = try consumer.poll(timeoutMilliseconds: 200) else { continue }
            offsets.append(message.offset)
            if offsets.count % 50 == 0 {
                Thread.sleep(forTimeInterval: 0.02)  // a slow loader
                gate.loaded([TopicPartitionOffset(topic: "gated", partition: 0, offset: message.offset + 1)])
            }
        }
        #expect(offsets == Array(0..<Int64(count)), "every message read once, in order, none deleted by retention")
        #expect(acknowledged.withLock { $0 } == count)
        #expect(gate.snapshot.waited > 0, "20 MB through a 2 MB gate must have waited")
        #expect(gate.snapshot.largestPartitionBytes <= 2 * 1024 * 1024)
    }
}
