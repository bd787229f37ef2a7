import CallFeedCore
import CallFeedPoll
import CallFeedSQLPoll
import CallFeedTestSupport
import Foundation
import Kafka
import Testing
import VendorSandbox
import Warehouse
import WarehousePostgres

/// The Genius source against a real PostgreSQL (the test server scripts/test-services.sh starts)
/// holding a generated Genius-like schema, publishing through the in-process pipeline (mock
/// cluster, loader, SQLite): keyset pages, same-`modified` runs across page boundaries, rows that
/// change while a sync pages, a killed run resumed, the overlap of an incremental run, an odd
/// row dead-lettered while the rest loads, and a session that cannot write.
@Suite(.serialized) struct GeniusPollerTests {
    /// A schema of its own with `leads` (23 rows, 1 day old: five share one `modified`, seven the
    /// next, so page size 4 splits both runs) and `division_groups` (no modified column, one row
    /// with an empty key).
    final class GeniusDatabase {
        let url: String
        let schema = "genius_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let admin: PostgresConnection

        init() throws {
            url = try #require(TestServers.postgres, "CALLFEED_TEST_POSTGRES is not set (scripts/test.sh starts PostgreSQL)")
            admin = try PostgresConnection(conninfo: url)
            try admin.execute("""
                CREATE SCHEMA \(schema);
                CREATE TABLE \(schema).leads (lead_id integer PRIMARY KEY, contact_id integer, status text, amount numeric(10,2),
                    active boolean, details jsonb, created timestamp NOT NULL, modified timestamp);
                CREATE TABLE \(schema).division_groups (code text PRIMARY KEY, label text);
                INSERT INTO \(schema).leads
                  SELECT n, 1000 + n, 'new', n * 1.25, n % 2 = 0, jsonb_build_object('n', n),
                         now()::timestamp - interval '2 days',
                         CASE WHEN n <= 5 THEN date_trunc('second', now()::timestamp) - interval '1 day'
                              WHEN n <= 12 THEN date_trunc('second', now()::timestamp) - interval '1 day' + interval '1 second'
                              ELSE date_trunc('second', now()::timestamp) - interval '1 day' + n * interval '1 second' + interval '0.123456 second' END
                  FROM generate_series(1, 23) AS n;
                INSERT INTO \(schema).division_groups VALUES ('north', 'North'), ('south', 'South'), ('', 'Nameless');
                """)
        }

        func drop() {
            try? admin.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE")
            admin.close()
        }

        func streams(pageSize: Int = 4, reader: PostgresReader? = nil) -> [SQLEntityStream] {
            let reader = reader ?? PostgresReader(conninfo: url, statementTimeoutSeconds: 10, timeZone: "UTC", maxRetries: 1)
            return [
                SQLEntityStream(vendor: "genius", table: SQLTable(entity: "leads", table: "\(schema).leads", key: ["lead_id"], modified: "modified"),
                                reader: reader, timeZone: .gmt, pageSize: pageSize),
                SQLEntityStream(vendor: "genius", table: SQLTable(entity: "division_groups", table: "\(schema).division_groups", key: ["code"], modified: nil),
                                reader: reader, timeZone: .gmt, pageSize: pageSize),
            ]
        }
    }

    static func dataOf(_ row: [String: WarehouseValue]?) throws -> JSONValue {
        guard case .text(let text)? = row?["data"] else { throw PollError(.state, "row has no data") }
        return try JSONValue.parse(Array(text.utf8))
    }

