import CallFeedApp
import CallFeedCore
import CallFeedTestSupport
import Foundation
import HTTPClient
import Kafka
import Testing
@_spi(Testing) import Warehouse

/// Entity records through the real spine: producer -> `entities.v1` (mock cluster) -> loader ->
/// one SQLite table per source entity, next to calls arriving by webhook.
@Suite(.serialized) struct EntityPipelineTests {
    static let t0 = Timestamp(year: 2024, month: 5, day: 1, hour: 10)!

    static func account(_ id: String, _ name: String, updatedAt: Timestamp, receivedAt: Timestamp,
                        channel: CallEvent.Channel = .poll) -> EntityRecord {
        EntityRecord(source: "ctm", entity: "accounts", id: id, accountID: id,
                     data: .object(["id": .string(id), "name": .string(name), "status": .string("active")]),
                     raw: .object(["id": .int(Int64(id)!), "name": .string(name), "status": .string("active")]),
                     sourceUpdatedAt: updatedAt, receivedAt: receivedAt, channel: channel)
    }

    /// Five objects of four source entities, an exact re-send, an update, a stale copy, three
    /// poison messages and one webhook call: the tables hold exactly the newest values, the poison
    /// is dead-lettered with reasons, and the call loads as before.
    @Test func entityRecordsLoadIntoTheirTablesNextToCalls() throws {
        let pipeline = try Pipeline()
        defer { pipeline.stop() }
        let t0 = Self.t0

        let acme = Self.account("1", "Acme", updatedAt: t0, receivedAt: t0.adding(seconds: 60))
        let globex = Self.account("2", "Globex", updatedAt: t0, receivedAt: t0.adding(seconds: 60))
        let user = EntityRecord(source: "justcall", entity: "users", id: "u-7", accountID: "jc-1",
                                data: .object(["name": .string("Sam Agent"), "email": .string("sam@example.com")]),
                                raw: .object(["agent_id": .int(7), "name": .string("Sam Agent")]),
                                sourceUpdatedAt: nil, receivedAt: t0.adding(seconds: 61), channel: .poll)
        let tracker = EntityRecord(source: "callrail", entity: "trackers", id: "TRK1", accountID: "ACC1",
                                   data: .object(["name": .string("Google Ads"), "numbers": .array([.string("+15550001111")])]),
                                   raw: .object(["id": .string("TRK1")]),
                                   sourceUpdatedAt: t0, receivedAt: t0.adding(seconds: 62), channel: .backfill)
        let analytics = EntityRecord(source: "justcall", entity: "agent_analytics", id: "u-7/2024-05-01", accountID: "jc-1",
                                     data: .object(["agent_id": .string("u-7"), "date": .string("2024-05-01"),
                                                    "calls": .int(12), "talk_seconds": .int(3600)]),
                                     raw: .object(["calls": .string("12")]),
                                     sourceUpdatedAt: nil, receivedAt: t0.adding(seconds: 63), channel: .poll)
        // Same data as `acme`, fetched again an hour later by backfill: an exact re-send.
        let acmeResend = Self.account("1", "Acme", updatedAt: t0, receivedAt: t0.adding(seconds: 3600), channel: .backfill)
        // The vendor renamed Globex at 10:05.
        let globexRenamed = Self.account("2", "Globex Corp", updatedAt: t0.adding(seconds: 300),
                                         receivedAt: t0.adding(seconds: 360))
        // A slow poll delivering the 10:00 state last: older by source time, so it must not win.
        let globexStale = Self.account("2", "Globex", updatedAt: t0, receivedAt: t0.adding(seconds: 7200))

        // Poison: not JSON, a bad source name, a revision that does not match the data.
        let badName = EntityRecord(source: "CTM", entity: "accounts", id: "9", accountID: nil, data: .object([:]),
                                   raw: .null, sourceUpdatedAt: nil, receivedAt: t0, channel: .poll)
        var tampered = Self.account("3", "Initech", updatedAt: t0, receivedAt: t0)
        tampered.data = .object(["id": .string("3"), "name": .string("Someone else")])

        func send(_ record: EntityRecord) throws {
            _ = try pipeline.producer.sendBlocking(topic: pipeline.topics.entities, key: Array(record.key.utf8),
                                                   value: record.jsonBytes())
        }
        for record in [acme, globex, user, tracker, analytics] { try send(record) }
        _ = try pipeline.producer.sendBlocking(topic: pipeline.topics.entities, key: Array("x".utf8),
                                               value: Array("not an entity".utf8))
        try send(badName)
        try send(tampered)
        for record in [acmeResend, globexRenamed, globexStale] { try send(record) }
        #expect(try pipeline.postCallKeeper(try Payloads.callKeeper(1)).status == 202)

        // 11 entity messages and 1 call, all read and committed.
        let everythingRead = try pipeline.wait(timeout: .seconds(60)) { try pipeline.metric("callfeed_load_messages_total") == 12 }
        #expect(everythingRead)

        // Exactly the newest value of every object, one table per source entity.
        #expect(try pipeline.entityTableNames() == ["callrail_trackers", "ctm_accounts", "justcall_agent_analytics", "justcall_users"])
        let accounts = try pipeline.entityRows("ctm_accounts")
        #expect(Set(accounts.keys) == ["1", "2"])
        #expect(accounts["1"]?["data"] == .text(acme.data.canonicalJSON))
        #expect(accounts["1"]?["revision"] == .text(acme.revision))
        // The re-send changed nothing: still the first copy's channel and receipt time.
        #expect(accounts["1"]?["channel"] == .text("poll"))
        #expect(accounts["1"]?["received_at"] == .text("2024-05-01T10:01:00.000Z"))
        #expect(accounts["2"]?["data"] == .text(globexRenamed.data.canonicalJSON))
        #expect(accounts["2"]?["revision"] == .text(globexRenamed.revision))
        #expect(accounts["2"]?["source_updated_at"] == .text("2024-05-01T10:05:00.000Z"))
        #expect(accounts["2"]?["version_key"] == .text(globexRenamed.versionKey))
        #expect(try pipeline.entityRows("justcall_users")["u-7"]?["data"] == .text(user.data.canonicalJSON))
        #expect(try pipeline.entityRows("callrail_trackers")["TRK1"]?["account_id"] == .text("ACC1"))
        let day = try pipeline.reader._query(
            "SELECT json_extract(data, '$.calls') AS calls FROM justcall_agent_analytics WHERE id = 'u-7/2024-05-01'")
        #expect(day.first?["calls"] == .integer(12))

        // The poison went to the dead-letter topic with its reason; nothing of it reached a table.
        #expect(try pipeline.count(pipeline.topics.deadLetters) == 3)
        let dead = try pipeline.readAll(pipeline.topics.deadLetters, expecting: 3)
        #expect(dead.count == 3)
        #expect(dead.allSatisfy { $0.header("stage") == "load" && ($0.header("origin") ?? "").hasPrefix(pipeline.topics.entities + "/") })
        #expect(dead.contains { String(decoding: $0.value, as: UTF8.self) == "not an entity" })
        #expect(dead.contains { $0.value == badName.jsonBytes() && ($0.header("reason") ?? "").contains("^[a-z][a-z0-9_]*$") })
        #expect(dead.contains { $0.value == tampered.jsonBytes() && ($0.header("reason") ?? "").contains("revision") })

        // Calls load as before.
        #expect(pipeline.wait { (try? pipeline.rows().count) == 1 })
        #expect(try pipeline.reader.count(table: "call_revisions") == 1)

        // Metrics: 5 objects inserted, 1 updated; the re-send and the stale copy are unchanged or
        // dropped as in-batch duplicates, depending on how the batches fell.
        #expect(try pipeline.metric(#"callfeed_load_entity_rows_total{result="inserted"}"#) == 5)
        #expect(try pipeline.metric(#"callfeed_load_entity_rows_total{result="updated"}"#) == 1)
        let unchanged = try pipeline.metric(#"callfeed_load_entity_rows_total{result="unchanged"}"#) ?? -1
        let dropped = try pipeline.metric("callfeed_load_duplicates_dropped_total") ?? -1
        #expect(unchanged + dropped == 2)
        #expect(try pipeline.metric(#"callfeed_load_rows_total{result="inserted"}"#) == 1)
        #expect(try pipeline.metric("callfeed_load_dead_letters_total") == 3)
    }

    /// The loader commits the entities topic's offsets with the batch: a second loader group member
    /// started later (same group) finds nothing left to read.
    @Test func entityOffsetsAreCommitted() throws {
        let pipeline = try Pipeline()
        defer { pipeline.stop() }
        let record = Self.account("5", "Umbrella", updatedAt: Self.t0, receivedAt: Self.t0)
        _ = try pipeline.producer.sendBlocking(topic: pipeline.topics.entities, key: Array(record.key.utf8),
                                               value: record.jsonBytes())
        #expect(pipeline.wait(timeout: .seconds(60)) { (try? pipeline.entityRows("ctm_accounts").count) == 1 })
        let committed = try pipeline.wait(timeout: .seconds(10)) {
            let consumer = try KafkaConsumer(groupID: pipeline.config.load.groupID,
                                             properties: ["bootstrap.servers": pipeline.kafka.bootstrapServers])
            defer { consumer.close() }
            let offsets = try consumer.committed(topic: pipeline.topics.entities, partitions: Pipeline.partitions)
            return offsets.values.reduce(0) { $0 + max($1, 0) } == 1
        }
        #expect(committed)
    }
}

extension Pipeline {
    /// Rows of an entity table keyed by id (empty while the table does not exist yet).
    func entityRows(_ table: String) throws -> [String: [String: WarehouseValue]] {
        // count(table:) accepts only tables registered in entity_tables, so `table` is safe to quote.
        guard (try? reader.count(table: table)) != nil else { return [:] }
        var result: [String: [String: WarehouseValue]] = [:]
        for row in try reader._query("SELECT * FROM \"\(table)\"") {
            if case .text(let id)? = row["id"] { result[id] = row }
        }
        return result
    }

    /// The registered entity tables, sorted.
    func entityTableNames() throws -> [String] {
        try reader._query("SELECT table_name FROM entity_tables ORDER BY table_name").compactMap { row in
            if case .text(let name)? = row["table_name"] { return name }
            return nil
        }
    }

    /// The value of one series on the ingest server's `/metrics` (which carries the loader's too),
    /// or nil when it is not there. `series` is the name with its labels, as printed.
    func metric(_ series: String) throws -> Int? {
        let text = try HTTPClient().request("GET", baseURL + "/metrics").bodyText
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Int(Double(line.dropFirst(series.count + 1).trimmingCharacters(in: .whitespaces)) ?? -1)
        }
        return nil
    }
}
