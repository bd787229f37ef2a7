// Test hooks: not API. Import with `@_spi(Testing) import WarehouseBigQuery`.
import CallFeedCore
import Warehouse

extension BigQuerySink {
    /// `` `project.dataset.table` ``, for raw SQL in tests.
    @_spi(Testing)
    public func _qualified(_ table: String) throws(WarehouseError) -> String {
        try openClient().qualified(table)
    }

    /// Runs one raw query or script.
    /// - Returns: Every row as column name → value (timestamps as ``CallRow/text(_:)``, booleans as
    ///   0/1, repeated strings as JSON-array text).
    /// - Throws: ``WarehouseError`` from BigQuery.
    @_spi(Testing)
    public func _query(_ sql: String, parameters: [BigQueryQueryParameter] = []) throws(WarehouseError)
        -> [[String: WarehouseValue]] {
        let result = try openClient().query(sql, parameters: parameters, action: "test query")
        return result.rows.map { row in
            Dictionary(zip(result.columns, row).map { ($0.name, BigQueryQueryResult.value($1, column: $0)) },
                       uniquingKeysWith: { first, _ in first })
        }
    }
}
