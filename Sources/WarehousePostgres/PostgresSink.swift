import CallFeedCore
import Warehouse

/// Where a ``PostgresSink`` loads.
public struct PostgresConfiguration: Sendable, Equatable {
    /// A libpq connection string (`host=db port=5432 dbname=callfeed user=callfeed`) or URI
    /// (`postgresql://callfeed:secret@db:5432/callfeed?sslmode=require`). libpq's environment
    /// variables (`PGPASSWORD`, `PGSSLMODE`, …) fill what it leaves out.
    public var url: String
    /// The schema that holds CallFeed's tables (`[a-z][a-z0-9_]*`); created if missing.
    public var schema: String

    public init(url: String, schema: String = "public") {
        self.url = url
        self.schema = schema
    }
}

/// A ``WarehouseSink`` on PostgreSQL, through libpq.
///
/// Per batch, in one transaction: lock the batch's existing rows (`SELECT … FOR UPDATE`), decide in
/// memory with ``VersionRule`` which events win, `COPY` the winners into a temporary staging table,
/// then one `INSERT … SELECT … ON CONFLICT (event_id) DO UPDATE … WHERE` newer. The audit rows go
/// the same way into `call_revisions` (`ON CONFLICT DO NOTHING`). Entity records likewise, one
/// staging table for all entity tables. The loader commits Kafka offsets only after `COMMIT`.
///
/// Tables and types are in docs/warehouse-postgres.md; the rules are docs/warehouse.md's, and the
/// canonical dump equals ``SQLiteSink``'s for the same events (the conformance suite checks).
///
/// A lost connection (server restart, network) is a transient error; the next call reconnects and
/// sets the session up again, so the loader's retry of the same batch just works.
///
/// - Important: Not `Sendable`: one loader thread owns a sink.
public final class PostgresSink: WarehouseSink, CanonicalDumping {
    public let configuration: PostgresConfiguration
    /// The schema as a quoted identifier.
    let schema: String
    var connection: PostgresConnection?
    /// Set once ``prepare()`` has migrated the schema.
    var isPrepared = false
    var isClosed = false
    /// Entity tables known to exist and be registered to this (source, entity), by table name.
    /// Emptied when a transaction fails (its rollback may have removed a table it created).
    var knownEntityTables: [String: (source: String, entity: String)] = [:]

    /// Makes a sink; nothing connects until ``prepare()``.
    /// - Throws: ``WarehouseError`` (not transient) if the schema name is not `[a-z][a-z0-9_]*`.
    public init(configuration: PostgresConfiguration) throws(WarehouseError) {
        guard let schema = PostgresLiteral.identifier(configuration.schema) else {
            throw PostgresErrors.misuse("schema \(jsonStringLiteral(configuration.schema)) is not a name matching [a-z][a-z0-9_]*")
        }
        self.configuration = configuration
        self.schema = schema
    }

    deinit { close() }

    // MARK: - WarehouseSink

