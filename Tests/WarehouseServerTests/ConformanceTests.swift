import CallFeedCore
import CallFeedTestSupport
import Foundation
import HTTPClient
import Testing
@_spi(Testing) import Warehouse
import WarehouseBigQuery
import WarehouseClickHouse
@_spi(Testing) import WarehousePostgres

/// The same events, every sink, identical `calls` (docs/warehouse.md, Conformance). SQLite is the
/// reference: it applies events one by one, exactly as the rule is written. Each server sink must
/// count the same and end with the same canonical dump, and a replay of everything (the loader
/// re-reading after a crash) must change nothing anywhere.
@Suite struct ConformanceTests {
    static let scenario = ConformanceScenario()

    /// The reference itself: SQLite ends with exactly the revisions the scenario was built to end with.
    @Test func sqliteEndsWithTheScenariosLatestRevisions() throws {
        let (sink, _) = try Self.loadSQLite()
        let rows = try sink._query("SELECT event_id, revision FROM calls")
        #expect(rows.count == 850)
        var actual: [String: String] = [:]
        for row in rows {
            if case .text(let id)? = row["event_id"], case .text(let revision)? = row["revision"] { actual[id] = revision }
        }
        #expect(actual == Self.scenario.expectedRevisions)
        #expect(try sink.count(table: "call_revisions") == 850 + 50 + 30 + 10 + Self.flipFlopNewRevisions)
    }

    @Test(.enabled(if: TestServers.shouldRun(TestServers.postgres)))
    func postgresMatchesSQLite() throws {
        let database = try TemporaryPostgresSchema()
        defer { database.drop() }
        try Self.assertConforms(try database.openSink(), name: "PostgreSQL")
    }

    @Test(.enabled(if: TestServers.shouldRun(TestServers.clickhouse)))
    func clickHouseMatchesSQLite() throws {
        let url = try #require(TestServers.clickhouse)
        let database = "conformance_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        defer { _ = try? HTTPClient().request("POST", url + "/", body: Array("DROP DATABASE IF EXISTS \(database)".utf8)) }
        let sink = try ClickHouseSink(configuration: ClickHouseConfiguration(url: url, database: String(database)))
        defer { sink.close() }
        try sink.prepare()
        try Self.assertConforms(sink, name: "ClickHouse")
    }

    @Test(.enabled(if: TestServers.shouldRun(TestServers.bigquery)))
    func bigQueryMatchesSQLite() throws {
        let endpoint = try #require(TestServers.bigquery)
        let dataset = "conformance_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        defer { _ = try? HTTPClient().request("DELETE", "\(endpoint)/bigquery/v2/projects/callfeed-test/datasets/\(dataset)?deleteContents=true") }
        let sink = try BigQuerySink(configuration: BigQueryConfiguration(project: "callfeed-test", dataset: dataset,
                                                                         endpoint: endpoint, auth: .none))
        defer { sink.close() }
        try sink.prepare()
        try Self.assertConforms(sink, name: "BigQuery")
    }

    // MARK: - Harness

    /// Flip-flop calls: CallKeeper ones (even n) start from the same revision A as their first event,
    /// CTM ones (odd n) from a new one; B is always new.
    static var flipFlopNewRevisions: Int {
        (0..<10).map { $0 * 7 + 6 }.reduce(0) { $0 + ($1 % 2 == 1 ? 1 : 0) }
    }

    static func loadSQLite() throws -> (SQLiteSink, [ApplySummary]) {
        let sink = try SQLiteSink(path: ":memory:")
        try sink.prepare()
        let summaries = try scenario.batches.map { try sink.apply($0, loadedAt: .now()) }
        return (sink, summaries)
    }

    /// Loads the scenario into `sink` and SQLite, compares counts per batch and the dumps, then
    /// replays every batch into `sink` and checks nothing changed.
    static func assertConforms(_ sink: some WarehouseSink & CanonicalDumping, name: String) throws {
        let (reference, expected) = try loadSQLite()
        let started = ContinuousClock.now
        var summaries: [ApplySummary] = []
        for batch in scenario.batches { summaries.append(try sink.apply(batch, loadedAt: .now())) }
        let elapsed = ContinuousClock.now - started
        #expect(summaries == expected, "\(name): per-batch counts differ from SQLite's")
        let dump = try sink.canonicalDump()
        let referenceDump = try reference.canonicalDump()
        #expect(dump.count == 850)
        #expect(dump == referenceDump, "\(name): first difference: \(firstDifference(dump, referenceDump))")

        var replay = ApplySummary()
        for batch in scenario.batches {
            let summary = try sink.apply(batch, loadedAt: .now())
            replay.inserted += summary.inserted
            replay.updated += summary.updated
            replay.unchanged += summary.unchanged
            replay.revisionsAdded += summary.revisionsAdded
        }
        // Every row already holds its newest version: nothing in a replay is newer.
        #expect(replay == ApplySummary(unchanged: scenario.events.count), "\(name): replay \(replay)")
        #expect(try sink.canonicalDump() == referenceDump, "\(name): a replay changed the table")
        print("conformance \(name): \(scenario.events.count) events in \(scenario.batches.count) batches loaded in \(elapsed)")
    }

    static func firstDifference(_ a: [String], _ b: [String]) -> String {
        for (x, y) in zip(a, b) where x != y { return "\n  sink:   \(x)\n  sqlite: \(y)" }
        return a.count == b.count ? "none" : "line counts \(a.count) vs \(b.count)"
    }
}
