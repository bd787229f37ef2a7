// Test hooks: not API. Import with `@_spi(Testing) import WarehouseClickHouse`.
import CallFeedCore
import Warehouse

extension ClickHouseSink {
    /// Runs one raw statement in the sink's database (DDL, `DROP DATABASE`, an `INSERT … FORMAT
    /// JSONEachRow` followed by `data`).
    /// - Parameters:
    ///   - sql: The statement.
    ///   - data: Rows following an `INSERT … FORMAT` statement.
    ///   - inDatabase: `false` to run outside the sink's database (needed once it is dropped).
    /// - Throws: ``WarehouseError`` mapped as for the sink's own statements.
    @_spi(Testing)
    public func _execute(_ sql: String, data: String? = nil, inDatabase: Bool = true) throws(WarehouseError) {
        try openConnection().execute(sql, data: data.map { Array($0.utf8) }, inDatabase: inDatabase)
    }

    /// Runs one raw `SELECT` (without `FORMAT`) in the sink's database.
    /// - Returns: Every row as column name → JSON value (64-bit integers as numbers).
    /// - Throws: ``WarehouseError``.
    @_spi(Testing)
    public func _query(_ sql: String) throws(WarehouseError) -> [[String: JSONValue]] {
        try openConnection().query(sql)
    }
}
