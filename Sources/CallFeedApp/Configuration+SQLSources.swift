import CallFeedPoll
import CallFeedSQLPoll
import Foundation

/// `sources.genius`: vendor databases read directly (docs/pollers-genius.md).
extension CallFeedConfiguration {
    /// Genius (seed 001): the CRM's PostgreSQL database, read-only, table by table.
    public struct GeniusSource: Sendable, Equatable {
        public init() {}
        public var name = "genius"
        /// libpq connection string or `postgresql://` URL; put it in the environment
        /// (`url: ${GENIUS_DATABASE_URL}`): it holds the password.
        public var url = ""
        /// IANA zone of the database's zone-less `timestamp` columns.
        public var timeZone = "UTC"
        public var statementTimeoutSeconds = 60
        /// Rows per keyset page.
        public var pageSize = 1000
        /// Re-mapped or added tables, by entity (merged over ``GeniusTables/defaults``).
        public var tables: [String: SQLTable] = [:]
        public var poll: PollSource?

        /// The default tables with this source's overrides, in the default order, added ones after.
        public var tableMap: [SQLTable] {
            let defaults = GeniusTables.defaults.map { tables[$0.entity] ?? $0 }
            let added = tables.values.filter { t in !GeniusTables.names.contains(t.entity) }.sorted { $0.entity < $1.entity }
            return defaults + added
        }
    }

    mutating func decodeSQLSources(_ m: [String: ConfigTree]) throws(ConfigurationError) {
        for item in try m["genius"]?.list() ?? [] {
            let f = try item.members(allowed: ["name", "url", "time_zone", "statement_timeout_seconds", "page_size", "tables", "poll"])
            var source = GeniusSource()
            if let v = f["name"] { source.name = try v.string() }
            if let v = f["url"] { source.url = try v.string() }
            if let v = f["time_zone"] { source.timeZone = try v.string() }
            if let v = f["statement_timeout_seconds"] { source.statementTimeoutSeconds = try v.int() }
            if let v = f["page_size"] { source.pageSize = try v.int() }
            if let v = f["tables"] {
                guard case .map(let entries, _) = v else { throw ConfigurationError("\(v.path) must map entity names to tables") }
                for (entity, tree) in entries {
                    let t = try tree.members(allowed: ["table", "key", "modified", "columns"])
                    let base = GeniusTables.defaults.first { $0.entity == entity }
                    var table = base ?? SQLTable(entity: entity, table: entity, key: ["id"], modified: "modified")
                    if let v = t["table"] { table.table = try v.string() }
                    if let v = t["key"] { table.key = try v.strings() }
                    if let v = t["modified"] {
                        let text = try v.string()
                        table.modified = text.isEmpty || text == "none" ? nil : text
                    }
                    if let v = t["columns"] { table.columns = try v.strings() }
                    source.tables[entity] = table
                }
            }
            // Tables added under `tables:` are selectable in `poll.entities` too.
            if let v = f["poll"] { source.poll = try PollSource(tree: v, vendor: "genius") }
            sources.genius.append(source)
        }
    }

    func validateSQLSources() throws(ConfigurationError) {
        for (i, s) in sources.genius.enumerated() {
            let path = "sources.genius[\(i)]"
            guard !s.url.isEmpty else { throw ConfigurationError("\(path).url is required (the Genius database; use ${GENIUS_DATABASE_URL})") }
            guard TimeZone(identifier: s.timeZone) != nil else { throw ConfigurationError("\(path).time_zone \(s.timeZone) is not an IANA time zone") }
            guard s.statementTimeoutSeconds > 0, s.pageSize > 0 else {
                throw ConfigurationError("\(path): statement_timeout_seconds and page_size must be positive")
            }
            for table in s.tableMap {
                do throws(PollError) { try table.validate() } catch { throw ConfigurationError("\(path).tables: \(error.reason)") }
            }
            guard let poll = s.poll else { throw ConfigurationError("\(path).poll is required (how often to read the tables)") }
            if let unknown = poll.entities?.first(where: { name in !s.tableMap.contains { $0.entity == name } }) {
                throw ConfigurationError("\(path).poll.entities: no table \(unknown) (defaults: \(GeniusTables.names.joined(separator: ", ")); add others under tables)")
            }
            try poll.validate(path: "\(path).poll")
        }
    }

    var sqlSourcesSummary: [String] {
        sources.genius.flatMap { s -> [String] in
            var lines = ["source genius \(s.name): url=*** time_zone=\(s.timeZone) page_size=\(s.pageSize) statement_timeout=\(s.statementTimeoutSeconds)s"]
            if let p = s.poll { lines.append("  poll: \(p.summary) entities=\(p.entities?.joined(separator: ",") ?? "all")") }
            for t in s.tableMap where s.tables[t.entity] != nil {
                lines.append("  table \(t.entity): \(t.table) key=\(t.key.joined(separator: ",")) modified=\(t.modified ?? "none (full refresh)")")
            }
            return lines
        }
    }
}
