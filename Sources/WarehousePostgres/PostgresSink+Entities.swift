import CallFeedCore
import Warehouse

extension PostgresSink {
    /// Writes the records in one transaction, as ``apply(_:loadedAt:)`` does for calls.
    ///
    /// Every record is first checked with ``EntityRecord/validate()``; one that fails refuses the
    /// whole batch before any SQL runs (the names become a table name). On first use of a table, under
    /// an advisory lock (several loaders may meet a new entity at once), the registry
    /// `entity_tables` is read: a name registered to another (source, entity) is refused; otherwise
    /// the table is created if missing and registered. Then per table: lock its batch rows, decide the
    /// winners with ``VersionRule``, `COPY` them to the staging table and upsert them in one statement.
    /// - Returns: One count per record in `inserted`, `updated` or `unchanged` (`revisionsAdded` is 0).
    /// - Throws: ``WarehouseError`` after rolling the batch back, tables it created included. An
    ///   invalid record or a table-name clash is a data error (code 19), so the loader dead-letters
    ///   that record alone.
    public func applyEntities(_ records: [EntityRecord], loadedAt: Timestamp) throws(WarehouseError) -> ApplySummary {
        let connection = try preparedSession()
        guard !records.isEmpty else { return ApplySummary() }
        try EntityBatch.validate(records, sink: "PostgresSink")
        var summary = ApplySummary()
        try connection.execute("BEGIN")
        do throws(WarehouseError) {
            for (name, batch) in EntityBatch.byTable(records) {
                let table = try entityTable(for: batch[0], loadedAt: loadedAt, connection: connection)
                let ids = Array(Set(batch.map(\.id)))
                let stored = try connection.query(Self.selectEntitiesSQL(table), [PostgresLiteral.array(ids)]).storedVersions()
                let outcome = VersionRule.apply(batch, stored: stored, key: \.id, revision: \.revision,
                                                versionKey: \.versionKey)
                summary.inserted += outcome.summary.inserted
                summary.updated += outcome.summary.updated
                summary.unchanged += outcome.summary.unchanged
                guard !outcome.rows.isEmpty else { continue }
                var rows = CopyText()
                for record in outcome.rows {
                    rows.append([.text(name)] + EntityRow.values(of: record, loadedAt: loadedAt))
                }
                try connection.copyIn("\(Self.entitiesStage) (table_name, \(EntityRow.columns.joined(separator: ", ")))",
                                      data: rows.bytes)
                try connection.query(Self.upsertEntitiesSQL(table), [name])
            }
            try connection.execute("COMMIT")
        } catch {
            rollBack(connection)
            knownEntityTables = [:]
            throw error
        }
        return summary
    }

    /// The quoted name of `record`'s table, created and registered on first use.
    ///
    /// - Important: Call inside the batch transaction, with a record that passed ``EntityRecord/validate()``.
    private func entityTable(for record: EntityRecord, loadedAt: Timestamp,
                             connection: PostgresConnection) throws(WarehouseError) -> String {
        let name = record.tableName
        guard let quoted = PostgresLiteral.identifier(name) else {
            // validate() admits no such name; refuse rather than interpolate it.
            throw PostgresErrors.refused("\(jsonStringLiteral(name)) is not a table name")
        }
        if let owner = knownEntityTables[name] {
            guard owner == (record.source, record.entity) else { throw Self.tableClash(record, owner: owner) }
            return quoted
        }
        try connection.query("SELECT pg_advisory_xact_lock(hashtext($1))", ["callfeed.entity_tables." + configuration.schema])
        let registered = try connection.query("SELECT source, entity FROM entity_tables WHERE table_name = $1", [name]).rows.first
        if let registered, registered != [record.source, record.entity] {
            throw Self.tableClash(record, owner: (registered[0] ?? "", registered[1] ?? ""))
        }
        // Also when registered: recreates a table an operator dropped, a no-op otherwise.
        try connection.execute(Self.createEntityTableSQL(quoted))
        if registered == nil {
            try connection.query("INSERT INTO entity_tables (table_name, source, entity, created_at) VALUES ($1, $2, $3, $4)",
                                 [name, record.source, record.entity, CallRow.text(loadedAt)])
        }
        knownEntityTables[name] = (record.source, record.entity)
        return quoted
    }

    /// The refusal of a record whose table name already belongs to another (source, entity).
    private static func tableClash(_ record: EntityRecord, owner: (source: String, entity: String)) -> WarehouseError {
        PostgresErrors.refused(
            "table \(record.tableName) of (\(record.source), \(record.entity)) is already the table of "
                + "(\(owner.source), \(owner.entity)); rename the source or the entity")
    }
}
