import CallFeedCore
import Warehouse

extension BigQuerySink {
    /// Every `calls` row as one stable line (``CanonicalDump/lines(_:)``), for comparing sinks.
    ///
    /// Each column is rendered as ``SQLiteSink`` stores it, by its ``CallRow/kinds``: text as is,
    /// integers, `TIMESTAMP`s read as `UNIX_MILLIS` and written as ``CallRow/text(_:)``
    /// (`2024-05-01T10:02:05.250Z`), `BOOL` as 0/1, `tags` as ``CallRow/jsonArray(_:)`` text. So the
    /// same events give the same lines as `SQLiteSink.canonicalDump()`.
    /// - Returns: One line per `calls` row, ordered by `event_id` bytes.
    /// - Throws: ``WarehouseError`` if the table cannot be read.
    public func canonicalDump() throws(WarehouseError) -> [String] {
        let client = try openClient()
        let columns = CallRow.canonicalColumns
        let select = columns.map { name in
            CallRow.kinds[name] == .timestamp ? "UNIX_MILLIS(\(name)) AS \(name)" : name
        }
        let result = try client.query("SELECT \(select.joined(separator: ", ")) FROM \(client.qualified("calls"))",
                                      action: "reading calls for the canonical dump")
        guard result.columns.count == columns.count else {
            throw .bigQueryFailure("the canonical dump read \(result.columns.count) columns, expected \(columns.count)")
        }
        let rows = result.rows.map { row in
            zip(zip(columns, result.columns), row).map { pair, cell -> WarehouseValue in
                let (name, column) = pair
                let value = BigQueryQueryResult.value(cell, column: column)
                if CallRow.kinds[name] == .timestamp, case .integer(let milliseconds) = value {
                    return .text(CallRow.text(Timestamp(millisecondsSinceEpoch: milliseconds)))
                }
                return value
            }
        }
        return CanonicalDump.lines(rows)
    }

    /// The number of rows in a table.
    /// - Parameter table: `calls`, `call_revisions`, `schema_migrations`, `entity_tables`, or an
    ///   entity table listed in `entity_tables` (`ctm_accounts`, …).
    /// - Returns: `COUNT(*)` of the table.
    /// - Throws: ``WarehouseError`` for any other name, or if the table cannot be read.
    public func count(table: String) throws(WarehouseError) -> Int {
        let client = try openClient()
        guard BigQueryClient.isTableID(table) else {
            throw .bigQueryMisuse("count: unknown table \(jsonStringLiteral(table))")
        }
        if !Self.tables.contains(table), entityTables[table] == nil {
            let registered = try client.query(BigQueryStatements.lookupEntityTables(client),
                                              parameters: [.stringArray("names", [table])],
                                              action: "reading entity_tables")
            guard !registered.rows.isEmpty else {
                throw .bigQueryMisuse("count: unknown table \(jsonStringLiteral(table))")
            }
        }
        let result = try client.query("SELECT COUNT(*) FROM \(client.qualified(table))", action: "counting \(table)")
        return result.rows.first?.first.flatMap(BigQueryQueryResult.text).flatMap { Int($0) } ?? 0
    }
}
