import CallFeedApp
import CallFeedCore
import CallFeedTestSupport
import Foundation
import HTTPClient
import Kafka
import Testing
import Warehouse
@_spi(Testing) import WarehousePostgres

/// `callfeed-load --sink <kind>` as its own process, for each server warehouse: webhook -> ingest
/// process -> Kafka (mock cluster) -> load process -> the real server that scripts/test.sh started.
/// The test reads the rows back through a sink built from the same config (`Builders.makeSink`).
@Suite struct LoaderProcessTests {
    @Test(arguments: ["postgres", "clickhouse", "bigquery"])
    func loadProcessWritesIntoTheWarehouse(_ kind: String) throws {
        let address: String? = switch kind {
        case "postgres": TestServers.postgres
        case "clickhouse": TestServers.clickhouse
        default: TestServers.bigquery
        }
        guard let address else {
            if TestServers.required { Issue.record("no \(kind) server: scripts/test.sh starts one") }
            return
        }
        let namespace = "e2e_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let cluster = try KafkaMockCluster(brokers: 1)
        defer { withExtendedLifetime(cluster) {} }
        for topic in Topics().all { try cluster.createTopic(topic, partitions: 2) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callfeed-\(kind)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configPath = directory.appendingPathComponent("callfeed.yaml").path
        // load.sink stays sqlite in the file: --sink chooses the warehouse.
        let yaml = """
        kafka: {bootstrap_servers: "${BOOTSTRAP}"}
        ingest: {listen_port: 0}
        load:
          sqlite_path: "\(directory.appendingPathComponent("unused.db").path)"
          metrics_port: 0
          linger_ms: 20
          postgres: {url: "${WAREHOUSE}", schema: "\(namespace)"}
          clickhouse: {url: "${WAREHOUSE}", database: "\(namespace)"}
          bigquery: {project: callfeed-test, dataset: "\(namespace)", endpoint: "${WAREHOUSE}"}
        sources:
          callkeeper:
            - {account_id: main, token: "${CK_TOKEN}"}
        """
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        let env = ["BOOTSTRAP": cluster.bootstrapServers, "CK_TOKEN": "e2e-token-1", "WAREHOUSE": address]
        var config = try CallFeedConfiguration.parse(yaml, environment: env)
        config.load.sink = kind
        let reader = try Builders.makeSink(config)
        defer {
            Self.drop(kind, namespace: String(namespace), address: address, reader: reader)
            reader.close()
        }

        let (load, loadLog) = try SeparateExecutablesTests.launch("callfeed-load", config: configPath,
                                                                  arguments: ["--sink", kind], environment: env)
        let (ingest, ingestLog) = try SeparateExecutablesTests.launch("callfeed-ingest", config: configPath, environment: env)
        defer { for p in [load, ingest] where p.isRunning { p.terminate() } }

        #expect(wait { ingestLog.value.contains("webhook receiver listening") })
        let line = try #require(ingestLog.value.split(separator: "\n").first { $0.contains("webhook receiver listening") })
        let webhooks = try #require(try JSONValue.parse(Array(line.utf8))["address"]?.text)
        #expect(wait(.seconds(60)) { loadLog.value.contains("loader running") }, "\(loadLog.value.suffix(2000))")
        #expect(loadLog.value.contains("\"sink\":\"\(kind)\""))

        let body = Payloads.encode(try Payloads.sample("callkeeper.webhook.after-call-finish.sample"))
        for _ in 0..<3 {  // a vendor retrying: one row
            let response = try HTTPClient().request("POST", "http://\(webhooks)/webhooks/callkeeper?token=e2e-token-1", body: body)
            #expect(response.status == 202)
        }
        // The loader created the schema on start; the row arrives once.
        #expect(wait { (try? reader.prepare()) != nil })
        let dumping = try #require(reader as? any CanonicalDumping)
        #expect(wait(.seconds(60)) { ((try? dumping.canonicalDump()) ?? []).count == 1 })
        Thread.sleep(forTimeInterval: 0.5)
        let dump = try dumping.canonicalDump()
        #expect(dump.count == 1)
        #expect(dump.first?.contains(#"source="callkeeper""#) == true)

        for p in [ingest, load] {
            kill(p.processIdentifier, SIGTERM)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
        }
        #expect(loadLog.value.contains("callfeed-load stopped"))
    }

    /// Removes the test's schema, database or dataset.
    private static func drop(_ kind: String, namespace: String, address: String, reader: any WarehouseSink) {
        switch kind {
        case "postgres":
            try? (reader as? PostgresSink)?._execute("DROP SCHEMA IF EXISTS \"\(namespace)\" CASCADE")
        case "clickhouse":
            _ = try? HTTPClient().request("POST", address + "/", body: Array("DROP DATABASE IF EXISTS \(namespace)".utf8))
        default:
            _ = try? HTTPClient().request("DELETE", "\(address)/bigquery/v2/projects/callfeed-test/datasets/\(namespace)?deleteContents=true")
        }
    }

    private func wait(_ timeout: Duration = .seconds(30), _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline { if condition() { return true }; Thread.sleep(forTimeInterval: 0.1) }
        return condition()
    }
}
