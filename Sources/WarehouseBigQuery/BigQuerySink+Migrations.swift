import CallFeedCore
import Warehouse

/// One step of the BigQuery schema's history: tables to create, recorded in `schema_migrations`.
///
/// - Warning: Frozen once released: change the schema only by appending a migration with the next
///   version (new tables, or `ALTER TABLE … ADD COLUMN` run before it is recorded). Never edit or
///   remove one.
struct BigQueryMigration {
    /// 1, 2, 3, … with no gaps; `schema_migrations.version`.
    var version: Int64
    /// `schema_migrations.name`, checked on every `prepare()`. Same names as the SQLite history.
    var name: String
    /// The tables it creates.
    var tables: [BigQueryTable]
}

extension BigQuerySink {
    /// Every migration, oldest first. Append only.
    static let migrations: [BigQueryMigration] = [
        BigQueryMigration(version: 1, name: "create calls and call_revisions",
                          tables: [.calls, .callRevisions, .callsStaging, .callRevisionsStaging]),
        // Entity tables themselves are made on first use, as in SQLite.
        BigQueryMigration(version: 2, name: "create entity_tables", tables: [.entityTables, .entityStaging]),
    ]

    /// The schema version this build writes.
    static var latestSchemaVersion: Int64 { migrations.last?.version ?? 0 }

    /// CallFeed's own tables, which ``count(table:)`` may be asked about.
    static let tables: Set<String> = ["calls", "call_revisions", "schema_migrations", "entity_tables"]

    /// Creates the dataset and `schema_migrations` if missing, checks the recorded history, then
    /// runs the pending migrations.
    func migrate(_ client: BigQueryClient) throws(WarehouseError) {
        if try !client.datasetExists() { try client.insertDataset() }
        if try !client.tableExists(BigQueryTable.schemaMigrations.name) { try client.insertTable(.schemaMigrations) }
        let migrations = client.qualified("schema_migrations")
        let result = try client.query("SELECT DISTINCT version, name FROM \(migrations) ORDER BY version",
                                      action: "reading schema_migrations")
        let applied = result.rows.map { $0.map(BigQueryQueryResult.text) }
        let place = "\(configuration.project).\(configuration.dataset)"
        for (index, row) in applied.enumerated() {
            let version = row.first.flatMap { $0 }.flatMap { Int64($0) }
            let name = row.dropFirst().first.flatMap { $0 }
            guard index < Self.migrations.count else {
                throw .bigQueryFailure("\(place) has schema version \(version.map(String.init) ?? "?"), newer than "
                    + "this build's \(Self.latestSchemaVersion); refusing to use it (upgrade the loader)")
            }
            let known = Self.migrations[index]
            guard version == known.version, name == known.name else {
                throw .bigQueryFailure("\(place) schema_migrations row (\(version.map(String.init) ?? "?"), "
                    + "\(jsonStringLiteral(name ?? ""))) does not match migration \(known.version) "
                    + "'\(known.name)'; refusing to migrate a schema with another history")
            }
        }
        for migration in Self.migrations.dropFirst(applied.count) {
            for table in migration.tables { try client.insertTable(table) }
            // NOT EXISTS: two loaders preparing at once record the step once.
            _ = try client.query(
                """
                INSERT INTO \(migrations) (version, name, applied_at)
                SELECT @version, @name, @applied_at FROM UNNEST([1])
                WHERE NOT EXISTS (SELECT 1 FROM \(migrations) WHERE version = @version)
                """,
                parameters: [.int64("version", migration.version), .string("name", migration.name),
                             .timestamp("applied_at", .now())],
                action: "recording migration \(migration.version)")
        }
    }
}
