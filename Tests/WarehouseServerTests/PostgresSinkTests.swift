import CallFeedCore
import CallFeedTestSupport
import Foundation
import Synchronization
import Testing
@_spi(Testing) import Warehouse
@_spi(Testing) import WarehousePostgres

/// PostgresSink against a real PostgreSQL server (scripts/services/postgres.sh).
@Suite(.enabled(if: TestServers.shouldRun(TestServers.postgres)))
struct PostgresSinkTests {
    @Test func prepareMigratesOnceAndIsIdempotent() throws {
        let database = try TemporaryPostgresSchema()
        defer { database.drop() }
        let sink = try database.openSink()
        let history = try sink._query("SELECT version::text, name FROM schema_migrations ORDER BY version")
        #expect(history == [["1", "create calls and call_revisions"], ["2", "create entity_tables"]])
        try sink.prepare()
        let again = try database.openSink()
        #expect(try again._query("SELECT count(*)::text FROM schema_migrations") == [["2"]])
        // The tables are in the configured schema, not in public.
        let tables = try sink._query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
                                     [database.schema])
        #expect(tables.compactMap { $0.first ?? nil } == ["call_revisions", "calls", "entity_tables", "schema_migrations"])
    }

    @Test func concurrentLoadersMigrateOnce() throws {
        let database = try TemporaryPostgresSchema()
        defer { database.drop() }
        let configuration = database.configuration
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                let sink = try PostgresSink(configuration: configuration)
                try sink.prepare()
                sink.close()
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(try database.openSink()._query("SELECT count(*)::text FROM schema_migrations") == [["2"]])
    }

    @Test func newerOrForeignSchemaIsRefusedAndLeftAlone() throws {
        let database = try TemporaryPostgresSchema()
        defer { database.drop() }
        let sink = try database.openSink()
        try sink._execute("INSERT INTO schema_migrations (version, name) VALUES (3, 'from the future')")
        let newer = try database.openSink(prepare: false)
        let error = try #require(throws: WarehouseError.self) { try newer.prepare() }
        #expect(error.reason.contains("newer than this build"))
        #expect(!error.isTransient)
        try sink._execute("DELETE FROM schema_migrations WHERE version = 3; UPDATE schema_migrations SET name = 'other' WHERE version = 2")
        let foreign = try database.openSink(prepare: false)
        let other = try #require(throws: WarehouseError.self) { try foreign.prepare() }
        #expect(other.reason.contains("another history"))
        #expect(try sink._query("SELECT name FROM schema_migrations WHERE version = 2") == [["other"]])
    }

    @Test func exactResendLeavesTheRowByteForByte() throws {
        let database = try TemporaryPostgresSchema()
        defer { database.drop() }
        let sink = try database.openSink()
        let event = Events.event(receivedAt: Events.may1(10))
        let first = try sink.apply([event], loadedAt: Events.may1(11))
        #expect(first == ApplySummary(inserted: 1, revisionsAdded: 1))
        let again = try sink.apply([event, event], loadedAt: Events.may1(12))
        #expect(again == ApplySummary(unchanged: 2))
        let loadedAt = try sink._query("SELECT to_char(loaded_at AT TIME ZONE 'UTC', 'HH24:MI') FROM calls")
        #expect(loadedAt == [["11:00"]])
        #expect(try sink.count(table: "call_revisions") == 1)
    }

    @Test func newerRevisionReplacesAndOlderIsIgnored() throws {
        let database = try TemporaryPostgresSchema()
        defer { database.drop() }
        let sink = try database.openSink()
        let original = Events.event(status: .answered, sourceUpdatedAt: Events.may1(10), receivedAt: Events.may1(10, 1))
        let newer = Events.event(status: .missed, sourceUpdatedAt: Events.may1(10, 30), receivedAt: Events.may1(10, 31))
        let older = Events.event(status: .busy, sourceUpdatedAt: Events.may1(9), receivedAt: Events.may1(11))
        #expect(try sink.apply([original], loadedAt: Events.may1(12)).inserted == 1)
        #expect(try sink.apply([older, newer], loadedAt: Events.may1(13)) == ApplySummary(updated: 1, unchanged: 1, revisionsAdded: 2))
        #expect(try sink._query("SELECT status, revision FROM calls") == [["missed", newer.revision]])
        #expect(try sink.count(table: "call_revisions") == 3)
    }

    @Test func revisionAThenBThenAInOneBatchEndsLikeSQLite() throws {
        let database = try TemporaryPostgresSchema()
        defer { database.drop() }
        let sink = try database.openSink()
        let sqlite = try SQLiteSink(path: ":memory:")
        try sqlite.prepare()
        let a1 = Events.event(duration: 60, receivedAt: Events.may1(10))
        let b = Events.event(duration: 61, receivedAt: Events.may1(10, 1))
        let a2 = Events.event(duration: 60, receivedAt: Events.may1(10, 2))
        let batches = [[a1], [a1, b, a2]]
        for batch in batches {
            #expect(try sink.apply(batch, loadedAt: Events.may1(12)) == (try sqlite.apply(batch, loadedAt: Events.may1(12))))
        }
        #expect(try sink.canonicalDump() == (try sqlite.canonicalDump()))
        let dump = try sink.canonicalDump()
        #expect(dump.count == 1 && dump[0].contains("received_at=\"2024-05-01T10:02:00.000Z\""))
    }

    @Test func aRefusedValueRollsTheWholeBatchBack() throws {
        let database = try TemporaryPostgresSchema()
        defer { database.drop() }
        let sink = try database.openSink()
        let good = Events.event(callID: "good", receivedAt: Events.may1(10))
        // PostgreSQL text cannot hold NUL; SQLite can. The server refuses it as data.
        let bad = Events.event(callID: "bad", callerName: "nul\u{0}byte", receivedAt: Events.may1(10))
        let error = try #require(throws: WarehouseError.self) { try sink.apply([good, bad], loadedAt: Events.may1(11)) }
        #expect(error.isDataError, "\(error)")
        #expect(!error.isTransient)
        #expect(try sink.count(table: "calls") == 0)
        #expect(try sink.count(table: "call_revisions") == 0)
        // The connection is usable again.
        #expect(try sink.apply([good], loadedAt: Events.may1(11)).inserted == 1)
    }

    @Test func unreachableServerIsTransient() throws {
        let sink = try PostgresSink(configuration: PostgresConfiguration(url: "host=127.0.0.1 port=1 connect_timeout=2 user=x dbname=x"))
        let error = try #require(throws: WarehouseError.self) { try sink.prepare() }
        #expect(error.isTransient)
        #expect(!error.isDataError)
    }

    @Test func aDroppedConnectionIsTransientAndTheNextBatchReconnects() throws {
        let database = try TemporaryPostgresSchema()
        defer { database.drop() }
        let sink = try database.openSink()
        let admin = try database.openSink()
        let pid = try #require(try sink._query("SELECT pg_backend_pid()::text").first?.first ?? nil)
        _ = try admin._query("SELECT pg_terminate_backend($1::int)", [pid])
        let event = Events.event(receivedAt: Events.may1(10))
        var loaded = false
        for _ in 0..<3 where !loaded {
            do {
                _ = try sink.apply([event], loadedAt: Events.may1(11))
                loaded = true
            } catch {
                #expect(error.isTransient, "\(error)")
            }
        }
        #expect(loaded)
        #expect(try admin.count(table: "calls") == 1)
        let newPID = try sink._query("SELECT pg_backend_pid()::text").first?.first ?? nil
        #expect(newPID != pid)
    }

    @Test func closedSinkRefusesWork() throws {
        let database = try TemporaryPostgresSchema()
        defer { database.drop() }
        let sink = try database.openSink()
        sink.close()
        sink.close()
        let error = try #require(throws: WarehouseError.self) { try sink.apply([Events.event(receivedAt: Events.may1(1))], loadedAt: Events.may1(2)) }
        #expect(!error.isTransient && !error.isDataError)
    }

    @Test func invalidSchemaNameIsRefused() {
        #expect(throws: WarehouseError.self) { try PostgresSink(configuration: PostgresConfiguration(url: "", schema: "x; DROP TABLE calls")) }
    }

    // MARK: - Entities

    @Test func entityRecordsUpsertByTheVersionRule() throws {
        let database = try TemporaryPostgresSchema()
        defer { database.drop() }
        let sink = try database.openSink()
        let a = Events.record(id: "1", name: "First", sourceUpdatedAt: Events.may1(9), receivedAt: Events.may1(10))
        let b = Events.record(id: "2", name: "Second", receivedAt: Events.may1(10))
        let user = Events.record(entity: "users", id: "u1", name: "Sam", receivedAt: Events.may1(10))
        #expect(try sink.applyEntities([a, b, user], loadedAt: Events.may1(11)) == ApplySummary(inserted: 3))
        let renamed = Events.record(id: "1", name: "Renamed", sourceUpdatedAt: Events.may1(9, 30), receivedAt: Events.may1(12))
        let stale = Events.record(id: "2", name: "Stale", sourceUpdatedAt: Events.may1(1), receivedAt: Events.may1(12))
        #expect(try sink.applyEntities([renamed, stale, b], loadedAt: Events.may1(13)) == ApplySummary(updated: 1, unchanged: 2))
        #expect(try sink._query("SELECT id, data->>'name' FROM ctm_accounts ORDER BY id") == [["1", "Renamed"], ["2", "Second"]])
        #expect(try sink._query("SELECT table_name, source, entity FROM entity_tables ORDER BY 1")
            == [["ctm_accounts", "ctm", "accounts"], ["ctm_users", "ctm", "users"]])
        #expect(try sink.count(table: "ctm_users") == 1)
        // raw keeps what the vendor sent, as JSON the server can query.
        #expect(try sink._query("SELECT raw->>'Name' FROM ctm_accounts WHERE id = '1'") == [["Renamed"]])
    }

    @Test func entityTableNameClashIsRefusedAsData() throws {
        let database = try TemporaryPostgresSchema()
        defer { database.drop() }
        let sink = try database.openSink()
        _ = try sink.applyEntities([Events.record(source: "ctm_x", entity: "accounts", id: "1", name: "a", receivedAt: Events.may1(1))],
                                   loadedAt: Events.may1(2))
        let clash = Events.record(source: "ctm", entity: "x_accounts", id: "1", name: "b", receivedAt: Events.may1(1))
        let error = try #require(throws: WarehouseError.self) { try sink.applyEntities([clash], loadedAt: Events.may1(2)) }
        #expect(error.isDataError)
        #expect(error.reason.contains("already the table of (ctm_x, accounts)"))
    }

    @Test func aFailedEntityBatchRemovesTheTableItCreated() throws {
        let database = try TemporaryPostgresSchema()
        defer { database.drop() }
        let sink = try database.openSink()
        let good = Events.record(entity: "users", id: "1", name: "ok", receivedAt: Events.may1(1))
        var bad = Events.record(entity: "users", id: "2", name: "nul\u{0}", receivedAt: Events.may1(1))
        bad.accountID = "nul\u{0}"
        #expect(throws: WarehouseError.self) { try sink.applyEntities([good, bad], loadedAt: Events.may1(2)) }
        #expect(try sink._query("SELECT count(*)::text FROM entity_tables") == [["0"]])
        #expect(try sink.applyEntities([good], loadedAt: Events.may1(2)).inserted == 1)
        #expect(try sink.count(table: "ctm_users") == 1)
    }
}
