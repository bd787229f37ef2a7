import CallFeedPoll
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
        }
    }

    static func geniusStreams(_ s: CallFeedConfiguration.GeniusSource, poll p: CallFeedConfiguration.PollSource) -> [SQLEntityStream] {
        let reader = PostgresReader(conninfo: s.url, statementTimeoutSeconds: s.statementTimeoutSeconds, timeZone: s.timeZone, maxRetries: p.maxRetries)
        let zone = TimeZone(identifier: s.timeZone) ?? .gmt
        let selected = p.entities ?? GeniusTables.names
        return s.tableMap.filter { selected.contains($0.entity) }
            .map { SQLEntityStream(vendor: GeniusTables.vendor, table: $0, reader: reader, timeZone: zone, pageSize: s.pageSize) }
    }
}
