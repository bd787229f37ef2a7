import CallFeedApp
import CallFeedCore
import CallFeedIngest
import CallFeedTestSupport
import CallFeedLoad
import Foundation
import HTTPClient
import HTTPServer
import Kafka
import Logging
import Prometheus
@_spi(Testing) import Warehouse

/// The whole spine in-process, as `callfeed dev` wires it: a Kafka (librdkafka's mock cluster, or a
/// tansu broker of the test's own: ``TestBroker``), the real webhook server on a free 127.0.0.1
/// port, the loader writing a temporary SQLite file — built from a YAML config through the same
/// builders the executables use.
final class Pipeline: @unchecked Sendable {
    static let callKeeperToken = "ck-test-token-0001"
    static let ctmSecret = "ctm_test_secret_0001"
    /// The vendor sandbox's first CallRail account and its default webhook signing key.
    static let callRailAccount = "123456789"
    static let callRailSigningKey = "callrail_sandbox_signing_key"

    let kafka: TestKafka
    let config: CallFeedConfiguration
    let topics: Topics
    let producer: KafkaProducer
    let server: HTTPServer
    let loader: CallLoader
    let sink: any WarehouseSink
    /// A second connection to the warehouse file, for assertions.
    let reader: SQLiteSink
    let directory: URL
    let baseURL: String
    /// The loader's and the receiver's metrics.
    let registry: PrometheusCollectorRegistry
    static let partitions: [Int32] = [0, 1, 2, 3]

