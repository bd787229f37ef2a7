import CallFeedCore
import Warehouse

/// A ``WarehouseSink`` writing to ClickHouse over its HTTP interface (works with 18.16, the version
/// Debian 12 ships, and later).
///
/// ClickHouse has no transactions and no `UPDATE` fit for per-row upserts, so the sink makes the
/// version rule a property of the data instead (docs/warehouse-clickhouse.md):
///
/// - `calls` is a `ReplacingMergeTree(_version)` ordered by `event_id`: of all the rows one call
///   ever had, readers see the one with the greatest `_version` (`SELECT … FROM calls FINAL`, or
///   `argMax(tuple(column), _version).1`: a bare `argMax` skips NULLs); background merges
///   eventually drop the others.
/// - ``apply(_:loadedAt:)`` reads the stored `(revision, version_key, _version)` of the batch's
///   calls with `FINAL`, applies the batch in memory with ``VersionRule`` (so the counts and the
///   final rows are exactly SQLite's), and inserts only the rows that change, each with
///   `_version = stored _version + 1` (1 for a new call). The newest row by the version rule
///   therefore always has the greatest `_version`.
/// - A batch applied again (the loader crashed before committing its Kafka offsets) reads its own
///   rows back and writes nothing: exactly once for every reader that uses `FINAL` or `argMax`.
///
/// ```swift
/// let sink = try ClickHouseSink(configuration: ClickHouseConfiguration(url: "http://127.0.0.1:8123"))
/// try sink.prepare()
/// let summary = try sink.apply(batch, loadedAt: .now())
/// ```
///
/// - Important: Not `Sendable`: one loader thread owns a sink (it owns one libcurl handle). One
///   loader writes a given call at a time (Kafka gives each partition to one consumer); two sinks
///   writing the same `event_id` concurrently could both read `_version` n and both write n + 1.
public final class ClickHouseSink: WarehouseSink, CanonicalDumping {
    /// The configuration given to `init`.
    public let configuration: ClickHouseConfiguration
    /// `nil` after ``close()``.
    var connection: ClickHouseConnection?
    /// Set by ``prepare()``.
    var isPrepared = false
    /// The (source, entity) of each entity table this sink has created or found registered, by
    /// table name. Emptied by ``prepare()``, ``close()`` and whenever an entity batch fails (an
    /// operator may have dropped a table; the next use checks and creates it again).
    var entityTables: [String: EntityOwner] = [:]

    /// Who an entity table belongs to.
    struct EntityOwner: Equatable {
        var source: String
        var entity: String
    }

    /// Checks the configuration and prepares the HTTP client. Sends nothing: the server is first
    /// contacted by ``prepare()``.
    /// - Parameter configuration: Server, database, credentials, timeout.
    /// - Throws: ``WarehouseError`` (not transient) when the URL is not `http(s)://…` or the database
    ///   name is not an identifier.
    public init(configuration: ClickHouseConfiguration) throws(WarehouseError) {
        self.configuration = configuration
        self.connection = try ClickHouseConnection(configuration: configuration)
    }

    // MARK: - WarehouseSink

    /// Creates the database if missing, then applies every pending migration, one idempotent
    /// statement at a time, recording each in `schema_migrations`.
    ///
    /// The recorded history must be a prefix of this build's migrations: a database migrated by a
    /// newer build, or with a different history, is refused and left as it is. ClickHouse has no
    /// transactional DDL; every migration statement is `… IF NOT EXISTS`, so a `prepare()` cut off
    /// half-way completes on the next call.
    /// - Throws: ``WarehouseError``; `isTransient` when the server is unreachable or busy.
    public func prepare() throws(WarehouseError) {
        let connection = try openConnection()
        isPrepared = false
        entityTables = [:]
        let database = ClickHouseSQL.databaseIdentifier(connection.database)!  // checked by init
        try connection.execute("CREATE DATABASE IF NOT EXISTS \(database)", inDatabase: false)
        try connection.execute(Self.migrationsTableSQL)
        let applied = try connection.query("SELECT version, name FROM schema_migrations FINAL ORDER BY version")
        for (index, row) in applied.enumerated() {
            let version = JSONEachRow.unsigned(row["version"])
            let name = JSONEachRow.text(row["name"])
            guard index < Self.migrations.count else {
                throw WarehouseError(
                    code: 1,
                    reason: "ClickHouse: database \(connection.database) has schema version \(version.map(String.init) ?? "?"), "
                        + "newer than this build's \(Self.latestSchemaVersion); refusing to use it (upgrade the loader)",
                    isTransient: false)
            }
            let known = Self.migrations[index]
            guard version == known.version, name == known.name else {
                throw WarehouseError(
                    code: 1,
                    reason: "ClickHouse: database \(connection.database) schema_migrations row (\(version.map(String.init) ?? "?"), "
                        + "\(jsonStringLiteral(name ?? "?"))) does not match migration \(known.version) '\(known.name)'; "
                        + "refusing to migrate a schema with another history",
                    isTransient: false)
            }
        }
        let columns = ["version", "name", "applied_at"]
        for migration in Self.migrations.dropFirst(applied.count) {
            for statement in migration.statements { try connection.execute(statement) }
            var row: [UInt8] = []
            JSONEachRow.appendRow([.integer(Int64(migration.version)), .text(migration.name), .text(CallRow.text(.now()))],
                                  columns: columns, to: &row)
            try connection.insert(into: "schema_migrations", columns: columns, rows: row)
        }
        isPrepared = true
    }

