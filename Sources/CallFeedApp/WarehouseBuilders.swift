import Logging
import Warehouse
import WarehouseBigQuery
import WarehouseClickHouse
import WarehousePostgres

extension Builders {
    /// The sink `load.sink` names, configured from its `load.<sink>` section. Nothing connects yet:
    /// the loader's ``prepareSink(_:logger:)`` does.
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

    /// Creates or migrates the warehouse schema, waiting out a warehouse that is not reachable yet
    /// (a compose stack starting, a failover): transient errors are retried with backoff up to
    /// `patience`; any other error (a refused migration, bad credentials) is thrown at once.
    public static func prepareSink(_ sink: any WarehouseSink, logger: Logger, patience: Duration = .seconds(120)) throws {
        let deadline = ContinuousClock.now + patience
        var backoff = Duration.milliseconds(500)
        while true {
            let error: WarehouseError
            do {
                try sink.prepare()
                return
            } catch let failure {
                error = failure
            }
            guard error.isTransient, ContinuousClock.now + backoff < deadline else { throw error }
            logger.warning("warehouse not reachable yet; retrying", metadata: ["error": "\(error)", "backoff": "\(backoff)"])
            Thread.sleep(forTimeInterval: Double(backoff.components.seconds) + Double(backoff.components.attoseconds) / 1e18)
            backoff = min(backoff * 2, .seconds(10))
        }
    }
}

import Foundation
