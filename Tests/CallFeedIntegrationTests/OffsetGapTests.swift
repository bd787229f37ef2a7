import CallFeedApp
import CallFeedCore
import CallFeedTestSupport
import Foundation
import HTTPClient
import HTTPServer
import Kafka
import Logging
import Prometheus
import Synchronization
import Testing
@testable import CallFeedLoad
@_spi(Testing) import Warehouse

/// Loss is never silent (issue 15, §3): retention deletes messages the loader's group has not read
/// yet, and the loader says so: an error log naming the range, `callfeed_load_offsets_lost_total`,
/// and `/readyz` 503. librdkafka's mock cluster keeps about 5 MB per partition and drops the
/// oldest beyond that, which is exactly the retention case.
@Suite struct OffsetGapTests {
    @Test("offset continuity: in order, re-read, jump, first message against the committed offset")
    func continuity() {
        func message(_ offset: Int64, partition: Int32 = 0) -> KafkaMessage {
            KafkaMessage(topic: "t", partition: partition, offset: offset, key: nil, value: [])
        }
        var check = OffsetContinuity()
        // The first message of a partition is compared with the committed offset.
        #expect(check.check(message(5)) { 5 } == nil)
        #expect(check.check(message(6)) { Issue.record("asked for a message in order"); return nil } == nil)
        // Backwards (a re-read batch) is not a loss, and resets the expectation.
        #expect(check.check(message(3)) { nil } == nil)
        #expect(check.check(message(4)) { nil } == nil)
        // A jump nobody committed past is a loss of the offsets in between.
        #expect(check.check(message(9)) { 5 } == OffsetGap(topic: "t", partition: 0, first: 5, next: 9))
        // A jump another member loaded and committed (after a rebalance) is none.
        #expect(check.check(message(20)) { 20 } == nil)
        // A new group (nothing committed) starts wherever earliest is.
        #expect(check.check(message(100, partition: 1)) { nil } == nil)
        // Committed offset below the first message read: retention deleted 40...99.
        #expect(check.check(message(100, partition: 2)) { 40 }
                == OffsetGap(topic: "t", partition: 2, first: 40, next: 100))
        #expect(OffsetGap(topic: "t", partition: 2, first: 40, next: 100).description == "t/2 offsets 40...99 (60 messages)")
    }

    @Test("retention deletes unread messages: the loader logs the range, counts it and /readyz says 503")
    func retentionGapIsReported() async throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        defer { withExtendedLifetime(cluster) {} }
        let topics = Topics()
        for topic in topics.all { try cluster.createTopic(topic, partitions: 1) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callfeed-gap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try CallFeedConfiguration.parse("""
            kafka: {bootstrap_servers: "\(cluster.bootstrapServers)"}
            load: {batch_size: 500, linger_ms: 20, sqlite_path: "\(directory.appendingPathComponent("calls.db").path)", metrics_port: 0}
            log: {level: critical}
            """, environment: [:])
        let producer = try Builders.makeProducer(config, clientID: "gap-test")
        defer { producer.close() }
        let t0 = WarehouseFixtures.may1(10)
        func event(_ n: Int) -> CallEvent {
            // ~2.5 KB each, so that a few thousand pass the mock's ~5 MB per partition.
            WarehouseFixtures.event(callID: "gap-\(n)", callerName: String(repeating: "x", count: 2_400), receivedAt: t0)
        }

        // 1. A loader loads the first call and commits: the group's offset is 1.
        _ = try producer.sendBlocking(topic: topics.calls, key: nil, value: event(0).jsonBytes())
        let registry1 = PrometheusCollectorRegistry()
        let sink1 = try Builders.makeSink(config)
        let first = try Builders.makeLoader(config, sink: sink1, registry: registry1, logger: .init(label: "gap-1"))
        let loaded = Mutex(0)
        first.onBatch = { report in loaded.withLock { $0 += report.messages } }
        try first.prepare()
        first.start()
        try await waitUntil(.seconds(30)) { loaded.withLock { $0 } >= 1 }
        first.stop()
        sink1.close()

        // 2. While no loader runs, 4,000 more calls (~10 MB): the mock drops the oldest of them.
        let total = 4_000
        let acknowledged = Atomic<Int>(0)
        for n in 1...total {
            try producer.produce(topic: topics.calls, key: nil, value: event(n).jsonBytes()) { result in
                if case .success = result { acknowledged.add(1, ordering: .relaxed) }
            }
        }
        #expect(producer.flush(timeoutMilliseconds: 60_000))
        #expect(acknowledged.load(ordering: .relaxed) == total)
        let marks = try #require(try producer.watermarks(topic: topics.calls, partitions: [0]).first)
        #expect(marks.high == Int64(total) + 1)
        try #require(marks.low > 1, "the mock kept every message (low watermark \(marks.low)): nothing to detect")

        // 3. The next loader of the group finds its committed offset (1) below the low watermark.
        let registry = PrometheusCollectorRegistry()
        let sink = try Builders.makeSink(config)
        let loader = try Builders.makeLoader(config, sink: sink, registry: registry, logger: .init(label: "gap-2"))
        let second = Mutex(0)
        loader.onBatch = { report in second.withLock { $0 += report.messages } }
        try loader.prepare()
        let server = Builders.makeMetricsServer(host: "127.0.0.1", port: 0, registry: registry,
                                                readiness: { [health = loader.health] in health.readiness() })
        try server.start()
        defer { server.stop(grace: .seconds(1)) }
        let base = "http://127.0.0.1:\(server.port)"
        let ready = try HTTPClient().request("GET", "\(base)/readyz")
        #expect(ready.status == 200)

        loader.start()
        let kept = Int(marks.high - marks.low)
        try await waitUntil(.seconds(60)) { second.withLock { $0 } >= kept }
        let gap = OffsetGap(topic: topics.calls, partition: 0, first: 1, next: marks.low)
        #expect(loader.health.gaps == [gap])

        let metrics = try HTTPClient().request("GET", "\(base)/metrics").bodyText
        let lostLine = #"callfeed_load_offsets_lost_total{topic="\#(topics.calls)",partition="0"} \#(marks.low - 1)"#
        #expect(metrics.contains(lostLine), "no \(lostLine) in /metrics")
        let readiness = try HTTPClient().request("GET", "\(base)/readyz")
        #expect(readiness.status == 503)
        let body = readiness.bodyText
        #expect(body.contains(#""status":"offsets_lost""#))
        #expect(body.contains(#""first_offset":1,"last_offset":\#(marks.low - 1),"messages":\#(marks.low - 1)"#), "\(body)")

        // The rest loaded; once caught up the lag reads 0 messages and 0 seconds.
        let reader = try SQLiteSink(path: config.load.sqlitePath)
        defer { reader.close() }
        #expect(try reader.count(table: "calls") == 1 + kept)
        try await waitUntil(.seconds(10)) {
            let text = try HTTPClient().request("GET", "\(base)/metrics").bodyText
            return text.contains(#"callfeed_load_lag_messages{topic="\#(topics.calls)",partition="0"} 0"#)
                && text.contains(#"callfeed_load_lag_seconds{topic="\#(topics.calls)",partition="0"} 0"#)
        }
        loader.stop()
        sink.close()
    }

    private func waitUntil(_ timeout: Duration, _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try !condition() {
            try #require(ContinuousClock.now < deadline, "timed out")
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
