import CallFeedCore
import CallFeedTestSupport
import Testing
@_spi(Testing) import Warehouse

/// Entity records: tables made on demand, the registry, the version rule, refusals, migration 2.
@Suite("SQLiteSink entity tables")
struct SQLiteSinkEntityTests {
    static let columns = [
        "id", "account_id", "data", "raw", "revision", "channel",
        "source_updated_at", "received_at", "version_key", "loaded_at",
    ]

    /// A CTM account (or another source/entity) whose `name` selects the revision.
    static func record(source: String = "ctm", entity: String = "accounts", id: String = "42", name: String = "Acme",
                       raw: JSONValue? = nil, sourceUpdatedAt: Timestamp? = nil, channel: CallEvent.Channel = .poll,
                       receivedAt: Timestamp) -> EntityRecord {
        EntityRecord(source: source, entity: entity, id: id, accountID: "acct-1",
                     data: .object(["name": .string(name), "id": .string(id)]),
                     raw: raw ?? .object(["Name": .string(name), "Id": .string(id)]),
                     sourceUpdatedAt: sourceUpdatedAt, receivedAt: receivedAt, channel: channel)
    }

    @Test("a table is created on first use, registered in entity_tables, with the documented columns")
    func tableCreatedOnDemand() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        let tablesBefore = try sink._query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'ctm_accounts'")
        #expect(tablesBefore.isEmpty)
        #expect(try sink.count(table: "entity_tables") == 0)
        #expect(throws: WarehouseError.self) { try sink.count(table: "ctm_accounts") }

        let record = Self.record(sourceUpdatedAt: Fixtures.may1(9), receivedAt: Fixtures.may1(9, 30, 0, millisecond: 250))
        let summary = try sink.applyEntities([record], loadedAt: Fixtures.may1(9, 31))

