import CallFeedApp
import CallFeedCore
import CallFeedTestSupport
import Foundation
import Kafka
import Synchronization
import Testing
import Warehouse
@_spi(Testing) import WarehousePostgres

/// One scenario's deployment: `callfeed mock-kafka`, `callfeed-ingest` and `callfeed-load` as
/// separate processes configured by one YAML file, loading into a schema of its own in a real
/// PostgreSQL. The test starts, kills and restarts the executables; the stack reads back what the
/// warehouse, the topics and the logs hold.
final class FaultStack {
    static let ctmSecret = "fault-suite-ctm-secret"
    static let ctmAccount = "12345"
    /// A CTM webhook source signing with ``ctmSecret`` (the secret comes from the environment).
    static let ctmWebhookSource = """
          ctm:
            - {name: ctm-main, account_id: "\(ctmAccount)", secrets: ["${CTM_SECRET}"]}
        """

    let kafka: MockKafkaProcess
    let partitionCount: Int
    let directory: URL
    let configPath: String
    let schema: String
    let warehouseAddress: String
    let environment: [String: String]
    private(set) var ingest: ChildProcess?
    private(set) var load: ChildProcess?
    /// Every load process started, for the logs.
    private(set) var loads: [ChildProcess] = []
    private(set) var webhookAddress = ""
    private let reader: PostgresSink
    /// Why the last read of `calls` failed (before the loader created the schema: no such table).
    let lastReadError = Mutex<String?>(nil)

