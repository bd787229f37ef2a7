import CallFeedCore
import Warehouse

/// The GoogleSQL the sink runs.
///
/// - Important: Values never go into this text. The look-ups take the batch's keys as query
///   parameters. The write scripts hold only names the sink made or checked: fully qualified table
///   names (``BigQueryClient/qualified(_:)``: checked project, dataset and `[a-z][a-z0-9_]*` table ids),
///   the batch's UUID, its staging instant in milliseconds and row counts. (The emulator cannot bind
///   parameters inside a multi-statement script, and all of a write's data travels in the staged rows
///   anyway.)
enum BigQueryStatements {
    /// Part of the error a write script raises when staged rows are not all visible to it yet; such
    /// an error is transient (the batch is retried and staged again).
    static let notVisibleMarker = "callfeed: staged rows not all visible"

    // MARK: - Look-ups

    /// The stored (revision, version_key) of the batch's calls (`kind = 'calls'`) and the recorded
    /// revisions of the same calls (`kind = 'call_revisions'`), in one job. Parameter `@ids`.
    static func lookupCalls(_ client: BigQueryClient) -> String {
        """
        SELECT 'calls' AS kind, event_id, revision, version_key
        FROM \(client.qualified("calls")) WHERE event_id IN UNNEST(@ids)
        UNION ALL
        SELECT 'call_revisions' AS kind, event_id, revision, CAST(NULL AS STRING) AS version_key
        FROM \(client.qualified("call_revisions")) WHERE event_id IN UNNEST(@ids)
        """
    }

    /// The stored (id, revision, version_key) of the batch's records, table by table; parameter
    /// `@ids_<n>` holds the ids of `tables[n]`.
    static func lookupEntities(_ client: BigQueryClient, tables: [String]) -> String {
        tables.enumerated().map { index, table in
            "SELECT '\(table)' AS table_name, id, revision, version_key FROM \(client.qualified(table)) "
                + "WHERE id IN UNNEST(@ids_\(index))"
        }.joined(separator: "\nUNION ALL\n")
    }

    /// The registered (source, entity) of some table names. Parameter `@names`.
    static func lookupEntityTables(_ client: BigQueryClient) -> String {
        "SELECT table_name, source, entity FROM \(client.qualified("entity_tables")) WHERE table_name IN UNNEST(@names)"
    }

    // MARK: - Writes

    /// The calls batch as one transaction: check that the staged rows are visible, MERGE the winning
    /// rows into `calls`, MERGE the new audit rows into `call_revisions`, commit.
    /// - Parameters:
    ///   - callRows: How many distinct calls the batch staged (0: no `calls` MERGE).
    ///   - revisionRows: How many new (event_id, revision) pairs it staged (0: no audit MERGE).
    static func applyCalls(_ client: BigQueryClient, batch: BigQueryBatch, callRows: Int, revisionRows: Int) -> String {
        var statements = ["BEGIN TRANSACTION"]
        var checks: [String] = []
        if callRows > 0 {
            checks.append("(SELECT COUNT(DISTINCT event_id) FROM \(client.qualified("calls_staging")) "
                + "WHERE \(filter(batch))) = \(callRows)")
        }
        if revisionRows > 0 {
            checks.append("(SELECT COUNT(DISTINCT CONCAT(event_id, '|', revision)) FROM "
                + "\(client.qualified("call_revisions_staging")) WHERE \(filter(batch))) = \(revisionRows)")
        }
        statements.append(visibilityCheck(checks, batch: batch))
        if callRows > 0 {
            statements.append(merge(
                into: client.qualified("calls"), from: client.qualified("calls_staging"), columns: CallRow.columns,
                keys: ["event_id"], batch: batch, replacing: true))
        }
        if revisionRows > 0 {
            statements.append(merge(
                into: client.qualified("call_revisions"), from: client.qualified("call_revisions_staging"),
                columns: CallRow.revisionColumns, keys: ["event_id", "revision"], batch: batch, replacing: false))
        }
        statements.append("COMMIT TRANSACTION")
        return statements.joined(separator: ";\n") + ";"
    }