    /// - Parameter logger: Where every part logs; default: the process-wide handler at `error`.
    /// - Parameter restartable: The test restarts the broker (tansu then keeps its log on S3).
    init(broker: TestBroker = .mock, batchSize: Int = 200, deliveryTimeoutMs: Int = 10_000, restartable: Bool = false,
         maxOutstandingEvents: Int = 20_000, logger: Logger? = nil) throws {
        kafka = try TestKafka(broker, restartable: restartable)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("callfeed-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let yaml = """
        kafka:
          bootstrap_servers: ${BOOTSTRAP}
          delivery_timeout_ms: \(deliveryTimeoutMs)
          # tansu completes a group join only after about half the session timeout (librdkafka's
          # default 45 s: a 23 s join); 6 s, Apache Kafka's smallest allowed, makes it ~3.5 s.
          properties: {session.timeout.ms: "6000", heartbeat.interval.ms: "1000"}
        ingest:
          listen_port: 0
          max_body_bytes: 65536
          max_outstanding_events: \(maxOutstandingEvents)
        load:
          batch_size: \(batchSize)
          linger_ms: 20
          sqlite_path: ${DB}
        log:
          level: error
        sources:
          callkeeper:
            - name: ck
              account_id: "acct-ck"
              token: ${CK_TOKEN}
              timezone: UTC
          ctm:
            - name: ctm
              account_id: "12345"
              secrets: ["${CTM_SECRET}", "${CTM_OLD_SECRET:-}"]
          callrail:
            - name: callrail
              account_id: "\(Self.callRailAccount)"
              signing_keys: ["\(Self.callRailSigningKey)"]
        """
        config = try CallFeedConfiguration.parse(yaml, environment: [
            "BOOTSTRAP": kafka.bootstrapServers, "DB": directory.appendingPathComponent("calls.db").path,
            "CK_TOKEN": Self.callKeeperToken, "CTM_SECRET": Self.ctmSecret,
        ])
        topics = Topics(prefix: config.kafka.topicPrefix)
        try kafka.createTopics(topics.all, partitions: Int32(Self.partitions.count))

        registry = PrometheusCollectorRegistry()
        let logger = logger ?? config.log.bootstrap(label: "pipeline-test")
        sink = try Builders.makeSink(config)
        loader = try Builders.makeLoader(config, sink: sink, registry: registry, logger: logger)
        try loader.prepare()
        loader.start()
        producer = try Builders.makeProducer(config, clientID: "pipeline-test")
        let receiver = Builders.makeReceiver(config, producer: producer, registry: registry, logger: logger)
        server = Builders.makeServer(config, receiver: receiver)
        try server.start()
        baseURL = "http://127.0.0.1:\(server.port)"
        reader = try SQLiteSink(path: config.load.sqlitePath)
    }

    func stop() {
        server.stop(grace: .seconds(1))
        producer.close()
        loader.stop()
        sink.close()
        reader.close()
        try? FileManager.default.removeItem(at: directory)
        kafka.shutdown()
    }

    func postCallKeeper(_ body: [UInt8], token: String = Pipeline.callKeeperToken, client: HTTPClient = HTTPClient()) throws -> HTTPClientResponse {
        try client.request("POST", baseURL + "/webhooks/callkeeper?token=\(token)", headers: [("Content-Type", "application/json")], body: body)
    }

    func postCTM(_ body: [UInt8], secret: String = Pipeline.ctmSecret, time: Int64 = Timestamp.now().secondsSinceEpoch,
                 client: HTTPClient = HTTPClient()) throws -> HTTPClientResponse {
        let t = String(time)
        return try client.request("POST", baseURL + "/webhooks/ctm", headers: [
            ("Content-Type", "application/json"), ("X-CTM-Time", t),
            ("X-CTM-Signature", CTMWebhookRoute.signature(secret: secret, time: t, body: body)),
        ], body: body)
    }

    /// Messages in `topic`. The mock: high minus low watermark. tansu 0.6.0 answers ListOffsets
    /// wrongly (docs/reliability.md, "Brokers"), so there the topic is read to the end.
    func count(_ topic: String) throws -> Int64 {
        switch kafka.broker {
        case .mock: return try producer.messageCount(topic: topic, partitions: Self.partitions)
        case .tansu: return Int64(try readUntilQuiet(topic).count)
        }
    }

    /// Every message of `topic`, read by a fresh group from the start until nothing more arrives
    /// for 2 s (after the group join, which on tansu takes about half the session timeout).
    func readUntilQuiet(_ topic: String) throws -> [KafkaMessage] {
        let consumer = try KafkaConsumer(groupID: "reader-\(UUID().uuidString)", properties: readerProperties)
        defer { consumer.close() }
        try consumer.subscribe([topic])
        var messages: [KafkaMessage] = []
        let joinDeadline = ContinuousClock.now + .seconds(15)
        while consumer.assignedPartitionCount() == 0 && ContinuousClock.now < joinDeadline {
            _ = try consumer.poll(timeoutMilliseconds: 100).map { messages.append($0) }
        }
        var quietSince = ContinuousClock.now
        while ContinuousClock.now - quietSince < .seconds(2) {
            if let m = try consumer.poll(timeoutMilliseconds: 200) { messages.append(m); quietSince = .now }
        }
        return messages
    }

    var readerProperties: [String: String] {
        ["bootstrap.servers": kafka.bootstrapServers, "session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"]
    }

    /// Rows of `calls` keyed by event_id.
    func rows() throws -> [String: [String: WarehouseValue]] {
        var result: [String: [String: WarehouseValue]] = [:]
        for row in try reader._query("SELECT * FROM calls") {
            if case .text(let id)? = row["event_id"] { result[id] = row }
        }
        return result
    }

    /// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
    @discardableResult
    func wait(timeout: Duration = .seconds(30), _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return try condition()
    }

    /// Reads every message of `topic` from the start with a fresh consumer group.
    func readAll(_ topic: String, expecting count: Int, timeout: Duration = .seconds(30)) throws -> [KafkaMessage] {
        let consumer = try KafkaConsumer(groupID: "reader-\(UUID().uuidString)", properties: readerProperties)
        defer { consumer.close() }
        try consumer.subscribe([topic])
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now + timeout
        while messages.count < count && ContinuousClock.now < deadline {
            if let m = try consumer.poll(timeoutMilliseconds: 200) { messages.append(m) }
        }
        // Anything beyond the expected count would be a duplicate: give it a moment to show up.
        while let m = try consumer.poll(timeoutMilliseconds: 300) { messages.append(m) }
        return messages
    }
}

/// Vendor payloads made from the documented samples, varied per call.
enum Payloads {
    static func sample(_ name: String) throws -> JSONValue {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("CallFeedCoreTests/Fixtures/\(name).json")
        return try JSONValue.parse(Array(try Data(contentsOf: url)))
    }

    static func encode(_ value: JSONValue) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try! encoder.encode(value))
    }

    static func replacing(_ value: JSONValue, _ changes: [String: JSONValue]) -> JSONValue {
        guard case .object(var members) = value else { return value }
        for (k, v) in changes { members[k] = v }
        return .object(members)
    }

    /// CallKeeper AFTER_CALL_FINISH hook number `n` (its own call id and client number).
    static func callKeeper(_ n: Int, recording: String? = nil) throws -> [UInt8] {
        let base = try sample("callkeeper.webhook.after-call-finish.sample")
        return encode(replacing(base, [
            "id": .int(Int64(20_000_000 + n)),
            "phone2": .string("7999\(String(format: "%07d", n))"),
            "date_timestamp": .int(Int64(1_715_688_310 + n)),
            "record_url": .string(recording ?? "https://callkeeper.ru/records/fake/\(n).mp3"),
        ]))
    }

    /// CTM call event number `n`.
    static func ctm(_ n: Int, recording: String? = nil) throws -> [UInt8] {
        let base = try sample("ctm.call.sample")
        return encode(replacing(base, [
            "id": .int(Int64(91_000_000 + n)),
            "caller_number": .string("+1555\(String(format: "%07d", n))"),
            "unix_time": .int(Int64(1_715_711_400 + n)),
            "audio": .string(recording ?? "https://api.calltrackingmetrics.com/recordings/\(n)"),
        ]))
    }
}
