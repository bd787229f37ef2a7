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

/// Builds test events (the WarehouseTests fixtures' shape).
enum Events {
    static func may1(_ hour: Int, _ minute: Int = 0, _ second: Int = 0, millisecond: Int = 0) -> Timestamp {
        Timestamp(year: 2024, month: 5, day: 1, hour: hour, minute: minute, second: second, millisecond: millisecond)!
    }

    static func event(callID: String = "call-1", status: CallContent.Status = .answered, duration: Int64? = 60,
                      callerName: String? = nil, sourceUpdatedAt: Timestamp? = nil,
                      channel: CallEvent.Channel = .webhook, receivedAt: Timestamp) -> CallEvent {
        var content = CallContent(source: "ctm", sourceAccountID: "acct-1", sourceCallID: callID,
                                  direction: .inbound, status: status)
        content.startedAt = may1(9)
        content.durationSeconds = duration
        content.callerName = callerName
        content.sourceUpdatedAt = sourceUpdatedAt
        return CallEvent(content: content, channel: channel, receivedAt: receivedAt)
    }

    static func entity(source: String = "ctm", entity: String = "accounts", id: String, name: String,
                       sourceUpdatedAt: Timestamp? = nil, receivedAt: Timestamp) -> EntityRecord {
        EntityRecord(source: source, entity: entity, id: id, accountID: "acct-1",
                     data: .object(["id": .string(id), "name": .string(name)]),
                     raw: .object(["id": .string(id), "name": .string(name), "extra": .array([.int(1), .null])]),
                     sourceUpdatedAt: sourceUpdatedAt, receivedAt: receivedAt, channel: .poll)
    }
}
