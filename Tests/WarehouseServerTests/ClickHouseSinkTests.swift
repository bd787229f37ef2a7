import CallFeedCore
import CallFeedTestSupport
import Foundation
import Synchronization
import Testing
@_spi(Testing) import Warehouse
@_spi(Testing) @testable import WarehouseClickHouse

/// ClickHouseSink against a real ClickHouse server (scripts/services/clickhouse.sh; Debian 12's
/// 18.16). Each test has a database of its own, dropped at the end. SQLite (in memory) is the
/// reference wherever the result is "the same as SQLite".
@Suite(.enabled(if: TestServers.shouldRun(TestServers.clickhouse)))
struct ClickHouseSinkTests {
    typealias E = ClickHouseEvents

    // MARK: - Schema and migrations

    @Test("prepare creates the tables once; preparing again (also from another sink) changes nothing")
    func prepareIsIdempotent() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        let history = try sink._query("SELECT version, name FROM schema_migrations FINAL ORDER BY version")
        #expect(history == [
            ["version": .int(1), "name": .string("create calls and call_revisions")],
            ["version": .int(2), "name": .string("create entity_tables")],
        ])
        let tablesSQL = "SELECT name, engine, engine_full FROM system.tables WHERE database = '\(database.database)' ORDER BY name"
        let tables = try sink._query(tablesSQL)

        try sink.prepare()
        let again = try database.openSink()

        #expect(try again._query(tablesSQL) == tables)
        #expect(tables.map { $0["name"] } == ["call_revisions", "calls", "entity_tables", "schema_migrations"].map { .string($0) })
        #expect(tables.allSatisfy { $0["engine"] == .string("ReplacingMergeTree") })
        #expect(try again.physicalRowCount("schema_migrations") == 2)
        #expect(try again.count(table: "schema_migrations") == 2)
    }

    @Test("calls has CallRow's columns in order plus _version; the ALIAS *_time columns are extra")
    func tableColumns() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        let calls = try sink._query("DESCRIBE TABLE calls")
        let stored = calls.filter { $0["default_type"] != .string("ALIAS") }.compactMap { JSONEachRow.text($0["name"]) }
        let aliases = calls.filter { $0["default_type"] == .string("ALIAS") }.compactMap { JSONEachRow.text($0["name"]) }
        #expect(stored == CallRow.columns + ["_version"])
        #expect(aliases == ["received_at_time", "started_at_time", "ended_at_time", "source_updated_at_time", "loaded_at_time"])
        // Required columns are not Nullable; optional ones are.
        for row in calls where row["default_type"] != .string("ALIAS") {
            guard let name = JSONEachRow.text(row["name"]), name != "_version", let type = JSONEachRow.text(row["type"]) else { continue }
            #expect(type.hasPrefix("Nullable(") == !CallRow.requiredColumns.contains(name), "column \(name): \(type)")
        }
        let revisions = try sink._query("DESCRIBE TABLE call_revisions").compactMap { JSONEachRow.text($0["name"]) }
        #expect(revisions == CallRow.revisionColumns)
    }

    @Test("four loaders preparing at once leave one schema_migrations row per version")
    func concurrentPrepare() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let configuration = database.configuration
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                let sink = try ClickHouseSink(configuration: configuration)
                try sink.prepare()
                sink.close()
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        let sink = try database.openSink()
        #expect(try sink.count(table: "schema_migrations") == 2)
        #expect(try sink.apply([E.event(receivedAt: E.may1(9))], loadedAt: E.may1(9)) == ApplySummary(inserted: 1, revisionsAdded: 1))
    }

    @Test("a database with a newer schema version is refused and left as it is")
    func newerSchemaRefused() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        try sink._execute("INSERT INTO schema_migrations (version, name, applied_at) FORMAT JSONEachRow",
                          data: #"{"version":3,"name":"from the future","applied_at":"2030-01-01T00:00:00.000Z"}"#)
        let tables = try sink._query("SELECT name FROM system.tables WHERE database = '\(database.database)' ORDER BY name")

        let other = try database.openSink(prepare: false)
        let error = try #require(throws: WarehouseError.self) { try other.prepare() }

        #expect(!error.isTransient)
        #expect(!error.isDataError)
        #expect(error.reason.contains("newer"))
        #expect(try other._query("SELECT name FROM system.tables WHERE database = '\(database.database)' ORDER BY name") == tables)
        #expect(try other.physicalRowCount("schema_migrations") == 3)
        // A refused sink stays unprepared: it writes nothing.
        let notPrepared = try #require(throws: WarehouseError.self) {
            try other.apply([E.event(receivedAt: E.may1(9))], loadedAt: E.may1(9))
        }
        #expect(notPrepared.reason.contains("prepare"))
        #expect(try other.count(table: "calls") == 0)
    }

    @Test("a database whose migration history differs is refused")
    func foreignHistoryRefused() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        // The last insert of a version wins in a ReplacingMergeTree without a version column.
        try sink._execute("INSERT INTO schema_migrations (version, name, applied_at) FORMAT JSONEachRow",
                          data: #"{"version":2,"name":"something else","applied_at":"2024-01-01T00:00:00.000Z"}"#)

        let error = try #require(throws: WarehouseError.self) { try database.openSink() }

        #expect(!error.isTransient)
        #expect(error.reason.contains("another history"))
        #expect(error.reason.contains("something else"))
    }

    @Test("migration 2 is applied to a database a version-1 build left behind")
    func migratesFromVersionOne() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let event = E.event(receivedAt: E.may1(9))
        do {
            let sink = try database.openSink()
            _ = try sink.apply([event], loadedAt: E.may1(9))
            try sink._execute("DROP TABLE entity_tables")
            try sink._execute("DROP TABLE schema_migrations")
            try sink._execute("CREATE TABLE schema_migrations (version UInt64, name String, applied_at String) "
                              + "ENGINE = ReplacingMergeTree ORDER BY version")
            try sink._execute("INSERT INTO schema_migrations FORMAT JSONEachRow",
                              data: #"{"version":1,"name":"create calls and call_revisions","applied_at":"2024-01-01T00:00:00.000Z"}"#)
        }

        let upgraded = try database.openSink()

        #expect(try upgraded.count(table: "schema_migrations") == 2)
        #expect(try upgraded.count(table: "entity_tables") == 0)
        #expect(try upgraded.count(table: "calls") == 1)
        #expect(try upgraded.applyEntities([E.record(receivedAt: E.may1(10))], loadedAt: E.may1(10)) == ApplySummary(inserted: 1))
        #expect(try upgraded.apply([event], loadedAt: E.may1(10)) == ApplySummary(unchanged: 1))
    }

    // MARK: - The version rule

    @Test("insert, exact re-send (nothing written, loaded_at kept), newer revision, as SQLite counts them")
    func insertResendUpdate() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        let first = E.event(status: .inProgress, duration: nil, receivedAt: E.may1(9, 30))
        let second = E.event(status: .answered, duration: 60, receivedAt: E.may1(9, 35))
        #expect(first.eventID == second.eventID && first.revision != second.revision)

        let inserted = try sink.apply([first], loadedAt: E.may1(9, 31))
        let rowAfterInsert = try #require(try sink.callRow(first.eventID))
        let resent = try sink.apply([first], loadedAt: E.may1(12))
        let rowAfterResend = try sink.callRow(first.eventID)
        let physicalAfterResend = (try sink.physicalRowCount("calls"), try sink.physicalRowCount("call_revisions"))
        let updated = try sink.apply([second], loadedAt: E.may1(9, 36))

        #expect(inserted == ApplySummary(inserted: 1, revisionsAdded: 1))
        #expect(resent == ApplySummary(unchanged: 1))
        #expect(updated == ApplySummary(updated: 1, revisionsAdded: 1))
        #expect(rowAfterInsert["loaded_at"] == .string("2024-05-01T09:31:00.000Z"))
        #expect(rowAfterInsert["_version"] == .int(1))
        #expect(rowAfterResend == rowAfterInsert)
        #expect(physicalAfterResend == (1, 1))
        let row = try #require(try sink.callRow(second.eventID))
        #expect(row["revision"] == .string(second.revision))
        #expect(row["status"] == .string("answered"))
        #expect(row["duration_seconds"] == .int(60))
        #expect(row["received_at"] == .string("2024-05-01T09:35:00.000Z"))
        #expect(row["loaded_at"] == .string("2024-05-01T09:36:00.000Z"))
        #expect(row["_version"] == .int(2))
        #expect(try sink.count(table: "calls") == 1)
        #expect(try sink.physicalRowCount("calls") == 2)
        #expect(try sink.count(table: "call_revisions") == 2)
        let (reference, summaries) = try E.sqlite([[first], [first], [second]])
        #expect(summaries == [inserted, resent, updated])
        #expect(try sink.canonicalDump() == reference.canonicalDump())
    }

    @Test("readers without FINAL get the same answer with argMax, and a merge keeps the newest row")
    func argMaxAndMerge() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        // The newest revision has no duration: argMax over a Nullable column skips NULLs (it would
        // answer 11), so readers wrap it in a tuple, as docs/warehouse-clickhouse.md says.
        let events = [Int64(10), 11, nil].enumerated().map { E.event(duration: $1, receivedAt: E.may1(9, $0)) }
        for (offset, event) in events.enumerated() { _ = try sink.apply([event], loadedAt: E.may1(10, offset)) }
        let newest = try #require(events.last)

        let argMax = try sink._query("SELECT argMax(revision, _version) AS revision, max(_version) AS v, "
                                     + "argMax(tuple(duration_seconds), _version).1 AS duration FROM calls "
                                     + "WHERE event_id = '\(newest.eventID)'")
        let final = try sink._query("SELECT revision, _version AS v, duration_seconds AS duration FROM calls FINAL")
        try sink._execute("OPTIMIZE TABLE calls FINAL")

        #expect(argMax == [["revision": .string(newest.revision), "v": .int(3), "duration": .null]])
        #expect(final == argMax)
        #expect(try sink.physicalRowCount("calls") == 1)
        #expect(try sink._query("SELECT revision FROM calls") == [["revision": .string(newest.revision)]])
        #expect(try sink.apply(events, loadedAt: E.may1(11)) == ApplySummary(unchanged: 3))
    }

    @Test("an older revision arriving after a newer one is kept out, by received_at and by source_updated_at")
    func olderRevisionIgnored() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        let older = E.event(callID: "r", status: .inProgress, duration: nil, receivedAt: E.may1(9, 30))
        let newer = E.event(callID: "r", status: .answered, duration: 60, receivedAt: E.may1(9, 35))
        // The vendor's later edit (10:05) reached us first; the earlier state (10:00) came by a slow poll.
        let edited = E.event(callID: "s", duration: 90, sourceUpdatedAt: E.may1(10, 5), channel: .webhook, receivedAt: E.may1(10, 6))
        let stale = E.event(callID: "s", duration: 60, sourceUpdatedAt: E.may1(10), channel: .poll, receivedAt: E.may1(11))
        let batches = [[newer, edited], [older, stale]]

        let first = try sink.apply(batches[0], loadedAt: E.may1(11, 1))
        let before = try sink._query("SELECT * FROM calls FINAL ORDER BY event_id")
        let second = try sink.apply(batches[1], loadedAt: E.may1(11, 2))

        #expect(second == ApplySummary(unchanged: 2, revisionsAdded: 2))
        #expect(try sink._query("SELECT * FROM calls FINAL ORDER BY event_id") == before)
        #expect(try sink.physicalRowCount("calls") == 2)
        #expect(try sink.callRow(edited.eventID)?["duration_seconds"] == .int(90))
        #expect(try sink.count(table: "call_revisions") == 4)
        let (reference, summaries) = try E.sqlite(batches)
        #expect(summaries == [first, second])
        #expect(try sink.canonicalDump() == reference.canonicalDump())
    }

    @Test("A, B, A in one batch, and B, A over a stored A: ends like SQLite, only the final row written")
    func flipFlopLikeSQLite() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        let a1 = E.event(duration: 60, receivedAt: E.may1(9))
        let b = E.event(duration: 61, receivedAt: E.may1(10))
        let a2 = E.event(duration: 60, channel: .poll, receivedAt: E.may1(11))
        #expect(a1.revision == a2.revision)
        let c = E.event(callID: "c", duration: 1, receivedAt: E.may1(9))
        let d = E.event(callID: "c", duration: 2, receivedAt: E.may1(10))
        let c2 = E.event(callID: "c", duration: 1, channel: .backfill, receivedAt: E.may1(11))
        let batches = [[a1, b, a2, c], [d, c2]]

        let summaries = try batches.map { try sink.apply($0, loadedAt: E.may1(12)) }

        #expect(summaries[0] == ApplySummary(inserted: 2, updated: 2, revisionsAdded: 3))
        let row = try #require(try sink.callRow(a1.eventID))
        #expect(row["revision"] == .string(a1.revision))
        #expect(row["received_at"] == .string("2024-05-01T11:00:00.000Z"))
        #expect(row["channel"] == .string("poll"))
        #expect(row["_version"] == .int(1))
        #expect(try sink.physicalRowCount("calls") == 3)  // a (once), c, then c's final row of batch 2
        let (reference, expected) = try E.sqlite(batches)
        #expect(summaries == expected)
        #expect(try sink.canonicalDump() == reference.canonicalDump())
    }

    @Test("a mixed batch counts every event once, in array order, as SQLite does")
    func mixedBatch() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        let x1 = E.event(callID: "x", duration: 10, receivedAt: E.may1(9))
        let y1 = E.event(callID: "y", duration: 10, receivedAt: E.may1(9, 10))
        let z = E.event(callID: "z", receivedAt: E.may1(10))
        let x2 = E.event(callID: "x", duration: 20, receivedAt: E.may1(10, 1))
        let y0 = E.event(callID: "y", duration: 5, receivedAt: E.may1(9, 5))
        let w1 = E.event(callID: "w", duration: 1, receivedAt: E.may1(10, 2))
        let w2 = E.event(callID: "w", duration: 2, receivedAt: E.may1(10, 3))
        let batches = [[x1, y1], [z, x2, x1, y0, w1, w2]]

        let summaries = [try sink.apply(batches[0], loadedAt: E.may1(9, 20)), try sink.apply(batches[1], loadedAt: E.may1(10, 5))]

        // z, w1 new; x2 and w2 newer; x1 (stored before, now older than x2) and y0 (older) kept out.
        #expect(summaries[1] == ApplySummary(inserted: 2, updated: 2, unchanged: 2, revisionsAdded: 5))
        #expect(try sink.count(table: "calls") == 4)
        #expect(try sink.count(table: "call_revisions") == 7)
        #expect(try sink.callRow(y1.eventID)?["loaded_at"] == .string("2024-05-01T09:20:00.000Z"))
        #expect(try sink.callRow(x1.eventID)?["revision"] == .string(x2.revision))
        #expect(try sink.callRow(w1.eventID)?["revision"] == .string(w2.revision))
        let (reference, expected) = try E.sqlite(batches)
        #expect(summaries == expected)
        #expect(try sink.canonicalDump() == reference.canonicalDump())
    }

    @Test("call_revisions holds each distinct revision once, first delivery, with the event's exact JSON")
    func revisionsAreDistinct() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        let r1 = E.event(duration: 1, receivedAt: E.may1(9))
        let r2 = E.event(duration: 2, receivedAt: E.may1(10))
        let r1again = E.event(duration: 1, channel: .poll, receivedAt: E.may1(10, 30))
        let rich = E.awkwardEvent()

        let first = try sink.apply([r1, r2, r1again, rich], loadedAt: E.may1(10, 1))
        let again = try sink.apply([r1, r2, rich], loadedAt: E.may1(12))

        #expect(first.revisionsAdded == 3)
        #expect(again.revisionsAdded == 0)
        #expect(try sink.physicalRowCount("call_revisions") == 3)
        for event in [r1, r2, rich] {
            let rows = try sink._query("SELECT * FROM call_revisions FINAL WHERE event_id = '\(event.eventID)' "
                                       + "AND revision = '\(event.revision)'")
            let row = try #require(rows.first)
            #expect(rows.count == 1)
            #expect(row["event_json"] == .string(String(decoding: event.jsonBytes(), as: UTF8.self)))
            #expect(row["channel"] == .string(event.channel.rawValue))
            #expect(row["received_at"] == .string(CallRow.text(event.receivedAt)))
            #expect(row["loaded_at"] == .string("2024-05-01T10:01:00.000Z"))
            let json = try #require(JSONEachRow.text(row["event_json"]))
            #expect(try CallEvent.decode(Array(json.utf8)) == event)
        }
    }

    // MARK: - Canonical dump

    @Test("the canonical dump equals SQLite's for the same events, awkward text and NULLs included, any batching")
    func canonicalDumpEqualsSQLite() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        var noFirstCall = CallContent(source: "callrail", sourceAccountID: "a", sourceCallID: "d")
        noFirstCall.firstCall = nil
        noFirstCall.tags = ["only"]
        let events = [
            E.event(callID: "b", duration: 1, receivedAt: E.may1(9)),
            E.event(callID: "a", duration: 1, receivedAt: E.may1(9, 1)),
            E.event(callID: "b", duration: 2, receivedAt: E.may1(9, 2)),
            E.awkwardEvent(),
            E.sparseEvent(),
            CallEvent(content: noFirstCall, channel: .webhook, receivedAt: E.may1(8, 0, 0, millisecond: 7)),
        ]
        for (offset, event) in events.enumerated() {
            _ = try sink.apply([event], loadedAt: E.may1(13, offset))
        }
        let (reference, _) = try E.sqlite([events])

        let dump = try sink.canonicalDump()

        #expect(dump == (try reference.canonicalDump()))
        #expect(dump.count == 5)
        let rich = E.awkwardEvent()
        let richLine = try #require(dump.first { $0.hasPrefix("event_id=\"\(rich.eventID)\"") })
        #expect(richLine.contains("tags=" + jsonStringLiteral(CallRow.jsonArray(rich.content.tags))))
        #expect(richLine.contains(#"caller_name="Jane \"JJ\" O'Doe\\Smith""#))
        #expect(richLine.contains(#"agent_name="Sam\tAgent\nSecond line\r\n""#))
        #expect(richLine.contains(#"tracking_campaign_name="Spring Sale \u0001 ✓""#))
        let sparse = try #require(dump.first { $0.hasPrefix("event_id=\"\(E.sparseEvent().eventID)\"") })
        #expect(sparse.contains("started_at=null") && sparse.contains("first_call=0") && sparse.contains(#"tags="[]""#))
        // Analysts get a real array and DateTime companions.
        let analyst = try sink._query("SELECT has(tags, 'it\\'s') AS quoted, length(tags) AS n, toString(received_at_time) AS t, "
                                      + "toString(ended_at_time) AS ended FROM calls FINAL WHERE event_id = '\(rich.eventID)'")
        #expect(analyst == [["quoted": .int(1), "n": .int(Int64(rich.content.tags.count)), "t": .string("2024-05-01 10:05:01"),
                             "ended": .string("2024-05-01 10:02:05")]])
    }

    // MARK: - Replays

    @Test("replaying batches already applied writes nothing: same rows, loaded_at and _version included")
    func replayIsIdempotent() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        let batches: [[CallEvent]] = [
            (0..<20).map { E.event(callID: "c\($0)", duration: Int64($0), receivedAt: E.may1(9, $0)) },
            (0..<20).map { E.event(callID: "c\($0)", duration: Int64($0 + 100), receivedAt: E.may1(10, $0)) },
            [E.awkwardEvent(), E.sparseEvent()] + (0..<5).map { E.event(callID: "c\($0)", duration: Int64($0), receivedAt: E.may1(9, $0)) },
        ]
        for batch in batches { _ = try sink.apply(batch, loadedAt: E.may1(11)) }
        let rows = try sink._query("SELECT * FROM calls FINAL ORDER BY event_id")
        let revisions = try sink._query("SELECT * FROM call_revisions FINAL ORDER BY event_id, revision")
        let physical = (try sink.physicalRowCount("calls"), try sink.physicalRowCount("call_revisions"))

        let replays = try batches.map { try sink.apply($0, loadedAt: E.may1(15)) }

        #expect(replays.map(\.unchanged) == batches.map(\.count))
        #expect(replays.allSatisfy { $0.inserted == 0 && $0.updated == 0 && $0.revisionsAdded == 0 })
        #expect(try sink._query("SELECT * FROM calls FINAL ORDER BY event_id") == rows)
        #expect(try sink._query("SELECT * FROM call_revisions FINAL ORDER BY event_id, revision") == revisions)
        #expect(physical == (try sink.physicalRowCount("calls"), try sink.physicalRowCount("call_revisions")))
        #expect(rows.count == 22)
    }

    @Test("a batch whose call_revisions insert landed but whose calls insert did not completes on retry")
    func retryAfterHalfAppliedBatch() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let other = try TemporaryClickHouseDatabase()
        defer { other.drop() }
        let sink = try database.openSink()
        let scratch = try other.openSink()
        let stored = [E.event(callID: "x", duration: 1, receivedAt: E.may1(9))]
        let batch = [E.event(callID: "x", duration: 2, receivedAt: E.may1(10)), E.awkwardEvent(), E.sparseEvent()]
        _ = try sink.apply(stored, loadedAt: E.may1(9, 1))
        // Make `database` look as if the batch stopped between its two inserts: its audit rows are there.
        _ = try scratch.apply(batch, loadedAt: E.may1(10, 1))
        try sink._execute("INSERT INTO call_revisions SELECT * FROM `\(other.database)`.call_revisions")

        let retry = try sink.apply(batch, loadedAt: E.may1(10, 2))

        #expect(retry == ApplySummary(inserted: 2, updated: 1, revisionsAdded: 0))
        let (reference, _) = try E.sqlite([stored, batch])
        #expect(try sink.canonicalDump() == reference.canonicalDump())
        #expect(try sink.count(table: "call_revisions") == 4)
        #expect(try sink.apply(batch, loadedAt: E.may1(10, 3)) == ApplySummary(unchanged: 3))
    }

    // MARK: - Entity records

    @Test("entity records: table made on first use and registered, insert, exact re-send, newer, older")
    func entityUpserts() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        let record = E.record(sourceUpdatedAt: E.may1(9), receivedAt: E.may1(9, 30, 0, millisecond: 250))
        let sameDataOtherRaw = EntityRecord(source: "ctm", entity: "accounts", id: "42", accountID: "acct-1",
                                            data: record.data, raw: .object(["extra": .int(1)]), sourceUpdatedAt: E.may1(9),
                                            receivedAt: E.may1(11), channel: .backfill)
        let renamed = E.record(name: "Acme Ltd", sourceUpdatedAt: E.may1(10, 5), receivedAt: E.may1(10, 6))
        let stale = E.record(name: "Acme Old", sourceUpdatedAt: E.may1(10), receivedAt: E.may1(11, 30))

        let inserted = try sink.applyEntities([record], loadedAt: E.may1(9, 31))
        let row = try #require(try sink._query("SELECT * FROM ctm_accounts FINAL").first)
        let resent = try sink.applyEntities([record], loadedAt: E.may1(12))
        let laterCopy = try sink.applyEntities([sameDataOtherRaw], loadedAt: E.may1(12, 1))
        let unchangedRows = try sink._query("SELECT * FROM ctm_accounts FINAL")
        let physical = try sink.physicalRowCount("ctm_accounts")
        let updated = try sink.applyEntities([renamed], loadedAt: E.may1(10, 7))
        let older = try sink.applyEntities([stale], loadedAt: E.may1(11, 31))

        #expect(inserted == ApplySummary(inserted: 1))
        #expect(resent == ApplySummary(unchanged: 1) && laterCopy == ApplySummary(unchanged: 1))
        #expect(updated == ApplySummary(updated: 1) && older == ApplySummary(unchanged: 1))
        #expect(row == [
            "id": .string("42"), "account_id": .string("acct-1"), "data": .string(#"{"id":"42","name":"Acme"}"#),
            "raw": .string(#"{"Id":"42","Name":"Acme"}"#), "revision": .string(record.revision), "channel": .string("poll"),
            "source_updated_at": .string("2024-05-01T09:00:00.000Z"), "received_at": .string("2024-05-01T09:30:00.250Z"),
            "version_key": .string("001714554000000|001714555800250|" + record.revision),
            "loaded_at": .string("2024-05-01T09:31:00.000Z"), "_version": .int(1),
        ])
        #expect(unchangedRows == [row])
        #expect(physical == 1)
        let final = try #require(try sink._query("SELECT * FROM ctm_accounts FINAL").first)
        #expect(final["revision"] == .string(renamed.revision))
        #expect(final["_version"] == .int(2))
        #expect(try sink._query("SELECT visitParamExtractString(data, 'name') AS name FROM ctm_accounts FINAL")
            == [["name": .string("Acme Ltd")]])
        #expect(try sink._query("SELECT table_name, source, entity, created_at FROM entity_tables FINAL") == [[
            "table_name": .string("ctm_accounts"), "source": .string("ctm"), "entity": .string("accounts"),
            "created_at": .string("2024-05-01T09:31:00.000Z"),
        ]])
        let columns = try sink._query("DESCRIBE TABLE ctm_accounts").compactMap { JSONEachRow.text($0["name"]) }
        #expect(columns == EntityRow.columns + ["_version"])
        #expect(try sink.count(table: "ctm_accounts") == 1)
        #expect(try sink.count(table: "calls") == 0)
    }

    @Test("one entity batch: several tables, two revisions of one object, counts as SQLite's")
    func entityMixedBatch() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        let batch = [
            E.record(id: "1", name: "One", receivedAt: E.may1(9)),
            E.record(id: "2", name: "Two", receivedAt: E.may1(9)),
            E.record(id: "1", name: "One, renamed", receivedAt: E.may1(9, 5)),
            E.record(source: "justcall", entity: "users", id: "u-1", name: "Sam", receivedAt: E.may1(9)),
            E.record(source: "callrail", entity: "form_submissions", id: "f-1", name: "Form", receivedAt: E.may1(9)),
            E.record(id: "1", name: "One", receivedAt: E.may1(9)),  // the first revision again: older
        ]
        let reference = try SQLiteSink(path: ":memory:")
        try reference.prepare()

        let summary = try sink.applyEntities(batch, loadedAt: E.may1(9, 10))
        let replay = try sink.applyEntities(batch, loadedAt: E.may1(9, 20))

        #expect(summary == (try reference.applyEntities(batch, loadedAt: E.may1(9, 10))))
        #expect(summary == ApplySummary(inserted: 4, updated: 1, unchanged: 1))
        #expect(replay == (try reference.applyEntities(batch, loadedAt: E.may1(9, 20))))
        #expect(try sink.count(table: "ctm_accounts") == 2)
        #expect(try sink.count(table: "justcall_users") == 1)
        #expect(try sink.count(table: "callrail_form_submissions") == 1)
        #expect(try sink._query("SELECT visitParamExtractString(data, 'name') AS name FROM ctm_accounts FINAL WHERE id = '1'")
            == [["name": .string("One, renamed")]])
        #expect(try sink._query("SELECT table_name FROM entity_tables FINAL ORDER BY table_name").map { $0["table_name"] }
            == ["callrail_form_submissions", "ctm_accounts", "justcall_users"].map { .string($0) })
    }

    @Test("ids with quotes, backslashes, control characters and non-ASCII are matched exactly on re-send")
    func awkwardIDs() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        let ids = ["it's", #"back\slash"#, #"\'"#, "new\nline", "tab\there", "nul\u{0}byte", "ünï 🔧", "') OR 1=1 --", "x\u{7F}"]
        let records = ids.map { E.record(id: $0, name: "n", receivedAt: E.may1(9)) }

        let first = try sink.applyEntities(records, loadedAt: E.may1(9, 1))
        let again = try sink.applyEntities(records, loadedAt: E.may1(9, 2))

        #expect(first == ApplySummary(inserted: ids.count))
        #expect(again == ApplySummary(unchanged: ids.count))
        #expect(try sink.physicalRowCount("ctm_accounts") == ids.count)
        let stored = try sink._query("SELECT id FROM ctm_accounts FINAL").compactMap { JSONEachRow.text($0["id"]) }
        #expect(Set(stored) == Set(ids))
    }

    @Test("a record with a bad name is refused as data before any SQL; nothing of the batch is written")
    func badEntityNamesRefused() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        let good = E.record(receivedAt: E.may1(9))
        let evil = E.record(source: "ctm`; DROP TABLE calls; --", receivedAt: E.may1(9))
        _ = try sink.apply([E.event(receivedAt: E.may1(9))], loadedAt: E.may1(9))
        let tablesSQL = "SELECT name FROM system.tables WHERE database = '\(database.database)' ORDER BY name"
        let tables = try sink._query(tablesSQL)

        let error = try #require(throws: WarehouseError.self) { try sink.applyEntities([good, evil], loadedAt: E.may1(9, 1)) }

        #expect(error.isDataError && !error.isTransient)
        #expect(error.reason.contains("^[a-z][a-z0-9_]*$"))
        #expect(try sink._query(tablesSQL) == tables)
        #expect(try sink.count(table: "entity_tables") == 0)
        #expect(try sink.count(table: "calls") == 1)
        var tampered = good
        tampered.data = .object(["name": .string("tampered")])
        #expect(throws: WarehouseError.self) { try sink.applyEntities([tampered], loadedAt: E.may1(9, 2)) }
        #expect(try sink.applyEntities([good], loadedAt: E.may1(9, 3)) == ApplySummary(inserted: 1))
    }

    @Test("two (source, entity) pairs with one table name: the second is refused, in a later batch or the same one")
    func entityTableClash() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        let first = E.record(source: "ctm_x", entity: "accounts", receivedAt: E.may1(9))
        let clash = E.record(source: "ctm", entity: "x_accounts", id: "7", receivedAt: E.may1(9))
        let newcomer = E.record(source: "justcall", entity: "users", id: "u-1", receivedAt: E.may1(9))
        #expect(first.tableName == clash.tableName)
        _ = try sink.applyEntities([first], loadedAt: E.may1(9, 1))

        let later = try #require(throws: WarehouseError.self) { try sink.applyEntities([clash], loadedAt: E.may1(9, 2)) }
        let fresh = try database.openSink()
        let fromFreshSink = try #require(throws: WarehouseError.self) {
            try fresh.applyEntities([newcomer, clash], loadedAt: E.may1(9, 3))
        }

        #expect(later.isDataError && later.reason.contains("already the table of"))
        #expect(fromFreshSink.isDataError)
        #expect(try fresh.count(table: "ctm_x_accounts") == 1)
        // Refused before anything was written: the newcomer's table was not created.
        #expect(try fresh.count(table: "entity_tables") == 1)
        #expect(try fresh._query("SELECT name FROM system.tables WHERE database = '\(database.database)' AND name = 'justcall_users'")
            .isEmpty)

        let other = try TemporaryClickHouseDatabase()
        defer { other.drop() }
        let inOneBatch = try other.openSink()
        let error = try #require(throws: WarehouseError.self) {
            try inOneBatch.applyEntities([newcomer, first, clash], loadedAt: E.may1(9))
        }
        #expect(error.isDataError)
        #expect(try inOneBatch.count(table: "entity_tables") == 0)
    }

    @Test("a dropped entity table is created again: the failed batch's retry succeeds")
    func droppedEntityTableRecreated() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        let record = E.record(receivedAt: E.may1(9))
        _ = try sink.applyEntities([record], loadedAt: E.may1(9))
        try sink._execute("DROP TABLE ctm_accounts")

        let failed = try #require(throws: WarehouseError.self) { try sink.applyEntities([record], loadedAt: E.may1(10)) }
        let retried = try sink.applyEntities([record], loadedAt: E.may1(10))

        #expect(!failed.isDataError)
        #expect(retried == ApplySummary(inserted: 1))
        #expect(try sink.count(table: "entity_tables") == 1)
    }

    @Test("count(table:) takes CallFeed's and registered entity tables only, and never runs a name as SQL")
    func countValidatesTables() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        _ = try sink.applyEntities([E.record(receivedAt: E.may1(9))], loadedAt: E.may1(9))
        try sink._execute("CREATE TABLE analyst_scratch (x UInt8) ENGINE = ReplacingMergeTree ORDER BY x")
        try sink._execute("INSERT INTO entity_tables FORMAT JSONEachRow",
                          data: #"{"table_name":"x\"; DROP TABLE calls; --","source":"x","entity":"y","created_at":"2024"}"#)

        #expect(try sink.count(table: "ctm_accounts") == 1)
        #expect(throws: WarehouseError.self) { try sink.count(table: "analyst_scratch") }
        #expect(throws: WarehouseError.self) { try sink.count(table: "ctm_users") }
        #expect(throws: WarehouseError.self) { try sink.count(table: "ctm_accounts; DROP TABLE calls") }
        #expect(throws: WarehouseError.self) { try sink.count(table: "x\"; DROP TABLE calls; --") }
        #expect(try sink.count(table: "calls") == 0)
        #expect(try sink.count(table: "entity_tables") == 2)
    }

    // MARK: - Errors

    @Test("a server that refuses connections gives transient errors")
    func connectionRefusedIsTransient() throws {
        let closed = try LoopbackSocket(listening: false)
        let sink = try ClickHouseSink(configuration: ClickHouseConfiguration(url: "http://127.0.0.1:\(closed.port)",
                                                                             database: "callfeed", timeoutSeconds: 5))

        let error = try #require(throws: WarehouseError.self) { try sink.prepare() }
        let dump = try #require(throws: WarehouseError.self) { try sink.canonicalDump() }

        #expect(error.isTransient && !error.isDataError)
        #expect(error.code & 0xFF == 10)
        #expect(error.reason.contains("unreachable"))
        #expect(dump.isTransient)
    }

    @Test("a server that accepts and never answers gives a transient timeout", .timeLimit(.minutes(1)))
    func silentServerTimesOut() throws {
        let silent = try LoopbackSocket(listening: true)
        let sink = try ClickHouseSink(configuration: ClickHouseConfiguration(url: "http://127.0.0.1:\(silent.port)",
                                                                             database: "callfeed", timeoutSeconds: 1))
        let started = ContinuousClock.now

        let error = try #require(throws: WarehouseError.self) { try sink.prepare() }

        #expect(error.isTransient)
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("wrong credentials are a non-transient authentication error")
    func wrongPassword() throws {
        let database = try TemporaryClickHouseDatabase()
        var configuration = database.configuration
        configuration.password = "not the password"
        let sink = try ClickHouseSink(configuration: configuration)

        let error = try #require(throws: WarehouseError.self) { try sink.prepare() }

        #expect(!error.isTransient && !error.isDataError)
        #expect(error.code & 0xFF == 23)
        #expect(!error.reason.contains("not the password"))
    }

    @Test("a malformed event is refused as data before anything is written")
    func malformedEventRefused() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        let good = E.event(callID: "good", receivedAt: E.may1(9))
        var shortID = E.event(callID: "bad", receivedAt: E.may1(9))
        shortID.eventID = "not-a-uuid'); DROP TABLE calls; --"
        var badRevision = E.event(callID: "bad2", receivedAt: E.may1(9))
        badRevision.revision = "abc"

        let idError = try #require(throws: WarehouseError.self) { try sink.apply([good, shortID], loadedAt: E.may1(9)) }
        let revisionError = try #require(throws: WarehouseError.self) { try sink.apply([badRevision], loadedAt: E.may1(9)) }

        #expect(idError.isDataError && !idError.isTransient)
        #expect(revisionError.isDataError)
        #expect(try sink.physicalRowCount("calls") == 0)
        #expect(try sink.physicalRowCount("call_revisions") == 0)
        // SQLite refuses the same events (CHECK constraints), also as data.
        let reference = try SQLiteSink(path: ":memory:")
        try reference.prepare()
        let sqliteError = try #require(throws: WarehouseError.self) { try reference.apply([good, shortID], loadedAt: E.may1(9)) }
        #expect(sqliteError.isDataError)
    }

    @Test("a value the server cannot parse is a data error, and the insert writes nothing")
    func serverRefusesMalformedValue() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        let rows = #"{"event_id":"a","duration_seconds":1}"# + "\n" + #"{"event_id":"b","duration_seconds":"ten"}"#

        let error = try #require(throws: WarehouseError.self) {
            try sink._execute("INSERT INTO calls (event_id, duration_seconds) FORMAT JSONEachRow", data: rows)
        }
        let negative = try #require(throws: WarehouseError.self) {
            try sink._execute("INSERT INTO calls (event_id, _version) FORMAT JSONEachRow", data: #"{"event_id":"c","_version":-1}"#)
        }

        #expect(error.isDataError && !error.isTransient)
        #expect(error.code >> 8 > 0, "carries ClickHouse's exception code: \(error)")
        #expect(error.reason.contains("duration_seconds"))
        #expect(negative.isDataError)
        #expect(try sink.physicalRowCount("calls") == 0)
        let unknownTable = try #require(throws: WarehouseError.self) { try sink._query("SELECT * FROM no_such_table") }
        #expect(!unknownTable.isDataError && !unknownTable.isTransient)
        #expect(unknownTable.code >> 8 == 60)
    }

    @Test("HTTP answers map to transient, data and other errors")
    func errorClassification() {
        func error(_ status: Int, _ body: String, _ headers: [String: String] = [:]) -> WarehouseError {
            ClickHouseErrors.error(status: status, headers: headers, body: body, statement: "SELECT 1\nsecret data")
        }
        let proxy = error(502, "<html>Bad Gateway</html>")
        let starting = error(503, "")
        let parse = error(500, "Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected \" before: ten, e.what() = DB::Exception\n")
        let unknownTable = error(404, "Code: 60, e.displayText() = DB::Exception: Table x.y doesn't exist., e.what() = DB::Exception\n")
        let tooManyParts = error(500, "Code: 252, e.displayText() = DB::Exception: Too many parts (300)")
        let memory = error(500, "Memory limit (for query) exceeded", ["x-clickhouse-exception-code": "241"])
        let forbidden = error(403, "")

        #expect(proxy.isTransient && !proxy.isDataError && proxy.code == 10)
        #expect(starting.isTransient)
        #expect(parse.isDataError && !parse.isTransient && parse.code == 27 << 8 | 20)
        #expect(!parse.reason.contains("e.what()") && !parse.reason.contains("secret data"))
        #expect(!unknownTable.isTransient && !unknownTable.isDataError && unknownTable.code == 60 << 8 | 1)
        #expect(tooManyParts.isTransient && !tooManyParts.isDataError)
        #expect(memory.isDataError && memory.code & 0xFF == 18)
        #expect(!forbidden.isTransient && forbidden.code == 23)
        // 276 & 0xFF == 20: a ClickHouse code is never mistaken for a primary code.
        #expect(!error(500, "Code: 276, e.displayText() = DB::Exception: whatever").isDataError)
    }

    @Test("string literals escape quotes, backslashes and control bytes; identifiers are validated")
    func sqlEscaping() {
        #expect(ClickHouseSQL.stringLiteral(#"it's \ "x""#) == #"'it\'s \\ "x"'"#)
        #expect(ClickHouseSQL.stringLiteral("a\nb\u{0}c\u{7F}ü") == #"'a\x0Ab\x00c\x7Fü'"#)
        #expect(ClickHouseSQL.databaseIdentifier("callfeed_1") == "`callfeed_1`")
        #expect(ClickHouseSQL.databaseIdentifier("a`b") == nil)
        #expect(ClickHouseSQL.databaseIdentifier("1abc") == nil)
        #expect(ClickHouseSQL.tableIdentifier("ctm_accounts") == "\"ctm_accounts\"")
        #expect(ClickHouseSQL.tableIdentifier("Calls") == nil)
    }

    @Test("bad configuration is refused at init; apply before prepare and after close throws")
    func lifecycleMisuse() throws {
        #expect(throws: WarehouseError.self) { try ClickHouseSink(configuration: ClickHouseConfiguration(database: "a-b")) }
        #expect(throws: WarehouseError.self) { try ClickHouseSink(configuration: ClickHouseConfiguration(url: "ftp://x")) }
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink(prepare: false)
        let event = E.event(receivedAt: E.may1(9))
        let beforePrepare = try #require(throws: WarehouseError.self) { try sink.apply([event], loadedAt: E.may1(9)) }
        #expect(beforePrepare.reason.contains("prepare") && beforePrepare.code == 21)
        try sink.prepare()
        #expect(try sink.apply([], loadedAt: E.may1(9)) == ApplySummary())
        #expect(try sink.applyEntities([], loadedAt: E.may1(9)) == ApplySummary())
        sink.close()
        sink.close()
        let afterClose = try #require(throws: WarehouseError.self) { try sink.apply([event], loadedAt: E.may1(9)) }
        #expect(afterClose.reason.contains("closed"))
        #expect(throws: WarehouseError.self) { try sink.prepare() }
    }

    // MARK: - Throughput (printed, not asserted)

    @Test("10,000 events in batches of 500 all land; the throughput is printed", .timeLimit(.minutes(3)))
    func throughput() throws {
        let database = try TemporaryClickHouseDatabase()
        defer { database.drop() }
        let sink = try database.openSink()
        let events = (0..<10_000).map { n in
            var content = CallContent(source: "ctm", sourceAccountID: "acct-\(n % 7)", sourceCallID: "call-\(n)",
                                      direction: .inbound, status: .answered)
            content.startedAt = E.may1(9, n % 60)
            content.durationSeconds = Int64(n % 600)
            content.callerNumber = "+1555\(1_000_000 + n)"
            content.tags = n % 3 == 0 ? ["new"] : []
            return CallEvent(content: content, channel: .webhook, receivedAt: E.may1(10, n % 60))
        }
        let batches = stride(from: 0, to: events.count, by: 500).map { Array(events[$0..<min($0 + 500, events.count)]) }

        let started = ContinuousClock.now
        var inserted = 0
        for batch in batches { inserted += try sink.apply(batch, loadedAt: E.may1(11)).inserted }
        let elapsed = ContinuousClock.now - started
        let replayStarted = ContinuousClock.now
        var unchanged = 0
        for batch in batches { unchanged += try sink.apply(batch, loadedAt: E.may1(12)).unchanged }
        let replayElapsed = ContinuousClock.now - replayStarted

        #expect(inserted == 10_000)
        #expect(unchanged == 10_000)
        #expect(try sink.count(table: "calls") == 10_000)
        #expect(try sink.physicalRowCount("calls") == 10_000)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let replaySeconds = Double(replayElapsed.components.seconds) + Double(replayElapsed.components.attoseconds) / 1e18
        print("ClickHouse throughput: 10,000 events in 20 batches of 500: \(elapsed) "
              + "(\(Int(10_000 / seconds)) events/s, \(Int(seconds * 1000 / 20)) ms/batch); "
              + "replay (reads only): \(replayElapsed) (\(Int(10_000 / replaySeconds)) events/s)")
    }
}
