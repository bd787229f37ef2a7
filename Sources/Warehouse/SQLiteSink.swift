import CSQLite
import CallFeedCore

/// A ``WarehouseSink`` backed by one SQLite database file.
///
/// The file is in WAL mode (analysts can read while the loader writes) with `synchronous=FULL`
/// (a committed batch survives power loss, which the loader relies on before committing Kafka
/// offsets). Tables, columns and the version rule are described in docs/warehouse.md. Entity
/// records go to one table per source entity, made on first use (``applyEntities(_:loadedAt:)``).
///
/// ```swift
/// let sink = try SQLiteSink(path: "/var/lib/callfeed/calls.sqlite")
/// try sink.prepare()
/// let summary = try sink.apply(batch, loadedAt: .now())
/// ```
///
/// - Important: Not `Sendable`: one loader thread owns a sink. Statements are compiled once by
///   ``prepare()`` and reused for every batch.
public final class SQLiteSink: WarehouseSink, CanonicalDumping {
    /// The database path given to `init` (`:memory:` for a private in-memory database).
    public let path: String
    private var connection: SQLiteConnection?
    /// Set by ``prepare()``; `nil` before it and after ``close()``.
    var statements: Statements?
    /// The statements of each entity table this sink has used, by table name. Filled on first use
    /// in ``applyEntities(_:loadedAt:)``; emptied whenever a transaction fails (it may have created
    /// a table that the rollback removed), by ``prepare()`` and by ``close()``.
    var entityStatements: [String: EntityTableStatements] = [:]

    /// The compiled statements every batch reuses.
    struct Statements {
        let begin: SQLiteStatement
        let commit: SQLiteStatement
        let rollback: SQLiteStatement
        let selectCall: SQLiteStatement
        let upsertCall: SQLiteStatement
        let insertRevision: SQLiteStatement
        let selectEntityTable: SQLiteStatement
        let insertEntityTable: SQLiteStatement
    }

    /// The compiled statements of one entity table, and whose table it is.
    struct EntityTableStatements {
        let source: String
        let entity: String
        let select: SQLiteStatement
        let upsert: SQLiteStatement
    }

    /// Opens (creating if needed) the database at `path` and sets WAL mode and `synchronous=FULL`.
    ///
    /// Call ``prepare()`` before ``apply(_:loadedAt:)``.
    /// - Parameters:
    ///   - path: A file path, or `:memory:`.
    ///   - busyTimeout: How long a write waits for another connection's lock before failing with a
    ///     transient `SQLITE_BUSY` error.
    /// - Throws: ``WarehouseError`` if the file cannot be opened or WAL mode cannot be set.
    public init(path: String, busyTimeout: Duration = .seconds(5)) throws(WarehouseError) {
        self.path = path
        let (seconds, attoseconds) = busyTimeout.components
        let milliseconds = max(0, min(Int64(Int32.max), seconds &* 1000 &+ attoseconds / 1_000_000_000_000_000))
        let connection = try SQLiteConnection.open(path: path, busyTimeoutMilliseconds: Int32(milliseconds))
        let mode = try connection.makeStatement("PRAGMA journal_mode = WAL").query().first?.first
        // An in-memory database answers "memory": it has no file to share, so that is fine.
        guard mode == .text("wal") || mode == .text("memory") else {
            throw WarehouseError(code: SQLITE_ERROR,
                                 reason: "SQLite: \(path) cannot use WAL journal mode (got \(mode ?? .null))",
                                 isTransient: false)
        }
        try connection.execute("PRAGMA synchronous = FULL")
        self.connection = connection
    }

    deinit { close() }

    // MARK: - WarehouseSink

    /// Applies every pending migration in one `BEGIN IMMEDIATE` transaction, then compiles the
    /// statements ``apply(_:loadedAt:)`` reuses.
    ///
    /// The history in `schema_migrations` must be a prefix of this build's migrations: a database
    /// migrated by a newer build, or with a different history, is refused and left as it is.
    /// - Throws: ``WarehouseError``; nothing is changed when it throws.
    public func prepare() throws(WarehouseError) {
        let connection = try openConnection()
        try connection.execute("BEGIN IMMEDIATE")
        do throws(WarehouseError) {
            try connection.execute(Self.migrationsTableSQL)
            let applied = try connection.makeStatement("SELECT version, name FROM schema_migrations ORDER BY version")
                .query()
            for (index, row) in applied.enumerated() {
                guard index < Self.migrations.count else {
                    throw WarehouseError(
                        code: SQLITE_ERROR,
                        reason: "SQLite: \(path) has schema version \(row[0]), newer than this build's "
                            + "\(Self.latestSchemaVersion); refusing to use it (upgrade the loader)",
                        isTransient: false)
                }
                let known = Self.migrations[index]
                guard row == [.integer(known.version), .text(known.name)] else {
                    throw WarehouseError(
                        code: SQLITE_ERROR,
                        reason: "SQLite: \(path) schema_migrations row \(row) does not match migration "
                            + "\(known.version) '\(known.name)'; refusing to migrate a schema with another history",
                        isTransient: false)
                }
            }
            let record = try connection.makeStatement(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)")
            for migration in Self.migrations.dropFirst(applied.count) {
                try connection.execute(migration.sql)
                try record.run([.integer(migration.version), .text(migration.name), .text(CallRow.text(.now()))])
            }
            try connection.execute("COMMIT")
        } catch {
            if !connection.isAutocommit { try? connection.execute("ROLLBACK") }
            throw error
        }
        entityStatements = [:]
        statements = Statements(
            begin: try connection.makeStatement("BEGIN IMMEDIATE", isPersistent: true),
            commit: try connection.makeStatement("COMMIT", isPersistent: true),
            rollback: try connection.makeStatement("ROLLBACK", isPersistent: true),
            selectCall: try connection.makeStatement(Self.selectCallSQL, isPersistent: true),
            upsertCall: try connection.makeStatement(Self.upsertCallSQL, isPersistent: true),
            insertRevision: try connection.makeStatement(Self.insertRevisionSQL, isPersistent: true),
            selectEntityTable: try connection.makeStatement(Self.selectEntityTableSQL, isPersistent: true),
            insertEntityTable: try connection.makeStatement(Self.insertEntityTableSQL, isPersistent: true))
    }

