import CallFeedCore
import Warehouse

extension ClickHouseSink {
    /// Writes entity records into one `ReplacingMergeTree(_version)` table per source entity, with
    /// the calls' scheme: read the stored versions with `FINAL`, decide with ``VersionRule``, insert
    /// only the rows that change with `_version` = stored + 1.
    ///
    /// Everything that can refuse the batch is checked before anything is written, so a refused
    /// batch leaves no trace (as SQLite's rollback would): every record must pass
    /// ``EntityRecord/validate()`` (its names become a table name), and no table name may belong to
    /// another (source, entity), neither in `entity_tables` nor earlier in the batch. Then each new
    /// table is created (`CREATE TABLE IF NOT EXISTS`, also when registered: it recreates a table an
    /// operator dropped) and registered, and each table's rows are written with one `INSERT`.
    ///
    /// A failure part-way (a server gone) can leave some tables written and others not; the
    /// loader's retry of the same batch finds the written ones unchanged and completes the rest.
    /// - Parameters:
    ///   - records: The batch; an empty batch does nothing.
    ///   - loadedAt: Written to `loaded_at` of rows inserted or replaced, and to `created_at` of
    ///     tables this batch creates.
    /// - Returns: One count per record in `inserted`, `updated` or `unchanged` (`revisionsAdded` is 0).
    /// - Throws: ``WarehouseError``. An invalid record or a table-name clash has code 19 (a data
    ///   error, so the loader dead-letters that record alone); an unreachable server is transient.
    public func applyEntities(_ records: [EntityRecord], loadedAt: Timestamp) throws(WarehouseError) -> ApplySummary {
        let connection = try preparedConnection(for: "applyEntities")
        guard !records.isEmpty else { return ApplySummary() }
        try EntityBatch.validate(records, sink: "ClickHouseSink")
        let batches = EntityBatch.byTable(records)
        do throws(WarehouseError) {
            var plans: [(plan: EntityTablePlan, records: [EntityRecord])] = []
            for (_, batch) in batches {
                plans.append((try plan(for: batch, connection: connection), batch))
            }
            for (plan, _) in plans where !plan.isKnown {
                try create(plan, loadedAt: loadedAt, connection: connection)
            }
            var summary = ApplySummary()
            for (plan, batch) in plans {
                let counts = try write(batch, into: plan.quoted, loadedAt: loadedAt, connection: connection)
                summary.inserted += counts.inserted
                summary.updated += counts.updated
                summary.unchanged += counts.unchanged
            }
            return summary
        } catch {
            // A table this sink knew may be gone (dropped by an operator): look again next time.
            entityTables = [:]
            throw error
        }
    }

    // MARK: - Tables

    /// The JSONEachRow keys of entity rows.
    static let entityKeys = JSONEachRow.Keys(columns: EntityRow.columns)

    /// What must happen to one entity table before its rows are written.
    struct EntityTablePlan {
        var name: String
        var quoted: String
        var owner: EntityOwner
        /// Known to this sink already: nothing to create or register.
        var isKnown: Bool
        /// Listed in `entity_tables` already: create the table if missing, do not register again.
        var isRegistered: Bool
    }

    /// Checks that the records' table name belongs to their (source, entity) only, and finds out
    /// whether the table must be created or registered. Writes nothing.
    private func plan(for records: [EntityRecord], connection: ClickHouseConnection) throws(WarehouseError) -> EntityTablePlan {
        let first = records[0]
        let name = first.tableName
        let owner = EntityOwner(source: first.source, entity: first.entity)
        for record in records where record.source != owner.source || record.entity != owner.entity {
            throw Self.tableClash(record, owner: owner)
        }
        guard let quoted = ClickHouseSQL.tableIdentifier(name) else {
            // validate() admits no such name; refuse rather than put it into SQL.
            throw ClickHouseErrors.refused("\(jsonStringLiteral(name)) is not a table name")
        }
        if let known = entityTables[name] {
            guard known == owner else { throw Self.tableClash(first, owner: known) }
            return EntityTablePlan(name: name, quoted: quoted, owner: owner, isKnown: true, isRegistered: true)
        }
        let sql = "SELECT source, entity FROM entity_tables FINAL WHERE table_name = \(ClickHouseSQL.stringLiteral(name))"
        let registered = try connection.query(sql).first.map {
            EntityOwner(source: JSONEachRow.text($0["source"]) ?? "", entity: JSONEachRow.text($0["entity"]) ?? "")
        }
        if let registered, registered != owner { throw Self.tableClash(first, owner: registered) }
        return EntityTablePlan(name: name, quoted: quoted, owner: owner, isKnown: false, isRegistered: registered != nil)
    }

    /// Creates the table (if missing) and registers it (if new), then remembers it.
    ///
    /// Created before it is registered: a crash in between leaves a table that the next batch finds
    /// unregistered and registers, never a registered name without a table.
    private func create(_ plan: EntityTablePlan, loadedAt: Timestamp, connection: ClickHouseConnection) throws(WarehouseError) {
        try connection.execute(Self.entityTableSQL(plan.quoted))
        if !plan.isRegistered {
            let columns = ["table_name", "source", "entity", "created_at"]
            var row: [UInt8] = []
            JSONEachRow.appendRow([.text(plan.name), .text(plan.owner.source), .text(plan.owner.entity),
                                   .text(CallRow.text(loadedAt))], columns: columns, to: &row)
            try connection.insert(into: "entity_tables", columns: columns, rows: row)
        }
        entityTables[plan.name] = plan.owner
    }

    /// Applies one table's records: stored versions, the rule, one `INSERT` of the changed rows.
    private func write(_ records: [EntityRecord], into table: String, loadedAt: Timestamp,
                       connection: ClickHouseConnection) throws(WarehouseError) -> ApplySummary {
        let stored = try storedVersions(of: Self.uniqueKeys(records.map(\.id)), table: table, keyColumn: "id",
                                        connection: connection)
        let outcome = VersionRule.apply(records, stored: stored.mapValues { ($0.revision, $0.versionKey) },
                                        key: \.id, revision: \.revision, versionKey: \.versionKey)
        if !outcome.rows.isEmpty {
            var rows: [UInt8] = []
            for record in outcome.rows {
                JSONEachRow.appendRow(EntityRow.values(of: record, loadedAt: loadedAt), keys: Self.entityKeys,
                                      version: (stored[record.id]?.version ?? 0) + 1, to: &rows)
            }
            try connection.insert(into: table, columns: EntityRow.columns + ["_version"], rows: rows)
        }
        return outcome.summary
    }

    /// The refusal of a record whose table name already belongs to another (source, entity):
    /// `ctm_x` + `accounts` and `ctm` + `x_accounts` cannot share `ctm_x_accounts`.
    private static func tableClash(_ record: EntityRecord, owner: EntityOwner) -> WarehouseError {
        ClickHouseErrors.refused(
            "table \(record.tableName) of (\(record.source), \(record.entity)) is already the table of "
                + "(\(owner.source), \(owner.entity)); rename the source or the entity")
    }
}
