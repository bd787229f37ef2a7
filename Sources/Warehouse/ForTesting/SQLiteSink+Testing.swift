// Test hooks: not API. Import with `@_spi(Testing) import Warehouse`.

extension SQLiteSink {
    /// Runs raw SQL on the sink's connection (e.g. `BEGIN IMMEDIATE` to hold the write lock).
    /// - Throws: ``WarehouseError`` from SQLite.
    @_spi(Testing)
    public func _execute(_ sql: String) throws(WarehouseError) {
        try openConnection().execute(sql)
    }

    /// Runs one raw query on the sink's connection.
    /// - Returns: Every row as column name → value.
    /// - Throws: ``WarehouseError`` from SQLite.
    @_spi(Testing)
    public func _query(_ sql: String) throws(WarehouseError) -> [[String: WarehouseValue]] {
        let statement = try openConnection().makeStatement(sql)
        let names = statement.columnNames
        return try statement.query().map { row in
            Dictionary(zip(names, row), uniquingKeysWith: { first, _ in first })
        }
    }
}
