import AWSSigV4
import CallFeedPoll
import HTTPClient
import CallFeedSQLPoll
import Foundation

extension Builders {
    /// Genius sources with a `poll:` section: one read-only database connection per source, one
    /// keyset stream per selected table. No rate limit (the seed: "direct DB access"); the
    /// statement timeout and page size bound each query instead.
    static func sqlPollSources(_ config: CallFeedConfiguration) -> [ConfiguredPollSource] {
        config.sources.genius.compactMap { s in
            guard let p = s.poll else { return nil }
            return ConfiguredPollSource(name: s.name, vendor: GeniusTables.vendor, entityStreams: geniusStreams(s, poll: p), poll: p, defaultLimits: [])
        } + config.sources.marketsharp.compactMap { s in
            guard let p = s.poll else { return nil }
            return ConfiguredPollSource(name: s.name, vendor: MarketSharpTables.vendor, entityStreams: marketSharpStreams(s, poll: p), poll: p, defaultLimits: [])
        } + config.sources.salespro.compactMap { s in
            guard let p = s.poll else { return nil }
            // Athena's StartQueryExecution quota is a few per second per account; GetQueryExecution
            // polling is the most frequent call. 5/s stays well inside (docs/pollers-salespro.md).
            return ConfiguredPollSource(name: s.name, vendor: SalesProAthenaStream.vendor, entityStreams: salesProStreams(s, poll: p), poll: p,
                                        defaultLimits: [RateLimiter.Window(limit: 5, period: .seconds(1))])
        }
    }

    static func salesProStreams(_ s: CallFeedConfiguration.SalesProSource, poll p: CallFeedConfiguration.PollSource) -> [SalesProAthenaStream] {
        let athena = AthenaClient(region: s.region, endpoint: s.endpoint ?? p.baseURL,
                                  credentials: AWSCredentials(accessKeyID: s.accessKeyID, secretAccessKey: s.secretAccessKey,
                                                              sessionToken: s.sessionToken.isEmpty ? nil : s.sessionToken),
                                  database: s.database, workGroup: s.workGroup, outputLocation: s.outputLocation.isEmpty ? nil : s.outputLocation,
                                  queryTimeout: .seconds(s.queryTimeoutSeconds), maxThrottleRetries: max(p.maxRetries, 5))
        let selected = p.entities ?? SalesProAthenaStream.defaults.map(\.entity)
        return s.tableMap.filter { selected.contains($0.entity) }.map { SalesProAthenaStream(table: $0, athena: athena, pageSize: s.pageSize) }
    }

    /// One FreeTDS connection per source, one keyset stream per selected table (all configured ones by default).
    static func marketSharpStreams(_ s: CallFeedConfiguration.MarketSharpSource, poll p: CallFeedConfiguration.PollSource) -> [SQLEntityStream] {
        let reader = FreeTDSReader(host: s.host, port: s.port, user: s.username, password: s.password, database: s.database,
                                   statementTimeoutSeconds: s.statementTimeoutSeconds, maxRetries: p.maxRetries)
        let zone = TimeZone(identifier: s.timeZone) ?? .gmt
        return s.tableMap.filter { p.entities?.contains($0.entity) ?? true }
            .map { SQLEntityStream(vendor: MarketSharpTables.vendor, table: $0, reader: reader, timeZone: zone, pageSize: s.pageSize) }
    }

    static func geniusStreams(_ s: CallFeedConfiguration.GeniusSource, poll p: CallFeedConfiguration.PollSource) -> [SQLEntityStream] {
        let reader = PostgresReader(conninfo: s.url, statementTimeoutSeconds: s.statementTimeoutSeconds, timeZone: s.timeZone, maxRetries: p.maxRetries)
        let zone = TimeZone(identifier: s.timeZone) ?? .gmt
        let selected = p.entities ?? GeniusTables.names
        return s.tableMap.filter { selected.contains($0.entity) }
            .map { SQLEntityStream(vendor: GeniusTables.vendor, table: $0, reader: reader, timeZone: zone, pageSize: s.pageSize) }
    }
}