    @Test func everyRowLandsOnceWithItsTypesAndTheOddOneIsDeadLettered() throws {
        let db = try GeniusDatabase()
        defer { db.drop() }
        let h = try PollHarness(SandboxConfiguration())
        defer { h.stop() }
        let stats = try h.entityPoller(name: "genius-test", streams: db.streams(), accounts: { _ in [] }).sync()
        #expect(stats.processed == 26)
        #expect(stats.published == 25)
        #expect(stats.rejected == 1)
        // 23 leads in pages of 4 (6 pages), division groups in 1.
        #expect(stats.pages == 7)
        let leads = try h.waitForEntities("genius_leads", count: 23)
        #expect(Set(leads.keys) == Set((1...23).map(String.init)))
        #expect(try h.pipeline.count(h.pipeline.topics.entities) == 25)
        let seven = try Self.dataOf(leads["7"])
        #expect(seven["amount"] == JSONValue.string("8.75"))
        #expect(seven["active"] == JSONValue.bool(false))
        #expect(seven["details"] == JSONValue.object(["n": .int(7)]))
        #expect(seven["contact_id"] == JSONValue.int(1007))
        let twenty = try Self.dataOf(leads["20"])
        guard case .string(let modified)? = twenty["modified"] else { Issue.record("no modified"); return }
        #expect(modified.hasSuffix(".123456Z"), "microseconds kept: \(modified)")
        if case .text(let updated)? = leads["20"]?["source_updated_at"] { #expect(modified.hasPrefix(String(updated.prefix(19)))) }
        let groups = try h.waitForEntities("genius_division_groups", count: 2)
        #expect(Set(groups.keys) == ["north", "south"])
        let letters = try h.deadLetters(expecting: 1)
        #expect(letters.first?.reason.contains("division_groups: row has no code") == true)
        #expect(letters.first?.body.contains("Nameless") == true)
    }

    @Test func rowsChangedWhileASyncPagesAreReadByTheNextRunAndNoneIsSkipped() throws {
        let db = try GeniusDatabase()
        defer { db.drop() }
        let h = try PollHarness(SandboxConfiguration())
        defer { h.stop() }
        let streams = [db.streams()[0]]
        // Run 1 stops after its second page (8 rows published and checkpointed): a killed sync.
        let first = h.entityPoller(name: "genius-test", streams: streams, accounts: { _ in [] })
        let counter = PageCounter(stopAfter: 2)
        first.isCancelled = { counter.tick() }
        #expect(throws: PollError.self) { try first.sync() }
        #expect(try h.waitForEntities("genius_leads", count: 8).count == 8)
        // While it is down: a row already read (2) and a row not yet read (15) change. With
        // LIMIT/OFFSET, moving row 15 past the end would shift every later row up and skip one.
        try db.admin.execute("UPDATE \(db.schema).leads SET status = 'won', modified = now()::timestamp + interval '1 second' WHERE lead_id IN (2, 15)")
        // Run 2 resumes after row 8, inside the first window: row 15 has left it (it is the next run's).
        let resumed = try h.entityPoller(name: "genius-test", streams: streams, accounts: { _ in [] }).sync()
        #expect(resumed.processed == 14)
        var leads = try h.waitForEntities("genius_leads", count: 22)
        #expect(Set(leads.keys) == Set((1...23).map(String.init)).subtracting(["15"]))
        // Run 3: both changed rows, nothing else (the others are older than the lookback).
        Thread.sleep(forTimeInterval: 1.2)
        let third = try h.entityPoller(name: "genius-test", streams: streams, accounts: { _ in [] }).sync()
        #expect(third.processed == 2)
        leads = try h.waitForEntities("genius_leads", count: 23)
        #expect(leads.count == 23)
        #expect(try Self.dataOf(leads["2"])["status"] == JSONValue.string("won"))
        #expect(try Self.dataOf(leads["15"])["status"] == JSONValue.string("won"))
        // Every message was a different row or revision: 8 + 14 + 2.
        #expect(try h.pipeline.count(h.pipeline.topics.entities) == 24)
    }

    @Test func theSessionIsReadOnlyAndAWrongTableIsAConfigurationError() throws {
        let db = try GeniusDatabase()
        defer { db.drop() }
        let reader = PostgresReader(conninfo: db.url, statementTimeoutSeconds: 10, timeZone: "UTC", maxRetries: 0)
        defer { reader.close() }
        let refused = #expect(throws: PollError.self) { try reader.rows("DELETE FROM \(db.schema).leads", []) }
        #expect(refused?.reason.contains("25006") == true, "\(String(describing: refused))")
        #expect(try db.admin.query("SELECT count(*) FROM \(db.schema).leads").rows.first?.first == "23")
        let missing = SQLEntityStream(vendor: "genius", table: SQLTable(entity: "leads", table: "\(db.schema).no_such", key: ["id"], modified: "modified"),
                                      reader: reader, timeZone: .gmt)
        let h = try PollHarness(SandboxConfiguration())
        defer { h.stop() }
        let wrong = #expect(throws: PollError.self) {
            try h.entityPoller(name: "genius-test", streams: [missing], accounts: { _ in [] }).sync()
        }
        #expect(wrong?.kind == .configuration, "\(String(describing: wrong))")
    }
}