    /// Connects, creates the schema if missing and applies every pending migration in one
    /// transaction under an advisory lock (several loaders may start at once).
    ///
    /// The history in `schema_migrations` must be a prefix of this build's migrations: a schema
    /// migrated by a newer build, or with a different history, is refused and left as it is.
    /// - Throws: ``WarehouseError``; transient when the server cannot be reached.
    public func prepare() throws(WarehouseError) {
        guard !isClosed else { throw PostgresErrors.misuse("closed") }
        let connection = try session(migrating: true)
        try connection.execute("BEGIN")
        do throws(WarehouseError) {
            try connection.query("SELECT pg_advisory_xact_lock(hashtext($1))", ["callfeed.migrations." + configuration.schema])
            try connection.execute(Self.migrationsTableSQL)
            let applied = try connection.query("SELECT version::text, name FROM schema_migrations ORDER BY version").rows
            for (index, row) in applied.enumerated() {
                guard index < Self.migrations.count else {
                    throw PostgresErrors.misuse(
                        "schema \(configuration.schema) has schema version \(row[0] ?? "?"), newer than this build's "
                            + "\(Self.latestSchemaVersion); refusing to use it (upgrade the loader)")
                }
                let known = Self.migrations[index]
                guard row == [String(known.version), known.name] else {
                    throw PostgresErrors.misuse(
                        "schema_migrations row \(row.map { $0 ?? "null" }) does not match migration \(known.version) "
                            + "'\(known.name)'; refusing to migrate a schema with another history")
                }
            }
            for migration in Self.migrations.dropFirst(applied.count) {
                try connection.execute(migration.sql)
                try connection.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                                     [String(migration.version), migration.name])
            }
            try connection.execute("COMMIT")
        } catch {
            rollBack(connection)
            throw error
        }
        try connection.execute(Self.stagingTablesSQL)
        knownEntityTables = [:]
        isPrepared = true
    }

    /// Writes the batch in one transaction (see the type's description).
    /// - Returns: One count per event, plus the number of new audit rows.
    /// - Throws: ``WarehouseError`` after rolling the batch back. Transient for connection loss,
    ///   shutdowns, deadlocks and resource limits; a data error (19/20) for a value the server refuses.
    public func apply(_ events: [CallEvent], loadedAt: Timestamp) throws(WarehouseError) -> ApplySummary {
        let connection = try preparedSession()
        guard !events.isEmpty else { return ApplySummary() }
        try connection.execute("BEGIN")
        do throws(WarehouseError) {
            let ids = Array(Set(events.map(\.eventID)))
            let stored = try connection.query(Self.selectCallsSQL, [PostgresLiteral.array(ids)]).storedVersions()
            var outcome = VersionRule.apply(events, stored: stored, key: \.eventID, revision: \.revision,
                                            versionKey: \.versionKey)
            if !outcome.rows.isEmpty {
                var rows = CopyText()
                for event in outcome.rows { rows.append(CallRow.values(of: event, loadedAt: loadedAt)) }
                try connection.copyIn("\(Self.callsStage) (\(CallRow.columns.joined(separator: ", ")))", data: rows.bytes)
                try connection.query(Self.upsertCallsSQL)
            }
            // Audit rows for the batch's distinct (event_id, revision) pairs, except the stored row's own
            // revision: it was recorded in the transaction that wrote the row. Exact re-sends, the most
            // common duplicate, so cost no JSON encoding and no COPY.
            var revisions = CopyText()
            var seen = Set<String>()
            var staged = 0
            for event in events where stored[event.eventID]?.revision != event.revision
                && seen.insert(event.eventID + "/" + event.revision).inserted {
                revisions.append(CallRow.revisionValues(of: event, loadedAt: loadedAt))
                staged += 1
            }
            if staged > 0 {
                try connection.copyIn("\(Self.revisionsStage) (\(CallRow.revisionColumns.joined(separator: ", ")))",
                                      data: revisions.bytes)
                outcome.summary.revisionsAdded = try connection.query(Self.insertRevisionsSQL).affectedRows
            }
            try connection.execute("COMMIT")
            return outcome.summary
        } catch {
            rollBack(connection)
            throw error
        }
    }

    /// Releases the connection. Idempotent; afterwards every call throws.
    public func close() {
        isClosed = true
        isPrepared = false
        connection?.close()
        connection = nil
    }

    // MARK: - Inspection

    /// Every `calls` row as one canonical line (``CanonicalDump``), identical to ``SQLiteSink``'s
    /// for the same events.
    public func canonicalDump() throws(WarehouseError) -> [String] {
        let rows = try preparedSession().query("SELECT \(Self.canonicalSelectList) FROM calls").rows
        var lines: [[WarehouseValue]] = []
        lines.reserveCapacity(rows.count)
        for row in rows {
            var values: [WarehouseValue] = []
            for (column, text) in zip(CallRow.canonicalColumns, row) {
                values.append(try Self.canonicalValue(text, kind: CallRow.kinds[column] ?? .text, column: column))
            }
            lines.append(values)
        }
        return CanonicalDump.lines(lines)
    }

    /// The number of rows in `calls`, `call_revisions`, `schema_migrations`, `entity_tables` or a
    /// registered entity table.
    /// - Throws: ``WarehouseError`` for any other name.
    public func count(table: String) throws(WarehouseError) -> Int {
        let connection = try preparedSession()
        let registered = try !connection.query("SELECT 1 FROM entity_tables WHERE table_name = $1", [table]).rows.isEmpty
        guard Self.tables.contains(table) || registered, let quoted = PostgresLiteral.identifier(table) else {
            throw PostgresErrors.misuse("count: unknown table '\(table)'")
        }
        return Int(try connection.query("SELECT count(*) FROM \(quoted)").rows.first?.first.flatMap { $0 } ?? "0") ?? 0
    }

    // MARK: - Session

    /// The connection, reconnected and set up again if the server dropped it.
    func preparedSession() throws(WarehouseError) -> PostgresConnection {
        guard !isClosed else { throw PostgresErrors.misuse("closed") }
        guard isPrepared else { throw PostgresErrors.misuse("used before prepare()") }
        return try session(migrating: false)
    }

    /// An open connection with the session settings (and, after migrations, the staging tables).
    private func session(migrating: Bool) throws(WarehouseError) -> PostgresConnection {
        if let connection, connection.isHealthy { return connection }
        connection?.close()
        connection = nil
        knownEntityTables = [:]
        let fresh = try PostgresConnection(conninfo: configuration.url)
        try fresh.execute("SET client_min_messages = warning; SET TIME ZONE 'UTC'")
        if try fresh.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [configuration.schema]).rows.isEmpty {
            // `IF NOT EXISTS` does not make two sessions creating it at once safe: the loser fails
            // with a unique violation on pg_namespace (seen when three loaders started together).
            // Under an advisory lock the second one finds the schema there.
            try fresh.execute("BEGIN")
            do throws(WarehouseError) {
                try fresh.query("SELECT pg_advisory_xact_lock(hashtext($1))", ["callfeed.schema." + configuration.schema])
                try fresh.execute("CREATE SCHEMA IF NOT EXISTS \(schema)")
                try fresh.execute("COMMIT")
            } catch {
                if fresh.isHealthy, fresh.isInTransaction { try? fresh.execute("ROLLBACK") }
                fresh.close()
                throw error
            }
        }
        try fresh.execute("SET search_path TO \(schema)")
        if !migrating { try fresh.execute(Self.stagingTablesSQL) }
        connection = fresh
        return fresh
    }

    /// Rolls back an open transaction (a lost connection has none left to roll back).
    func rollBack(_ connection: PostgresConnection) {
        if connection.isHealthy, connection.isInTransaction { try? connection.execute("ROLLBACK") }
    }

    /// One canonical value from the dump query's text.
    private static func canonicalValue(_ text: String?, kind: ColumnKind, column: String) throws(WarehouseError) -> WarehouseValue {
        guard let text else { return .null }
        switch kind {
        case .text, .timestamp:
            return .text(text)
        case .integer, .flag:
            guard let number = Int64(text) else { throw PostgresErrors.unexpected("\(column) is not an integer: \(text)") }
            return .integer(number)
        case .stringArray:
            guard let array = try? JSONValue.parse(Array(text.utf8)).arrayValue else {
                throw PostgresErrors.unexpected("\(column) is not a JSON array: \(text)")
            }
            var strings: [String] = []
            for element in array {
                guard case .string(let string) = element else {
                    throw PostgresErrors.unexpected("\(column) holds a non-string element: \(text)")
                }
                strings.append(string)
            }
            return .text(CallRow.jsonArray(strings))
        }
    }
}

extension PostgresResult {
    /// Rows of (key, revision, version_key) as the version rule's stored state.
    func storedVersions() -> [String: (revision: String, versionKey: String)] {
        var stored: [String: (revision: String, versionKey: String)] = [:]
        for row in rows {
            guard row.count == 3, let key = row[0], let revision = row[1], let versionKey = row[2] else { continue }
            stored[key] = (revision, versionKey)
        }
        return stored
    }
}

@available(*, unavailable, message: "one loader thread owns a sink")
extension PostgresSink: Sendable {}