        #expect(summary == ApplySummary(inserted: 1))
        #expect(try sink._query("PRAGMA table_info(ctm_accounts)").map { $0["name"] } == Self.columns.map { .text($0) })
        #expect(try sink._query("SELECT * FROM entity_tables") == [[
            "table_name": .text("ctm_accounts"), "source": .text("ctm"), "entity": .text("accounts"),
            "created_at": .text("2024-05-01T09:31:00.000Z"),
        ]])
        #expect(try sink.count(table: "ctm_accounts") == 1)
        let row = try #require(try sink._query("SELECT * FROM ctm_accounts WHERE id = '42'").first)
        #expect(row == [
            "id": .text("42"),
            "account_id": .text("acct-1"),
            "data": .text(#"{"id":"42","name":"Acme"}"#),
            "raw": .text(#"{"Id":"42","Name":"Acme"}"#),
            "revision": .text(record.revision),
            "channel": .text("poll"),
            "source_updated_at": .text("2024-05-01T09:00:00.000Z"),
            "received_at": .text("2024-05-01T09:30:00.250Z"),
            "version_key": .text("001714554000000|001714555800250|" + record.revision),
            "loaded_at": .text("2024-05-01T09:31:00.000Z"),
        ])
        // data is JSON that SQLite reads back.
        #expect(try sink._query("SELECT json_extract(data, '$.name') AS name FROM ctm_accounts").first?["name"] == .text("Acme"))
        // A CallFeed table is not affected.
        #expect(try sink.count(table: "calls") == 0)
    }

    @Test("an exact re-send leaves the row byte for byte, loaded_at included, even with other raw/channel/receipt")
    func exactResendIsUnchanged() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        let first = Self.record(channel: .poll, receivedAt: Fixtures.may1(9, 30))
        _ = try sink.applyEntities([first], loadedAt: Fixtures.may1(9, 31))
        let before = try sink._query("SELECT * FROM ctm_accounts")

        let again = try sink.applyEntities([first], loadedAt: Fixtures.may1(12))
        let sameDataOtherRaw = Self.record(raw: .object(["Name": .string("Acme"), "extra": .int(1)]), channel: .backfill,
                                           receivedAt: Fixtures.may1(11))
        #expect(sameDataOtherRaw.revision == first.revision)
        let laterCopy = try sink.applyEntities([sameDataOtherRaw], loadedAt: Fixtures.may1(12, 1))

        #expect(again == ApplySummary(unchanged: 1))
        #expect(laterCopy == ApplySummary(unchanged: 1))
        #expect(try sink._query("SELECT * FROM ctm_accounts") == before)
        #expect(before.first?["loaded_at"] == .text("2024-05-01T09:31:00.000Z"))
        #expect(try sink.count(table: "entity_tables") == 1)
    }

    @Test("a different revision received later replaces the row")
    func newerRevisionUpdates() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        _ = try sink.applyEntities([Self.record(name: "Acme", receivedAt: Fixtures.may1(9, 30))], loadedAt: Fixtures.may1(9, 31))
        let renamed = Self.record(name: "Acme Ltd", channel: .backfill, receivedAt: Fixtures.may1(9, 40))

        let summary = try sink.applyEntities([renamed], loadedAt: Fixtures.may1(9, 41))

        #expect(summary == ApplySummary(updated: 1))
        let row = try #require(try sink._query("SELECT * FROM ctm_accounts").first)
        #expect(row["revision"] == .text(renamed.revision))
        #expect(row["data"] == .text(#"{"id":"42","name":"Acme Ltd"}"#))
        #expect(row["raw"] == .text(#"{"Id":"42","Name":"Acme Ltd"}"#))
        #expect(row["channel"] == .text("backfill"))
        #expect(row["received_at"] == .text("2024-05-01T09:40:00.000Z"))
        #expect(row["loaded_at"] == .text("2024-05-01T09:41:00.000Z"))
        #expect(try sink.count(table: "ctm_accounts") == 1)
    }

    @Test("an older revision arriving late (by source_updated_at) is ignored")
    func outOfOrderIsUnchanged() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        let newer = Self.record(name: "Acme Ltd", sourceUpdatedAt: Fixtures.may1(10, 5), receivedAt: Fixtures.may1(10, 6))
        let older = Self.record(name: "Acme", sourceUpdatedAt: Fixtures.may1(10), receivedAt: Fixtures.may1(11, 30))
        _ = try sink.applyEntities([newer], loadedAt: Fixtures.may1(10, 7))
        let before = try sink._query("SELECT * FROM ctm_accounts")

        let summary = try sink.applyEntities([older], loadedAt: Fixtures.may1(11, 31))

        #expect(summary == ApplySummary(unchanged: 1))
        #expect(try sink._query("SELECT * FROM ctm_accounts") == before)
        #expect(before.first?["data"] == .text(#"{"id":"42","name":"Acme Ltd"}"#))
    }

    @Test("one batch: several tables, two revisions of one object in array order, counts per record")
    func mixedBatch() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        let batch = [
            Self.record(id: "1", name: "One", receivedAt: Fixtures.may1(9)),
            Self.record(id: "2", name: "Two", receivedAt: Fixtures.may1(9)),
            Self.record(id: "1", name: "One, renamed", receivedAt: Fixtures.may1(9, 5)),
            Self.record(source: "justcall", entity: "users", id: "u-1", name: "Sam", receivedAt: Fixtures.may1(9)),
            Self.record(source: "callrail", entity: "form_submissions", id: "f-1", name: "Form", receivedAt: Fixtures.may1(9)),
            Self.record(id: "1", name: "One", receivedAt: Fixtures.may1(9)),  // the first revision again: older
        ]

        let summary = try sink.applyEntities(batch, loadedAt: Fixtures.may1(9, 10))

        #expect(summary == ApplySummary(inserted: 4, updated: 1, unchanged: 1))
        #expect(try sink.count(table: "ctm_accounts") == 2)
        #expect(try sink.count(table: "justcall_users") == 1)
        #expect(try sink.count(table: "callrail_form_submissions") == 1)
        #expect(try sink._query("SELECT json_extract(data, '$.name') AS name FROM ctm_accounts WHERE id = '1'").first?["name"]
            == .text("One, renamed"))
        #expect(try sink._query("SELECT table_name FROM entity_tables ORDER BY table_name").map { $0["table_name"] }
            == [.text("callrail_form_submissions"), .text("ctm_accounts"), .text("justcall_users")])
    }

    @Test("a sink on a reopened file finds the registered table and keeps the rule")
    func reopenUsesRegisteredTable() throws {
        let db = try TemporaryDatabase()
        let record = Self.record(receivedAt: Fixtures.may1(9))
        do {
            let sink = try db.openSink()
            _ = try sink.applyEntities([record], loadedAt: Fixtures.may1(9, 1))
            sink.close()
        }
        let reopened = try db.openSink()
        #expect(try reopened.applyEntities([record], loadedAt: Fixtures.may1(10)) == ApplySummary(unchanged: 1))
        #expect(try reopened.applyEntities([Self.record(name: "New", receivedAt: Fixtures.may1(10))], loadedAt: Fixtures.may1(10))
            == ApplySummary(updated: 1))
        #expect(try reopened.count(table: "entity_tables") == 1)
    }

    @Test("a record with a bad name is refused as data before any SQL; nothing of the batch is written")
    func badNamesRefusedBySink() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        let good = Self.record(receivedAt: Fixtures.may1(9))
        let evil = Self.record(source: "ctm\"; DROP TABLE calls; --", receivedAt: Fixtures.may1(9))
        _ = try sink.apply([Fixtures.event(receivedAt: Fixtures.may1(9))], loadedAt: Fixtures.may1(9))

        let error = try #require(throws: WarehouseError.self) {
            try sink.applyEntities([good, evil], loadedAt: Fixtures.may1(9, 1))
        }

        #expect(error.isDataError)
        #expect(!error.isTransient)
        #expect(error.reason.contains("^[a-z][a-z0-9_]*$"))
        #expect(try sink.count(table: "calls") == 1)
        #expect(try sink.count(table: "entity_tables") == 0)
        #expect(try sink._query("SELECT name FROM sqlite_master WHERE name LIKE 'ctm%'").isEmpty)
        // A record whose data was changed after init (stale revision) is refused the same way.
        var stale = good
        stale.data = .object(["name": .string("tampered")])
        #expect(throws: WarehouseError.self) { try sink.applyEntities([stale], loadedAt: Fixtures.may1(9, 2)) }
        #expect(try sink.applyEntities([good], loadedAt: Fixtures.may1(9, 3)) == ApplySummary(inserted: 1))
    }

    @Test("two (source, entity) pairs with one table name: the second is refused, the first keeps its table")
    func tableNameClashRefused() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        let first = Self.record(source: "ctm_x", entity: "accounts", receivedAt: Fixtures.may1(9))
        let clash = Self.record(source: "ctm", entity: "x_accounts", id: "7", receivedAt: Fixtures.may1(9))
        #expect(first.tableName == clash.tableName)
        _ = try sink.applyEntities([first], loadedAt: Fixtures.may1(9, 1))

        let error = try #require(throws: WarehouseError.self) {
            try sink.applyEntities([clash], loadedAt: Fixtures.may1(9, 2))
        }

        #expect(error.isDataError)
        #expect(error.reason.contains("already the table of"))
        #expect(try sink.count(table: "ctm_x_accounts") == 1)
        // Also refused by a fresh sink that has not cached the table.
        let other = try db.openSink()
        #expect(throws: WarehouseError.self) { try other.applyEntities([clash], loadedAt: Fixtures.may1(9, 3)) }
        #expect(try other.count(table: "ctm_x_accounts") == 1)
    }

    @Test("a failed batch rolls back the tables it created, and the sink creates them again next time")
    func rollbackRemovesCreatedTables() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        _ = try sink.applyEntities([Self.record(source: "ctm_x", entity: "accounts", receivedAt: Fixtures.may1(9))],
                                   loadedAt: Fixtures.may1(9))
        let created = Self.record(source: "justcall", entity: "users", id: "u-1", receivedAt: Fixtures.may1(9))
        let clash = Self.record(source: "ctm", entity: "x_accounts", receivedAt: Fixtures.may1(9))

        #expect(throws: WarehouseError.self) { try sink.applyEntities([created, clash], loadedAt: Fixtures.may1(9, 1)) }

        #expect(try sink._query("SELECT name FROM sqlite_master WHERE name = 'justcall_users'").isEmpty)
        #expect(try sink.count(table: "entity_tables") == 1)
        #expect(try sink.applyEntities([created], loadedAt: Fixtures.may1(9, 2)) == ApplySummary(inserted: 1))
        #expect(try sink.count(table: "justcall_users") == 1)
    }

    @Test("a locked database gives a transient error and the same entity batch succeeds on retry")
    func busyIsTransient() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink(busyTimeout: .milliseconds(50))
        let other = try db.openSink()
        try other._execute("BEGIN IMMEDIATE")
        let record = Self.record(receivedAt: Fixtures.may1(9))

        let error = try #require(throws: WarehouseError.self) { try sink.applyEntities([record], loadedAt: Fixtures.may1(9)) }
        #expect(error.isTransient)

        try other._execute("ROLLBACK")
        #expect(try sink.applyEntities([record], loadedAt: Fixtures.may1(9)) == ApplySummary(inserted: 1))
    }

    @Test("count(table:) takes registered entity tables only, and never runs a name as SQL")
    func countValidatesEntityTables() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        _ = try sink.applyEntities([Self.record(receivedAt: Fixtures.may1(9))], loadedAt: Fixtures.may1(9))
        try sink._execute("CREATE TABLE analyst_scratch (x INTEGER)")

        #expect(try sink.count(table: "ctm_accounts") == 1)
        #expect(throws: WarehouseError.self) { try sink.count(table: "analyst_scratch") }
        #expect(throws: WarehouseError.self) { try sink.count(table: "ctm_users") }
        #expect(throws: WarehouseError.self) { try sink.count(table: "ctm_accounts; DROP TABLE calls") }
        try sink._execute("INSERT INTO entity_tables VALUES ('x\"; DROP TABLE calls; --', 'x', 'y', '2024-01-01')")
        #expect(throws: WarehouseError.self) { try sink.count(table: "x\"; DROP TABLE calls; --") }
        #expect(try sink.count(table: "calls") == 0)
    }

    @Test("applyEntities before prepare and after close throws")
    func lifecycleMisuse() throws {
        let db = try TemporaryDatabase()
        let unprepared = try SQLiteSink(path: db.path)
        let record = Self.record(receivedAt: Fixtures.may1(9))
        let beforePrepare = try #require(throws: WarehouseError.self) {
            try unprepared.applyEntities([record], loadedAt: Fixtures.may1(9))
        }
        #expect(beforePrepare.reason.contains("prepare"))
        try unprepared.prepare()
        #expect(try unprepared.applyEntities([], loadedAt: Fixtures.may1(9)) == ApplySummary())
        unprepared.close()
        let afterClose = try #require(throws: WarehouseError.self) {
            try unprepared.applyEntities([record], loadedAt: Fixtures.may1(9))
        }
        #expect(afterClose.reason.contains("closed"))
    }

    @Test("migration 2 creates entity_tables, also on a file a version-1 build made")
    func migrationTwo() throws {
        let db = try TemporaryDatabase()
        let event = Fixtures.event(receivedAt: Fixtures.may1(9))
        do {
            let sink = try db.openSink()
            #expect(try sink._query("SELECT version, name FROM schema_migrations ORDER BY version") == [
                ["version": .integer(1), "name": .text("create calls and call_revisions")],
                ["version": .integer(2), "name": .text("create entity_tables")],
            ])
            _ = try sink.apply([event], loadedAt: Fixtures.may1(9))
            // Make it what a version-1 build leaves behind.
            try sink._execute("DROP TABLE entity_tables; DELETE FROM schema_migrations WHERE version = 2")
            sink.close()
        }

        let upgraded = try db.openSink()

        #expect(try upgraded.count(table: "schema_migrations") == 2)
        #expect(try upgraded.count(table: "entity_tables") == 0)
        #expect(try upgraded.count(table: "calls") == 1)
        #expect(try upgraded.applyEntities([Self.record(receivedAt: Fixtures.may1(10))], loadedAt: Fixtures.may1(10))
            == ApplySummary(inserted: 1))
        #expect(try upgraded.apply([event], loadedAt: Fixtures.may1(10)) == ApplySummary(unchanged: 1))
    }
}