    /// Applies the batch: reads the stored versions of its calls, decides in memory, writes only
    /// what changes.
    ///
    /// Steps, each one HTTP request (the reads in chunks of ``ClickHouseSQL/maximumKeysPerQuery``
    /// keys):
    /// 1. `SELECT event_id, revision, version_key, _version FROM calls FINAL WHERE event_id IN (…)`.
    /// 2. ``VersionRule/apply(_:stored:key:revision:versionKey:)`` over it: the summary, and for each
    ///    call the batch changes, the event that ends as its row.
    /// 3. `SELECT event_id, revision FROM call_revisions WHERE event_id IN (…)`; the batch's
    ///    (event_id, revision) pairs not yet recorded (first delivery in array order) are inserted
    ///    into `call_revisions` in one `INSERT`.
    /// 4. The changed rows are inserted into `calls` in one `INSERT`, `_version` = stored + 1.
    ///
    /// Not one transaction: each `INSERT` is atomic (one block, one part), but the two are separate.
    /// `call_revisions` goes first, so a `calls` row's revision is always in the audit. If the
    /// second insert fails, the loader retries the batch: step 3 then finds the audit rows already
    /// there and step 4 writes the same rows as before (the stored `calls` did not change). If a
    /// retry follows an insert that did succeed (its answer was lost), the batch reads its own rows
    /// and writes nothing. Either way the tables end exactly as after one successful apply; only
    /// that retry's summary counts differ (it reports as unchanged what the lost attempt wrote).
    /// - Parameters:
    ///   - events: The batch; an empty batch does nothing.
    ///   - loadedAt: Written to `loaded_at` of rows inserted or replaced, and of new audit rows.
    /// - Returns: One count per event, plus the number of new audit rows.
    /// - Throws: ``WarehouseError``: transient for an unreachable or overloaded server; a data
    ///   error (code 19) for an event whose `event_id` is not 36 characters or whose `revision` is not
    ///   64 (the SQLite sink's checks), refused before anything is written; code 20 for a value the
    ///   server cannot parse.
    public func apply(_ events: [CallEvent], loadedAt: Timestamp) throws(WarehouseError) -> ApplySummary {
        let connection = try preparedConnection(for: "apply")
        guard !events.isEmpty else { return ApplySummary() }
        for event in events { try Self.validate(event) }
        let keys = Self.uniqueKeys(events.map(\.eventID))

        let stored = try storedVersions(of: keys, table: "calls", keyColumn: "event_id", connection: connection)
        var outcome = VersionRule.apply(events, stored: stored.mapValues { ($0.revision, $0.versionKey) },
                                        key: \.eventID, revision: \.revision, versionKey: CallRow.versionKey(of:))

        var recorded = try recordedRevisions(of: keys, connection: connection)
        var revisionRows: [UInt8] = []
        for event in events where recorded.insert(RevisionKey(eventID: event.eventID, revision: event.revision)).inserted {
            JSONEachRow.appendRow(CallRow.revisionValues(of: event, loadedAt: loadedAt), keys: Self.revisionKeys,
                                  to: &revisionRows)
            outcome.summary.revisionsAdded += 1
        }
        if !revisionRows.isEmpty {
            try connection.insert(into: "call_revisions", columns: CallRow.revisionColumns, rows: revisionRows)
        }

        if !outcome.rows.isEmpty {
            var callRows: [UInt8] = []
            for event in outcome.rows {
                JSONEachRow.appendRow(CallRow.values(of: event, loadedAt: loadedAt), keys: Self.callKeys,
                                      version: (stored[event.eventID]?.version ?? 0) + 1, to: &callRows)
            }
            try connection.insert(into: "calls", columns: CallRow.columns + ["_version"], rows: callRows)
        }
        return outcome.summary
    }

    /// Forgets the connection (libcurl closes it). Idempotent; afterwards every call throws.
    public func close() {
        connection = nil
        isPrepared = false
        entityTables = [:]
    }

    // MARK: - Internal

    /// The JSONEachRow keys of `calls` rows (`tags` goes as the JSON array it already is).
    static let callKeys = JSONEachRow.Keys(columns: CallRow.columns, jsonColumns: ["tags"])
    /// The JSONEachRow keys of `call_revisions` rows.
    static let revisionKeys = JSONEachRow.Keys(columns: CallRow.revisionColumns)

