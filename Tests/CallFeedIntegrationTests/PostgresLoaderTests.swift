import CallFeedCore
import CallFeedTestSupport
import Foundation
import HTTPClient
import Kafka
import Testing
import Warehouse
@_spi(Testing) import WarehousePostgres

/// `callfeed-load --sink postgres` as its own process: webhook -> ingest process -> Kafka (mock
/// cluster) -> load process -> a real PostgreSQL (scripts/services/postgres.sh).
@Suite(.enabled(if: TestServers.shouldRun(TestServers.postgres)))
struct PostgresLoaderTests {
    @Test func loadProcessWritesIntoPostgres() throws {
        let url = try #require(TestServers.postgres)
        let schema = "e2e_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let cluster = try KafkaMockCluster(brokers: 1)
        defer { withExtendedLifetime(cluster) {} }
        for topic in Topics().all { try cluster.createTopic(topic, partitions: 2) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callfeed-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configPath = directory.appendingPathComponent("callfeed.yaml").path
        // load.sink stays sqlite in the file: --sink postgres chooses the warehouse.
        try """
        kafka: {bootstrap_servers: "${BOOTSTRAP}"}
        ingest: {listen_port: 0}
        load:
          sqlite_path: "\(directory.appendingPathComponent("unused.db").path)"
          metrics_port: 0
          linger_ms: 20
          postgres: {url: "${PG_URL}", schema: "\(schema)"}
        sources:
          callkeeper:
            - {account_id: main, token: "${CK_TOKEN}"}
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let env = ["BOOTSTRAP": cluster.bootstrapServers, "CK_TOKEN": "pg-token-1", "PG_URL": url]

        let (load, loadLog) = try SeparateExecutablesTests.launch("callfeed-load", config: configPath,
                                                                  arguments: ["--sink", "postgres"], environment: env)
        let (ingest, ingestLog) = try SeparateExecutablesTests.launch("callfeed-ingest", config: configPath, environment: env)
        defer { for p in [load, ingest] where p.isRunning { p.terminate() } }
        let reader = try PostgresSink(configuration: PostgresConfiguration(url: url, schema: schema))
        defer {
            try? reader._execute("DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE")
            reader.close()
        }

        #expect(wait { ingestLog.value.contains("webhook receiver listening") })
        let line = try #require(ingestLog.value.split(separator: "\n").first { $0.contains("webhook receiver listening") })
        let address = try #require(try JSONValue.parse(Array(line.utf8))["address"]?.text)
        #expect(wait { loadLog.value.contains("loader running") })
        #expect(loadLog.value.contains("\"sink\":\"postgres\""))

        let sample = try Payloads.sample("callkeeper.webhook.after-call-finish.sample")
        let body = Payloads.encode(sample)
        for _ in 0..<3 {  // a vendor retrying: one row
            let response = try HTTPClient().request("POST", "http://\(address)/webhooks/callkeeper?token=pg-token-1", body: body)
            #expect(response.status == 202)
        }
        // The loader migrated the schema on start; the row arrives once.
        #expect(wait { (try? reader.prepare()) != nil })
        #expect(wait { ((try? reader.count(table: "calls")) ?? 0) == 1 })
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try reader.count(table: "calls") == 1)
        #expect(try reader.count(table: "call_revisions") == 1)
        let row = try reader._query("SELECT source, source_call_id FROM calls")
        #expect(row.first?.first == "callkeeper")

        for p in [ingest, load] {
            kill(p.processIdentifier, SIGTERM)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
        }
        #expect(loadLog.value.contains("callfeed-load stopped"))
    }

    private func wait(_ timeout: Duration = .seconds(30), _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline { if condition() { return true }; Thread.sleep(forTimeInterval: 0.05) }
        return condition()
    }
}
