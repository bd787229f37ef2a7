import Foundation
import Warehouse
import WarehouseBigQuery
import WarehouseClickHouse
import WarehousePostgres

extension Builders {
    /// The sink `load.sink` names, configured from its `load.<sink>` section. Nothing connects yet:
    /// `prepare` does (the loader's waits up to two minutes for the warehouse).
    public static func makeSink(_ config: CallFeedConfiguration) throws(WarehouseError) -> any WarehouseSink {
        // validate() admits only the sinks this build has.
        switch config.load.sink {
        case "postgres":
            return try PostgresSink(configuration: PostgresConfiguration(url: config.load.postgres.url,
                                                                         schema: config.load.postgres.schema))
        case "clickhouse":
            let c = config.load.clickhouse
            return try ClickHouseSink(configuration: ClickHouseConfiguration(
                url: c.url, database: c.database, user: c.user, password: c.password, timeoutSeconds: c.timeoutSeconds))
        case "bigquery":
            let b = config.load.bigquery
            return try BigQuerySink(configuration: BigQueryConfiguration(
                project: b.project, dataset: b.dataset, location: b.location, endpoint: b.endpoint,
                auth: try bigQueryAuth(b)))
        default:
            return try SQLiteSink(path: config.load.sqlitePath)
        }
    }

    /// The credentials `load.bigquery` names: a service-account key file, else a token, else none
    /// (an emulator).
    static func bigQueryAuth(_ settings: CallFeedConfiguration.BigQuerySettings) throws(WarehouseError) -> BigQueryAuth {
        if let path = settings.credentialsFile {
            guard let key = FileManager.default.contents(atPath: path) else {
                throw WarehouseError(code: 1, reason: "load.bigquery.credentials_file \(path) cannot be read", isTransient: false)
            }
            return .serviceAccountKey(Array(key))
        }
        return settings.token.isEmpty ? .none : .token(settings.token)
    }
}