    /// A stored row's version, as step 1 of ``apply(_:loadedAt:)`` reads it.
    struct StoredVersion {
        var revision: String
        var versionKey: String
        var version: UInt64
    }

    /// An audit row's key.
    struct RevisionKey: Hashable {
        var eventID: String
        var revision: String
    }

    /// The current (`FINAL`) `revision`, `version_key` and `_version` of the rows of `keys`.
    /// - Parameters:
    ///   - keys: Distinct keys.
    ///   - table: `calls`, or an entity table from ``ClickHouseSQL/tableIdentifier(_:)``.
    ///   - keyColumn: `event_id` or `id`.
    func storedVersions(of keys: [String], table: String, keyColumn: String,
                        connection: ClickHouseConnection) throws(WarehouseError) -> [String: StoredVersion] {
        var stored: [String: StoredVersion] = [:]
        for chunk in Self.chunks(keys) {
            let sql = "SELECT \(keyColumn), revision, version_key, _version FROM \(table) FINAL "
                + "WHERE \(keyColumn) IN \(ClickHouseSQL.inList(chunk))"
            for row in try connection.query(sql) {
                guard let key = JSONEachRow.text(row[keyColumn]), let revision = JSONEachRow.text(row["revision"]),
                      let versionKey = JSONEachRow.text(row["version_key"]), let version = JSONEachRow.unsigned(row["_version"])
                else { throw ClickHouseErrors.unexpected("a row without key, revision, version_key or _version", statement: sql) }
                stored[key] = StoredVersion(revision: revision, versionKey: versionKey, version: version)
            }
        }
        return stored
    }

    /// The (event_id, revision) pairs `call_revisions` holds for `keys`.
    private func recordedRevisions(of keys: [String], connection: ClickHouseConnection) throws(WarehouseError) -> Set<RevisionKey> {
        var recorded: Set<RevisionKey> = []
        for chunk in Self.chunks(keys) {
            let sql = "SELECT event_id, revision FROM call_revisions WHERE event_id IN \(ClickHouseSQL.inList(chunk))"
            for row in try connection.query(sql) {
                guard let eventID = JSONEachRow.text(row["event_id"]), let revision = JSONEachRow.text(row["revision"]) else {
                    throw ClickHouseErrors.unexpected("a call_revisions row without event_id or revision", statement: sql)
                }
                recorded.insert(RevisionKey(eventID: eventID, revision: revision))
            }
        }
        return recorded
    }

    /// The SQLite sink's `CHECK`s, which ClickHouse 18.16 cannot declare: `event_id` is 36 characters
    /// (a UUID), `revision` 64 (SHA-256 hex). Other columns cannot be malformed (their Swift types).
    static func validate(_ event: CallEvent) throws(WarehouseError) {
        guard event.eventID.unicodeScalars.count == 36 else {
            throw ClickHouseErrors.refused("event_id \(jsonStringLiteral(event.eventID)) is not 36 characters")
        }
        guard event.revision.unicodeScalars.count == 64 else {
            throw ClickHouseErrors.refused("revision \(jsonStringLiteral(event.revision)) of event \(event.eventID) "
                                           + "is not 64 characters")
        }
    }

    /// `keys` without repeats, in first-appearance order.
    static func uniqueKeys(_ keys: [String]) -> [String] {
        var seen: Set<String> = []
        return keys.filter { seen.insert($0).inserted }
    }

    /// `keys` in slices of at most ``ClickHouseSQL/maximumKeysPerQuery``.
    static func chunks(_ keys: [String]) -> [ArraySlice<String>] {
        stride(from: 0, to: keys.count, by: ClickHouseSQL.maximumKeysPerQuery).map {
            keys[$0..<min($0 + ClickHouseSQL.maximumKeysPerQuery, keys.count)]
        }
    }

    /// The open connection, or a misuse error after ``close()``.
    func openConnection(file: String = #fileID, line: UInt = #line) throws(WarehouseError) -> ClickHouseConnection {
        guard let connection else {
            throw ClickHouseErrors.misuse("the sink for \(configuration.url) database \(configuration.database) is closed",
                                          file: file, line: line)
        }
        return connection
    }

    /// The open connection of a prepared sink, or a misuse error.
    func preparedConnection(for operation: String, file: String = #fileID,
                            line: UInt = #line) throws(WarehouseError) -> ClickHouseConnection {
        let connection = try openConnection(file: file, line: line)
        guard isPrepared else {
            throw ClickHouseErrors.misuse("\(operation) called before prepare()", file: file, line: line)
        }
        return connection
    }
}

@available(*, unavailable, message: "one loader thread owns a sink")
extension ClickHouseSink: Sendable {}
