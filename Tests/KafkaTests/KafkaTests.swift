import Foundation
import Kafka
import Testing

/// Producer, consumer group and manual commits against librdkafka's mock cluster (real protocol
/// on 127.0.0.1).
@Suite struct KafkaTests {
    @Test func produceConsumeCommitAndHeaders() async throws {
        let cluster = try KafkaMockCluster(brokers: 3)
        try cluster.createTopic("t.calls", partitions: 3)
        let producer = try KafkaProducer(properties: ["bootstrap.servers": cluster.bootstrapServers])
        var reports: [DeliveryReport] = []
        for i in 0..<30 {
            let r = try await producer.send(topic: "t.calls", key: Array("key-\(i % 5)".utf8), value: Array("value-\(i)".utf8),
                                            headers: [("source", "test"), ("n", String(i))])
            reports.append(r)
        }
        #expect(reports.allSatisfy { $0.topic == "t.calls" && $0.offset >= 0 })
        // Same key, same partition.
        let byKey = Dictionary(grouping: reports.enumerated(), by: { $0.offset % 5 }).mapValues { Set($0.map { $0.element.partition }) }
        #expect(byKey.values.allSatisfy { $0.count == 1 })
        producer.close()

        let consumer = try KafkaConsumer(groupID: "g1", properties: ["bootstrap.servers": cluster.bootstrapServers])
        try consumer.subscribe(["t.calls"])
        var seen: [String: KafkaMessage] = [:]
        let deadline = ContinuousClock.now + .seconds(20)
        while seen.count < 30 && ContinuousClock.now < deadline {
            if let m = try consumer.poll(timeoutMilliseconds: 200) { seen[String(decoding: m.value, as: UTF8.self)] = m }
        }
        #expect(seen.count == 30)
        let m7 = try #require(seen["value-7"])
        #expect(m7.header("source") == "test")
        #expect(m7.header("n") == "7")
        #expect(m7.key.map { String(decoding: $0, as: UTF8.self) } == "key-2")

        // Commit the next offset per partition and read it back.
        var next: [Int32: Int64] = [:]
        for m in seen.values { next[m.partition] = max(next[m.partition] ?? 0, m.offset + 1) }
        try consumer.commit(next.map { TopicPartitionOffset(topic: "t.calls", partition: $0.key, offset: $0.value) })
        let committed = try consumer.committed(topic: "t.calls", partitions: [0, 1, 2])
        for (p, o) in next { #expect(committed[p] == o) }
        #expect(next.values.reduce(0, +) == 30)
        consumer.close()
        withExtendedLifetime(cluster) {}
    }

    @Test func deliveryFailsWithinMessageTimeoutWhenBrokersAreDown() async throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        try cluster.createTopic("t.down", partitions: 1)
        let producer = try KafkaProducer(properties: ["bootstrap.servers": cluster.bootstrapServers,
                                                      "message.timeout.ms": "1500"])
        _ = try await producer.send(topic: "t.down", key: nil, value: Array("up".utf8))
        cluster.setBroker(1, up: false)
        await #expect(throws: KafkaError.self) {
            _ = try await producer.send(topic: "t.down", key: nil, value: Array("down".utf8))
        }
        cluster.setBroker(1, up: true)
        producer.close(flushTimeoutMilliseconds: 100)
        withExtendedLifetime(cluster) {}
    }

    @Test func invalidPropertyIsNamed() {
        #expect {
            _ = try KafkaProducer(properties: ["no.such.property": "1"])
        } throws: { error in
            (error as? KafkaError)?.reason.contains("no.such.property") == true
        }
    }
}
