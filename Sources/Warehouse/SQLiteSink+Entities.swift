import CSQLite
import CallFeedCore

extension SQLiteSink {
    /// Writes the records in one `BEGIN IMMEDIATE … COMMIT` transaction, record by record in array order.
    ///
    /// Every record is first checked with ``EntityRecord/validate()``; one that fails refuses the
    /// whole batch before anything is written (the names become a table name, so nothing unchecked
    /// reaches SQL). Per record: on the first use of its table by this sink, look it up in
    /// `entity_tables` (a name registered for another (source, entity) — `ctm_x` + `accounts` vs
    /// `ctm` + `x_accounts` — is refused), `CREATE TABLE IF NOT EXISTS` it, register it if new, and
    /// compile its statements; then upsert the row on `id` (see ``EntityRow/upsertSQL(_:)``). An
    /// existing row is replaced only by a different revision with a greater `version_key`;
    /// otherwise it stays byte for byte, `loaded_at` included.
    /// - Parameters:
    ///   - records: The batch; an empty batch does nothing.
    ///   - loadedAt: Written to `loaded_at` of rows inserted or replaced, and to `created_at` of
    ///     tables this batch creates.
    /// - Returns: One count per record in `inserted`, `updated` or `unchanged` (`revisionsAdded` is 0).
    /// - Throws: ``WarehouseError`` after rolling the whole batch back, tables it created included.
    ///   An invalid record or a table-name clash has code `SQLITE_CONSTRAINT` (a data error, so the
    ///   loader dead-letters that record alone); busy, locked, I/O and disk-full errors are transient.
    public func applyEntities(_ records: [EntityRecord], loadedAt: Timestamp) throws(WarehouseError) -> ApplySummary {
        let connection = try openConnection()
        guard let statements else {
            throw WarehouseError(code: SQLITE_MISUSE, reason: "SQLiteSink.applyEntities called before prepare()",
                                 isTransient: false)
        }
        guard !records.isEmpty else { return ApplySummary() }
        try EntityBatch.validate(records, sink: "SQLiteSink")
        var summary = ApplySummary()
        try statements.begin.run()
        do throws(WarehouseError) {
            for record in records {
                let table = try entityTable(for: record, loadedAt: loadedAt, statements: statements,
                                            connection: connection)
                let existed = try !table.select.query([.text(record.id)]).isEmpty
                try table.upsert.run(EntityRow.values(of: record, loadedAt: loadedAt))
                summary.countUpsert(existed: existed, changed: connection.changes > 0)
            }
            try statements.commit.run()
        } catch {
            if !connection.isAutocommit { try? statements.rollback.run() }
            // The rollback may have removed a table (and its registry row) created in this
            // transaction; statements compiled for it would fail with "no such table" forever.
            // Forget them all: the next use checks the registry and creates the table again.
            entityStatements = [:]
            throw error
        }
        return summary
    }

    /// The statements of `record`'s table, creating and registering the table on first use.
    ///
    /// - Important: Call inside the batch transaction, with a record that passed
    ///   ``EntityRecord/validate()``.
    private func entityTable(for record: EntityRecord, loadedAt: Timestamp, statements: Statements,
                             connection: SQLiteConnection) throws(WarehouseError) -> EntityTableStatements {
        let name = record.tableName
        if let cached = entityStatements[name] {
            guard cached.source == record.source, cached.entity == record.entity else {
                throw Self.tableClash(record, owner: (cached.source, cached.entity))
            }
            return cached
        }
        guard let quoted = EntityRow.quotedIdentifier(name) else {
            // validate() admits no such name; refuse rather than interpolate it.
            throw WarehouseError(code: SQLITE_CONSTRAINT, reason: "SQLiteSink: \(jsonStringLiteral(name)) is not a table name",
                                 isTransient: false)
        }
        let registered = try statements.selectEntityTable.query([.text(name)]).first
        if let registered, registered != [.text(record.source), .text(record.entity)] {
            let owner = registered.map { value in
                if case .text(let text) = value { return text }
                return value.description
            }
            throw Self.tableClash(record, owner: (owner.first ?? "", owner.dropFirst().first ?? ""))
        }
        // Also when registered: recreates a table an operator dropped, a no-op otherwise.
        try connection.execute(EntityRow.createTableSQL(quoted))
        if registered == nil {
            try statements.insertEntityTable.run([.text(name), .text(record.source), .text(record.entity),
                                                  .text(CallRow.text(loadedAt))])
        }
        let table = EntityTableStatements(
            source: record.source, entity: record.entity,
            select: try connection.makeStatement(EntityRow.selectSQL(quoted), isPersistent: true),
            upsert: try connection.makeStatement(EntityRow.upsertSQL(quoted), isPersistent: true))
        entityStatements[name] = table
        return table
    }

    /// The refusal of a record whose table name already belongs to another (source, entity):
    /// `ctm_x` + `accounts` and `ctm` + `x_accounts` cannot share `ctm_x_accounts`.
    private static func tableClash(_ record: EntityRecord, owner: (source: String, entity: String)) -> WarehouseError {
        WarehouseError(
            code: SQLITE_CONSTRAINT,
            reason: "SQLiteSink: table \(record.tableName) of (\(record.source), \(record.entity)) is already the table of "
                + "(\(owner.source), \(owner.entity)); rename the source or the entity",
            isTransient: false)
    }

    /// Whether `name` is listed in `entity_tables` (false also when the registry cannot be read,
    /// e.g. before ``prepare()`` migrated the file).
    func isRegisteredEntityTable(_ name: String, on connection: SQLiteConnection) -> Bool {
        let rows = try? connection.makeStatement(Self.selectEntityTableSQL).query([.text(name)])
        return !(rows ?? []).isEmpty
    }
}
