import CallFeedCore
import Warehouse

extension BigQuerySink {
    /// Writes the records as one transaction: the calls' four steps, per entity table.
    ///
    /// Every record is first checked with ``EntityRecord/validate()``; one that fails refuses the
    /// whole batch before anything is written (names become table names). On a table's first use by
    /// this sink its registration in `entity_tables` is read: a name registered for another
    /// (source, entity) is refused; an unregistered table is created (`tables.insert`, before the
    /// transaction: BigQuery allows no DDL inside one) and registered inside the batch's transaction.
    /// - Parameters:
    ///   - records: The batch; an empty batch does nothing.
    ///   - loadedAt: Written to `loaded_at` of rows inserted or replaced, and to `created_at` of
    ///     tables this batch registers.
    /// - Returns: One count per record in `inserted`, `updated` or `unchanged` (`revisionsAdded` is 0).
    /// - Throws: ``WarehouseError``. An invalid record or a table-name clash has code 19 (a data
    ///   error). After a failure no row and no registration of the batch is visible; a table it
    ///   created stays, empty and unregistered, and is used by the next batch that needs it.
    public func applyEntities(_ records: [EntityRecord], loadedAt: Timestamp) throws(WarehouseError) -> ApplySummary {
        let client = try preparedClient("applyEntities")
        guard !records.isEmpty else { return ApplySummary() }
        try EntityBatch.validate(records, sink: "BigQuerySink")
        let newTables = try resolveEntityTables(for: records, client: client)
        // 1. What is stored, table by table, in one job.
        var tables: [String] = []
        var idsByTable: [String: [String]] = [:]
        for record in records {
            if idsByTable[record.tableName] == nil { tables.append(record.tableName) }
            if !(idsByTable[record.tableName]?.contains(record.id) ?? false) {
                idsByTable[record.tableName, default: []].append(record.id)
            }
        }
        let found = try client.query(
            BigQueryStatements.lookupEntities(client, tables: tables),
            parameters: tables.enumerated().map { .stringArray("ids_\($0.offset)", idsByTable[$0.element] ?? []) },
            action: "reading the stored rows of \(records.count) entity records")
        var stored: [String: (revision: String, versionKey: String)] = [:]
        for row in found.rows {
            let cells = row.map(BigQueryQueryResult.text)
            guard cells.count == 4, let table = cells[0], let id = cells[1], let revision = cells[2] else { continue }
            stored[table + "/" + id] = (revision, cells[3] ?? "")
        }
        // 2. The rule; a table name has no '/', so "table/id" is a key per row.
        let outcome = VersionRule.apply(records, stored: stored, key: { $0.tableName + "/" + $0.id },
                                        revision: \.revision, versionKey: \.versionKey)
        guard !outcome.rows.isEmpty else { return outcome.summary }
        // 3. Stage.
        let batch = BigQueryBatch()
        try client.insertAll("entity_staging", rows: outcome.rows.enumerated().map { index, record in
            (batch.insertID(table: "entities", index: index),
             BigQueryStaging.entityRow(record, loadedAt: loadedAt, batch: batch))
        })
        // 4. Merge every table and register the new ones, atomically.
        var rowsByTable: [String: Int] = [:]
        for record in outcome.rows { rowsByTable[record.tableName, default: 0] += 1 }
        let written = tables.compactMap { name in rowsByTable[name].map { (name: name, rows: $0) } }
        _ = try client.query(
            BigQueryStatements.applyEntities(client, batch: batch, tables: written,
                                             newTables: newTables.map(\.name)),
            action: "merging entity batch \(batch.id) (\(outcome.rows.count) rows in \(written.count) tables)",
            kind: .data)
        for table in newTables { entityTables[table.name] = (table.source, table.entity) }
        return outcome.summary
    }

    /// Checks every record's table against the registry (and the batch itself), creates the tables
    /// that are not registered yet, and returns them: the batch's transaction registers them.
    /// - Throws: ``WarehouseError`` code 19 when a name belongs to another (source, entity).
    private func resolveEntityTables(for records: [EntityRecord],
                                     client: BigQueryClient) throws(WarehouseError)
        -> [(name: String, source: String, entity: String)] {
        var owners = entityTables
        var unknown: [String] = []
        for record in records where owners[record.tableName] == nil && !unknown.contains(record.tableName) {
            unknown.append(record.tableName)
        }
        var newTables: [(name: String, source: String, entity: String)] = []
        var recreate: [String] = []
        if !unknown.isEmpty {
            let registered = try client.query(BigQueryStatements.lookupEntityTables(client),
                                              parameters: [.stringArray("names", unknown)],
                                              action: "reading entity_tables")
            for row in registered.rows {
                let cells = row.map(BigQueryQueryResult.text)
                guard cells.count == 3, let name = cells[0] else { continue }
                owners[name] = (cells[1] ?? "", cells[2] ?? "")
                recreate.append(name)
            }
        }
        for record in records {
            if let owner = owners[record.tableName] {
                guard owner.source == record.source, owner.entity == record.entity else {
                    throw WarehouseError(
                        code: BigQueryErrorCode.refused,
                        reason: "BigQuerySink: table \(record.tableName) of (\(record.source), \(record.entity)) is "
                            + "already the table of (\(owner.source), \(owner.entity)); rename the source or the entity",
                        isTransient: false)
                }
            } else {
                owners[record.tableName] = (record.source, record.entity)
                newTables.append((record.tableName, record.source, record.entity))
            }
        }
        // A registered table is created again too, on this sink's first use of it (a no-op unless an
        // operator dropped it), as SQLiteSink does.
        for name in recreate {
            if let owner = owners[name] {
                try client.insertTable(.entity(name, source: owner.source, entity: owner.entity))
                entityTables[name] = owner
            }
        }
        for table in newTables {
            try client.insertTable(.entity(table.name, source: table.source, entity: table.entity))
        }
        return newTables
    }
}
