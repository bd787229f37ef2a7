import CallFeedCore
import CallFeedTestSupport
import Foundation
import Testing
import Warehouse
@_spi(Testing) import WarehousePostgres

/// A schema of its own on the test PostgreSQL server (scripts/services/postgres.sh), so tests run
/// side by side without seeing each other's tables. Call ``drop()`` when done (`defer`).
final class TemporaryPostgresSchema {
    let url: String
    let schema: String
    private var sinks: [PostgresSink] = []

    init() throws {
        url = try #require(TestServers.postgres, "CALLFEED_TEST_POSTGRES is not set (scripts/test.sh starts PostgreSQL)")
        schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
    }

    /// Closes the sinks this schema opened and drops the schema with its tables.
    func drop() {
        sinks.forEach { $0.close() }
        if let admin = try? PostgresSink(configuration: PostgresConfiguration(url: url, schema: "public")) {
            try? admin.prepare()
            try? admin._execute("DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE")
            admin.close()
        }
    }

    var configuration: PostgresConfiguration { PostgresConfiguration(url: url, schema: schema) }

    /// A sink on this schema; prepared unless told otherwise.
    func openSink(prepare: Bool = true) throws -> PostgresSink {
        let sink = try PostgresSink(configuration: configuration)
        if prepare { try sink.prepare() }
        sinks.append(sink)
        return sink
    }
}

/// The shared builders (Tests/Support/WarehouseFixtures.swift).
typealias Events = WarehouseFixtures