    /// An entity batch as one transaction: check visibility, MERGE each table's rows, register new
    /// tables in `entity_tables` (those not registered yet), commit.
    /// - Parameters:
    ///   - tables: Each table with rows to write, and how many distinct ids it staged.
    ///   - newTables: Tables to register; their rows are staged too (a new table's records all insert).
    static func applyEntities(_ client: BigQueryClient, batch: BigQueryBatch, tables: [(name: String, rows: Int)],
                              newTables: [String]) -> String {
        let staging = client.qualified("entity_staging")
        var statements = ["BEGIN TRANSACTION"]
        let total = tables.reduce(0) { $0 + $1.rows }
        statements.append(visibilityCheck(
            ["(SELECT COUNT(DISTINCT CONCAT(table_name, '/', id)) FROM \(staging) WHERE \(filter(batch))) = \(total)"],
            batch: batch))
        for table in tables {
            statements.append(merge(
                into: client.qualified(table.name), from: staging, columns: EntityRow.columns, keys: ["id"],
                batch: batch, replacing: true, extraFilter: "table_name = '\(table.name)'"))
        }
        if !newTables.isEmpty {
            let names = newTables.map { "'\($0)'" }.joined(separator: ", ")
            let registry = client.qualified("entity_tables")
            statements.append("""
                INSERT INTO \(registry) (table_name, source, entity, created_at)
                SELECT table_name, source, entity, MIN(loaded_at) FROM \(staging)
                WHERE \(filter(batch)) AND table_name IN (\(names))
                  AND table_name NOT IN (SELECT table_name FROM \(registry))
                GROUP BY table_name, source, entity
                """)
        }
        statements.append("COMMIT TRANSACTION")
        return statements.joined(separator: ";\n") + ";"
    }

    // MARK: - Parts

    /// The staged rows of `batch`: its partition (so BigQuery reads one day of staging) and its id.
    static func filter(_ batch: BigQueryBatch) -> String {
        "staged_at = TIMESTAMP_MILLIS(\(batch.stagedAt.millisecondsSinceEpoch)) AND batch_id = '\(batch.id)'"
    }

    /// Fails the script (rolling the transaction back) unless every check holds: streamed rows are
    /// normally visible to queries at once, but a MERGE that saw only some of them would lose rows.
    private static func visibilityCheck(_ checks: [String], batch: BigQueryBatch) -> String {
        "SELECT IF(\(checks.joined(separator: " AND ")), 1, ERROR('\(notVisibleMarker) (batch \(batch.id))'))"
    }

    /// `MERGE target USING (the batch's staged rows, one per key) ON keys`: insert absent keys; with
    /// `replacing`, replace a row whose `version_key` is smaller (the version rule).
    ///
    /// The staged rows are already the version rule's winners (``VersionRule``), each with a greater
    /// key than the stored row, so the condition changes nothing for one writer; it keeps a replayed
    /// or concurrent batch from ever replacing a newer row. `ROW_NUMBER` keeps one staged row per key:
    /// `insertAll` de-duplication is best effort (and the emulator has none), and a MERGE whose source
    /// matches a target row twice fails.
    private static func merge(into target: String, from staging: String, columns: [String], keys: [String],
                              batch: BigQueryBatch, replacing: Bool, extraFilter: String? = nil) -> String {
        let list = columns.joined(separator: ", ")
        let where_ = filter(batch) + (extraFilter.map { " AND " + $0 } ?? "")
        let on = keys.map { "T.\($0) = S.\($0)" }.joined(separator: " AND ")
        var text = """
            MERGE \(target) AS T
            USING (
              SELECT \(list) FROM (
                SELECT \(list), ROW_NUMBER() OVER (PARTITION BY \(keys.joined(separator: ", "))) AS staged_row
                FROM \(staging) WHERE \(where_)
              ) WHERE staged_row = 1
            ) AS S
            ON \(on)
            """
        if replacing {
            let assignments = columns.filter { !keys.contains($0) }.map { "\($0) = S.\($0)" }.joined(separator: ", ")
            text += "\nWHEN MATCHED AND S.version_key > T.version_key THEN UPDATE SET \(assignments)"
        }
        text += "\nWHEN NOT MATCHED THEN INSERT (\(list)) VALUES (\(columns.map { "S.\($0)" }.joined(separator: ", ")))"
        return text
    }
}