    /// Writes the batch in one `BEGIN IMMEDIATE … COMMIT` transaction, event by event in array order.
    ///
    /// Per event: read the stored revision; an exact re-send of it stops there (its audit row and its
    /// row are in place). Otherwise `INSERT OR IGNORE` the (event_id, revision) into
    /// `call_revisions`, then upsert `calls` (see ``upsertCallSQL``). An existing row is replaced only
    /// by a different revision with a greater `version_key`; otherwise it stays byte for byte,
    /// `loaded_at` included.
    /// - Parameters:
    ///   - events: The batch; an empty batch does nothing.
    ///   - loadedAt: Written to `loaded_at` of rows inserted or replaced, and of new audit rows.
    /// - Returns: One count per event, plus the number of new audit rows.
    /// - Throws: ``WarehouseError`` after rolling the whole batch back. `isTransient` for busy, locked,
    ///   I/O and disk-full errors; a constraint violation (a malformed event) is not transient.
    public func apply(_ events: [CallEvent], loadedAt: Timestamp) throws(WarehouseError) -> ApplySummary {
        let connection = try openConnection()
        guard let statements else {
            throw WarehouseError(code: SQLITE_MISUSE, reason: "SQLiteSink.apply called before prepare()",
                                 isTransient: false)
        }
        guard !events.isEmpty else { return ApplySummary() }
        var summary = ApplySummary()
        // IMMEDIATE takes the write lock now, so waiting for another writer happens here (under the
        // busy timeout) rather than failing half-way through the batch.
        try statements.begin.run()
        do throws(WarehouseError) {
            for event in events {
                let stored = try statements.selectCall.query([.text(event.eventID)]).first?.first
                // The stored row's own revision is in call_revisions already (written in the same
                // transaction as the row), and so is the row: an exact re-send costs one select.
                if stored == .text(event.revision) {
                    summary.countUpsert(existed: true, changed: false)
                    continue
                }
                try statements.insertRevision.run(CallRow.revisionValues(of: event, loadedAt: loadedAt))
                summary.revisionsAdded += connection.changes
                try statements.upsertCall.run(CallRow.values(of: event, loadedAt: loadedAt))
                summary.countUpsert(existed: stored != nil, changed: connection.changes > 0)
            }
            try statements.commit.run()
        } catch {
            // SQLite may already have rolled back by itself (I/O error, disk full); a second ROLLBACK
            // would fail, so only roll back an open transaction. A failed COMMIT leaves it open.
            if !connection.isAutocommit { try? statements.rollback.run() }
            throw error
        }
        return summary
    }

    /// Finalizes the statements and closes the connection. Idempotent.
    public func close() {
        statements = nil
        entityStatements = [:]
        connection?.close()
        connection = nil
    }

    // MARK: - Inspection

    /// Every `calls` row as one stable line, ordered by `event_id`, for comparing sinks.
    ///
    /// A line is `column=value` for every column except `loaded_at` (which differs between runs), in
    /// table order, separated by single spaces. Values: `null`, an integer in decimal, or text as a
    /// JSON string literal (`"…"` with `"`, `\` and control characters escaped). Another sink is
    /// conformant when, fed the same events, its dump is identical.
    /// - Returns: One line per `calls` row.
    /// - Throws: ``WarehouseError`` if the database cannot be read.
    public func canonicalDump() throws(WarehouseError) -> [String] {
        let columns = CallRow.canonicalColumns
        let rows = try openConnection()
            .makeStatement("SELECT \(columns.joined(separator: ", ")) FROM calls ORDER BY event_id")
            .query()
        return rows.map(CanonicalDump.line)
    }

    /// The number of rows in a table.
    /// - Parameter table: `calls`, `call_revisions`, `schema_migrations`, `entity_tables`, or an
    ///   entity table listed in `entity_tables` (`ctm_accounts`, …).
    /// - Returns: `count(*)` of the table.
    /// - Throws: ``WarehouseError`` for any other name, or if the table cannot be read.
    public func count(table: String) throws(WarehouseError) -> Int {
        let connection = try openConnection()
        guard Self.tables.contains(table) || isRegisteredEntityTable(table, on: connection),
              let quoted = EntityRow.quotedIdentifier(table) else {
            throw WarehouseError(code: SQLITE_MISUSE, reason: "SQLiteSink.count: unknown table '\(table)'",
                                 isTransient: false)
        }
        let rows = try connection.makeStatement("SELECT count(*) FROM \(quoted)").query()
        guard case .integer(let count) = rows.first?.first else { return 0 }
        return Int(count)
    }

    // MARK: - Internal

    /// The open connection, or a misuse error after ``close()``.
    func openConnection(file: String = #fileID, line: UInt = #line) throws(WarehouseError) -> SQLiteConnection {
        guard let connection else {
            throw WarehouseError(code: SQLITE_MISUSE, reason: "SQLiteSink for \(path) is closed", isTransient: false,
                                 file: file, line: line)
        }
        return connection
    }
}

@available(*, unavailable, message: "one loader thread owns a sink")
extension SQLiteSink: Sendable {}
