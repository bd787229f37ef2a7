import CallFeedCore
import Warehouse

extension ClickHouseSink {
    /// Every `calls` row (its current version, read with `FINAL`) as one canonical line, ordered by
    /// `event_id` bytes: fed the same events, equal to ``SQLiteSink/canonicalDump()``.
    ///
    /// Each column is rendered by its ``CallRow/kinds`` kind: text and instants (stored as their
    /// ``CallRow/text(_:)`` form) as text, integers and `first_call` as integers, `tags`
    /// (`Array(String)`) as ``CallRow/jsonArray(_:)`` text; `NULL` as `null`.
    /// - Returns: One line per call (``CanonicalDump/lines(_:)``).
    /// - Throws: ``WarehouseError`` if the table cannot be read, or holds a column of another type.
    public func canonicalDump() throws(WarehouseError) -> [String] {
        let connection = try openConnection()
        let columns = CallRow.canonicalColumns
        let sql = "SELECT \(columns.joined(separator: ", ")) FROM calls FINAL"
        var rows: [[WarehouseValue]] = []
        for row in try connection.query(sql) {
            var values: [WarehouseValue] = []
            values.reserveCapacity(columns.count)
            for column in columns {
                guard let value = JSONEachRow.value(row[column], kind: CallRow.kinds[column] ?? .text) else {
                    throw ClickHouseErrors.unexpected("calls.\(column) holds \(row[column].map { "\($0)" } ?? "nothing"), "
                                                      + "not a \(CallRow.kinds[column] ?? .text)", statement: sql)
                }
                values.append(value)
            }
            rows.append(values)
        }
        return CanonicalDump.lines(rows)
    }

    /// The number of distinct keys in a table: its rows as `FINAL` shows them (versions a background
    /// merge has not removed yet are not counted).
    /// - Parameter table: `calls`, `call_revisions`, `schema_migrations`, `entity_tables`, or an
    ///   entity table listed in `entity_tables` (`ctm_accounts`, …).
    /// - Returns: `count()` of `table FINAL`.
    /// - Throws: ``WarehouseError`` for any other name (no other name ever reaches SQL), or if the
    ///   table cannot be read.
    public func count(table: String) throws(WarehouseError) -> Int {
        let connection = try openConnection()
        guard let quoted = ClickHouseSQL.tableIdentifier(table),
              Self.tables.contains(table) || isRegisteredEntityTable(table, connection: connection)
        else { throw ClickHouseErrors.misuse("count: unknown table \(jsonStringLiteral(table))") }
        let sql = "SELECT count() AS n FROM \(quoted) FINAL"
        guard let count = JSONEachRow.unsigned(try connection.query(sql).first?["n"]) else {
            throw ClickHouseErrors.unexpected("no count", statement: sql)
        }
        return Int(count)
    }

    /// Whether `name` is listed in `entity_tables` (false also when the registry cannot be read,
    /// e.g. before ``prepare()`` created it).
    func isRegisteredEntityTable(_ name: String, connection: ClickHouseConnection) -> Bool {
        let sql = "SELECT count() AS n FROM entity_tables FINAL WHERE table_name = \(ClickHouseSQL.stringLiteral(name))"
        guard let rows = try? connection.query(sql) else { return false }
        return (JSONEachRow.unsigned(rows.first?["n"]) ?? 0) > 0
    }
}
