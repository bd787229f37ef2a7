// Test hooks: not API. Import with `@_spi(Testing) import WarehousePostgres`.

import Warehouse

extension PostgresSink {
    /// Runs raw SQL on the sink's connection.
    @_spi(Testing)
    public func _execute(_ sql: String) throws(WarehouseError) {
        try preparedSession().execute(sql)
    }

    /// Runs one raw query on the sink's connection; every value as text, `nil` for `NULL`.
    @_spi(Testing)
    public func _query(_ sql: String, _ parameters: [String?] = []) throws(WarehouseError) -> [[String?]] {
        try preparedSession().query(sql, parameters).rows
    }
}