    /// - Parameters:
    ///   - warehouse: libpq connection string of the PostgreSQL to load into.
    ///   - sources: The `sources:` section's body, indented by two spaces.
    init(warehouse: String, brokers: Int = 3, partitions: Int = 4, batchSize: Int = 200,
         sources: String = FaultStack.ctmWebhookSource, extraEnvironment: [String: String] = [:]) throws {
        kafka = try MockKafkaProcess(brokers: brokers, partitions: partitions)
        partitionCount = partitions
        let id = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        schema = "fault_\(id)"
        warehouseAddress = warehouse
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("callfeed-fault-\(id)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        configPath = directory.appendingPathComponent("callfeed.yaml").path
        let yaml = """
        kafka:
          bootstrap_servers: "${BOOTSTRAP}"
          delivery_timeout_ms: 5000
          # A SIGKILLed loader's partitions move to the next member after the session timeout
          # (librdkafka's default: 45 s); the scenarios kill loaders, so shorten it.
          properties: {session.timeout.ms: "6000", heartbeat.interval.ms: "1000"}
        ingest: {listen_port: 0}
        load:
          sink: postgres
          group_id: "callfeed-load-\(id)"
          batch_size: \(batchSize)
          linger_ms: 20
          metrics_port: 0
          postgres: {url: "${WAREHOUSE}", schema: "\(schema)"}
        poll: {state_path: "\(directory.appendingPathComponent("state.db").path)"}
        log: {level: info, format: json}
        sources:
        \(sources)
        """
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        environment = ["BOOTSTRAP": kafka.bootstrapServers, "WAREHOUSE": warehouse, "CTM_SECRET": Self.ctmSecret]
            .merging(extraEnvironment) { _, new in new }
        var config = try CallFeedConfiguration.parse(yaml, environment: environment)
        config.load.sink = "postgres"
        reader = try #require(try Builders.makeSink(config) as? PostgresSink)
    }

    /// The shared test PostgreSQL, or nil when there is none (an issue when servers are required).
    static func sharedWarehouse() -> String? {
        guard let warehouse = TestServers.postgres else {
            if TestServers.required { Issue.record("no PostgreSQL: scripts/test.sh starts one") }
            return nil
        }
        return warehouse
    }

    /// Starts the loader, then the ingest, and returns a vendor that posts webhooks to it.
    func startWebhookPipeline() throws -> WebhookVendor {
        try startLoad()
        return WebhookVendor(address: try startIngest())
    }

    /// Stops everything and drops the schema.
    func tearDown() {
        for child in [ingest, load].compactMap({ $0 }) where child.isRunning { child.killHard() }
        try? reader._execute("DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE")
        reader.close()
        kafka.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: Executables

    /// Starts `callfeed-ingest` and waits until it listens; returns its webhook address.
    @discardableResult
    func startIngest() throws -> String {
        let child = try ChildProcess("callfeed-ingest", arguments: ["--config", configPath], environment: environment)
        ingest = child
        #expect(waitUntil(.seconds(30)) { child.stderr.value.contains("webhook receiver listening") }, "\(child.stderr.value.suffix(2000))")
        let line = try #require(child.stderr.lines.first { $0.contains("webhook receiver listening") })
        webhookAddress = try #require(try JSONValue.parse(Array(line.utf8))["address"]?.text)
        return webhookAddress
    }

    /// Starts `callfeed-load` and waits until its consumer runs.
    func startLoad() throws {
        let child = try ChildProcess("callfeed-load", arguments: ["--config", configPath], environment: environment)
        load = child
        loads.append(child)
        #expect(waitUntil(.seconds(60)) { child.stderr.value.contains("loader running") }, "\(child.stderr.value.suffix(2000))")
        // The loader has created the schema by now; the reader checks it is one it knows.
        try reader.prepare()
    }

    /// SIGTERM, and the exit status (nil: still running after `timeout`).
    func terminate(_ child: ChildProcess?, timeout: Duration = .seconds(40)) -> Int32? {
        guard let child else { return nil }
        child.signal(SIGTERM)
        return child.waitForExit(timeout)
    }

    /// The load process's `/metrics` address (from its start-up line).
    func loadMetricsAddress() -> String? {
        guard let line = load?.stderr.lines.first(where: { $0.contains("loader running") }),
              let value = try? JSONValue.parse(Array(line.utf8)) else { return nil }
        return value["metrics"]?.text
    }

    // MARK: What the warehouse holds

    /// `calls`: revision by event_id (empty until the loader created the schema).
    func calls() -> [String: String] {
        let rows: [[String?]]
        do {
            rows = try reader._query("SELECT event_id::text, revision FROM \"\(schema)\".calls")
        } catch {
            lastReadError.withLock { $0 = "\(error)" }
            return [:]
        }
        var result: [String: String] = [:]
        for row in rows { if let id = row[0], let revision = row[1] { result[id] = revision } }
        return result
    }

    /// How many rows of `calls` each `source_call_id` of `source` has.
    func callIDs(source: String) -> [String: Int] {
        guard let rows = try? reader._query("SELECT source_call_id FROM \"\(schema)\".calls WHERE source = $1", [source]) else { return [:] }
        var result: [String: Int] = [:]
        for row in rows { if let id = row[0] { result[id, default: 0] += 1 } }
        return result
    }

    /// `call_revisions`: every (event_id, revision) pair, with how often it occurs.
    func revisions() -> [EventRevision: Int] {
        guard let rows = try? reader._query("SELECT event_id::text, revision FROM \"\(schema)\".call_revisions") else { return [:] }
        var result: [EventRevision: Int] = [:]
        for row in rows { if let id = row[0], let revision = row[1] { result[EventRevision(eventID: id, revision: revision), default: 0] += 1 } }
        return result
    }

    // MARK: What the topics hold

    /// Every message of `topic`: its partitions' end offsets are read first, then a new consumer
    /// group reads from the beginning until it has reached every one of them.
    func consumeAll(_ topic: String) throws -> [KafkaMessage] {
        let consumer = try KafkaConsumer(groupID: "fault-reader-\(UUID().uuidString)",
                                         properties: ["bootstrap.servers": kafka.bootstrapServers])
        defer { consumer.close() }
        let partitions = Array(0..<Int32(partitionCount))
        let ends = try consumer.endOffsets(topic: topic, partitions: partitions)
        try consumer.subscribe([topic])
        var messages: [KafkaMessage] = []
        var next: [Int32: Int64] = [:]
        let deadline = ContinuousClock.now + .seconds(60)
        while ends.contains(where: { next[$0.key, default: 0] < $0.value }) && ContinuousClock.now < deadline {
            if let message = try consumer.poll(timeoutMilliseconds: 200) {
                messages.append(message)
                next[message.partition] = message.offset + 1
            }
        }
        #expect(!ends.contains { next[$0.key, default: 0] < $0.value }, "could not read \(topic) to its end: \(next) of \(ends)")
        return messages
    }

    /// How many copies of each (event_id, revision) the calls-topic `messages` hold.
    static func copiesByRevision(_ messages: [KafkaMessage]) -> [EventRevision: Int] {
        var copies: [EventRevision: Int] = [:]
        for message in messages {
            guard let value = try? JSONValue.parse(message.value), let id = value["event_id"]?.text,
                  let revision = value["revision"]?.text else { continue }
            copies[EventRevision(eventID: id, revision: revision), default: 0] += 1
        }
        return copies
    }

    /// Dead letters written by a stage (`ingest`, `poll`, `load`).
    func deadLetters(stage: String) throws -> [KafkaMessage] {
        try consumeAll(Topics().deadLetters).filter { $0.header("stage") == stage }
    }
}

/// One version of one call.
struct EventRevision: Hashable, Sendable, CustomStringConvertible {
    var eventID: String
    var revision: String
    var description: String { "\(eventID)@\(revision.prefix(12))" }
}
