import CallFeedCore
import CallFeedTestSupport
import Foundation
import HTTPClient
import Kafka
import Testing
@_spi(Testing) import Warehouse

/// `callfeed-ingest` and `callfeed-load` as separate processes, configured by one YAML file with
/// secrets from the environment, against a mock Kafka cluster hosted by the test process.
@Suite struct SeparateExecutablesTests {
    static func launch(_ name: String, config: String, arguments: [String] = [],
                       environment: [String: String]) throws -> (Process, DevModeEndToEndTests.Output) {
        let process = Process()
        process.executableURL = try DevModeEndToEndTests.binary().deletingLastPathComponent().appendingPathComponent(name)
        process.arguments = ["--config", config] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        let output = DevModeEndToEndTests.Output(stderr)
        try process.run()
        return (process, output)
    }

    func launch(_ name: String, config: String, environment: [String: String]) throws -> (Process, DevModeEndToEndTests.Output) {
        try Self.launch(name, config: config, environment: environment)
    }

    func waitFor(_ timeout: Duration = .seconds(30), _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline { if condition() { return true }; Thread.sleep(forTimeInterval: 0.05) }
        return condition()
    }

    @Test func ingestAndLoadProcessesShareTheTopics() throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        defer { withExtendedLifetime(cluster) {} }
        for topic in Topics().all { try cluster.createTopic(topic, partitions: 2) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callfeed-exe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("w.db").path
        let configPath = directory.appendingPathComponent("callfeed.yaml").path
        try """
        kafka: {bootstrap_servers: "${BOOTSTRAP}"}
        ingest: {listen_port: 0}
        load: {sqlite_path: "\(db)", metrics_port: 0, linger_ms: 20}
        sources:
          callkeeper:
            - {account_id: main, token: "${CK_TOKEN}"}
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let env = ["BOOTSTRAP": cluster.bootstrapServers, "CK_TOKEN": "separate-token-1"]

        let (load, loadLog) = try launch("callfeed-load", config: configPath, environment: env)
        let (ingest, ingestLog) = try launch("callfeed-ingest", config: configPath, environment: env)
        defer { for p in [load, ingest] where p.isRunning { p.terminate() } }

        // The JSON log line names the bound address.
        #expect(waitFor { ingestLog.value.contains("webhook receiver listening") })
        let line = try #require(ingestLog.value.split(separator: "\n").first { $0.contains("webhook receiver listening") })
        let log = try JSONValue.parse(Array(line.utf8))
        #expect(log["level"]?.text == "info")
        let address = try #require(log["address"]?.text)

        let body = Payloads.encode(try Payloads.sample("callkeeper.webhook.after-call-finish.sample"))
        let response = try HTTPClient().request("POST", "http://\(address)/webhooks/callkeeper?token=separate-token-1", body: body)
        #expect(response.status == 202)
        // No secret in any log line.
        #expect(!ingestLog.value.contains("separate-token-1"))

        #expect(waitFor { FileManager.default.fileExists(atPath: db) })
        let reader = try SQLiteSink(path: db)
        defer { reader.close() }
        #expect(waitFor { ((try? reader.count(table: "calls")) ?? 0) == 1 })

        for p in [ingest, load] {
            kill(p.processIdentifier, SIGTERM)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
        }
        #expect(loadLog.value.contains("callfeed-load stopped"))
        #expect(ingestLog.value.contains("callfeed-ingest stopped"))
    }
}
