import CallFeedPoll
import CallFeedSQLPoll
import Foundation

/// `sources.genius` and `sources.salespro`: vendor data read by SQL, directly (docs/pollers-genius.md)
/// or through Athena (docs/pollers-salespro.md).
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
        public var tableMap: [SQLTable] { SQLTableMap.merged(GeniusTables.defaults, tables) }
    }

    /// MarketSharp (seed 001): the CRM's SQL Server database, read-only login, table by table
    /// through FreeTDS. No tables are defaulted: MarketSharp's schema is not public.
    public struct MarketSharpSource: Sendable, Equatable {
        public init() {}
        public var name = "marketsharp"
        public var host = ""
        public var port = 1433
        public var database = ""
        /// A SQL Server login with only `db_datareader` (SQL Server has no read-only session).
        public var username = ""
        /// From the environment: `${MARKETSHARP_DB_PASSWORD}`.
        public var password = ""
        /// IANA zone of the database's `datetime` / `datetime2` columns (SQL Server stores no zone).
        public var timeZone = "UTC"
        public var statementTimeoutSeconds = 60
        public var pageSize = 1000
        public var tables: [String: SQLTable] = [:]
        public var poll: PollSource?

        public var tableMap: [SQLTable] { SQLTableMap.merged(MarketSharpTables.defaults, tables) }
    }

    /// SalesPro (seed 001): its four tables in AWS Athena, read through Athena's API.
    public struct SalesProSource: Sendable, Equatable {
        public init() {}
        public var name = "salespro"
        public var region = "us-east-1"
        /// Athena's API; default `https://athena.<region>.amazonaws.com` (the sandbox sets its own).
        public var endpoint: String?
        public var database = ""
        public var workGroup = "primary"
        /// `s3://…` for query results; empty: the work group's setting.
        public var outputLocation = ""
        /// From the environment (`${AWS_ACCESS_KEY_ID}` …); the session token for temporary credentials.
        public var accessKeyID = ""
        public var secretAccessKey = ""
        public var sessionToken = ""
        public var queryTimeoutSeconds = 300
        public var pageSize = 1000
        public var tables: [String: SQLTable] = [:]
        public var poll: PollSource?

        public var tableMap: [SQLTable] { SQLTableMap.merged(SalesProAthenaStream.defaults, tables) }
    }

    mutating func decodeSQLSources(_ m: [String: ConfigTree]) throws(ConfigurationError) {
        for item in try m["marketsharp"]?.list() ?? [] {
            let f = try item.members(allowed: ["name", "host", "port", "database", "username", "password", "time_zone", "statement_timeout_seconds",
                                               "page_size", "tables", "poll"])
            var source = MarketSharpSource()
            if let v = f["name"] { source.name = try v.string() }
            if let v = f["host"] { source.host = try v.string() }
            if let v = f["port"] { source.port = try v.int() }
            if let v = f["database"] { source.database = try v.string() }
            if let v = f["username"] { source.username = try v.string() }
            if let v = f["password"] { source.password = try v.string() }
            if let v = f["time_zone"] { source.timeZone = try v.string() }
            if let v = f["statement_timeout_seconds"] { source.statementTimeoutSeconds = try v.int() }
            if let v = f["page_size"] { source.pageSize = try v.int() }
            if let v = f["tables"] { source.tables = try SQLTableMap.decode(v, defaults: MarketSharpTables.defaults, key: ["id"], modified: "LastUpdate") }
            if let v = f["poll"] { source.poll = try PollSource(tree: v, vendor: "marketsharp") }
            sources.marketsharp.append(source)
        }
        for item in try m["salespro"]?.list() ?? [] {
            let f = try item.members(allowed: ["name", "region", "endpoint", "database", "work_group", "output_location", "access_key_id",
                                               "secret_access_key", "session_token", "query_timeout_seconds", "page_size", "tables", "poll"])
            var source = SalesProSource()
            if let v = f["name"] { source.name = try v.string() }
            if let v = f["region"] { source.region = try v.string() }
            if let v = f["endpoint"] { source.endpoint = try v.string() }
            if let v = f["database"] { source.database = try v.string() }
            if let v = f["work_group"] { source.workGroup = try v.string() }
            if let v = f["output_location"] { source.outputLocation = try v.string() }
            if let v = f["access_key_id"] { source.accessKeyID = try v.string() }
            if let v = f["secret_access_key"] { source.secretAccessKey = try v.string() }
            if let v = f["session_token"] { source.sessionToken = try v.string() }
            if let v = f["query_timeout_seconds"] { source.queryTimeoutSeconds = try v.int() }
            if let v = f["page_size"] { source.pageSize = try v.int() }
            if let v = f["tables"] { source.tables = try SQLTableMap.decode(v, defaults: SalesProAthenaStream.defaults, key: ["id"], modified: "updated_at") }
            if let v = f["poll"] { source.poll = try PollSource(tree: v, vendor: "salespro") }
            sources.salespro.append(source)
        }
        for item in try m["genius"]?.list() ?? [] {
            let f = try item.members(allowed: ["name", "url", "time_zone", "statement_timeout_seconds", "page_size", "tables", "poll"])
            var source = GeniusSource()
            if let v = f["name"] { source.name = try v.string() }
            if let v = f["url"] { source.url = try v.string() }
            if let v = f["time_zone"] { source.timeZone = try v.string() }
            if let v = f["statement_timeout_seconds"] { source.statementTimeoutSeconds = try v.int() }
            if let v = f["page_size"] { source.pageSize = try v.int() }
            if let v = f["tables"] { source.tables = try SQLTableMap.decode(v, defaults: GeniusTables.defaults, key: ["id"], modified: "modified") }
            // Tables added under `tables:` are selectable in `poll.entities` too.
            if let v = f["poll"] { source.poll = try PollSource(tree: v, vendor: "genius") }
            sources.genius.append(source)
        }
    }

    func validateSQLSources() throws(ConfigurationError) {
        for (i, s) in sources.marketsharp.enumerated() {
            let path = "sources.marketsharp[\(i)]"
            guard !s.host.isEmpty, !s.database.isEmpty, !s.username.isEmpty, !s.password.isEmpty else {
                throw ConfigurationError("\(path).host, database, username and password are required (a read-only SQL Server login; password: ${MARKETSHARP_DB_PASSWORD})")
            }
            guard (1...65_535).contains(s.port) else { throw ConfigurationError("\(path).port must be 1 to 65535") }
            guard TimeZone(identifier: s.timeZone) != nil else { throw ConfigurationError("\(path).time_zone \(s.timeZone) is not an IANA time zone") }
            guard s.statementTimeoutSeconds > 0, s.pageSize > 0 else {
                throw ConfigurationError("\(path): statement_timeout_seconds and page_size must be positive")
            }
            guard !s.tableMap.isEmpty else {
                throw ConfigurationError("\(path).tables is required: MarketSharp's schema is not public, so no tables are defaulted (e.g. contacts: {table: dbo.Contact, key: [ContactId], modified: LastUpdate})")
            }
            try SQLTableMap.validate(s.tableMap, poll: s.poll, path: path)
        }
        for (i, s) in sources.salespro.enumerated() {
            let path = "sources.salespro[\(i)]"
            guard !s.database.isEmpty else { throw ConfigurationError("\(path).database is required (the Athena database holding SalesPro's tables)") }
            guard !s.accessKeyID.isEmpty, !s.secretAccessKey.isEmpty else {
                throw ConfigurationError("\(path).access_key_id and secret_access_key are required (use ${AWS_ACCESS_KEY_ID} / ${AWS_SECRET_ACCESS_KEY})")
            }
            guard s.queryTimeoutSeconds > 0, (1...1000).contains(s.pageSize) else {
                throw ConfigurationError("\(path): query_timeout_seconds must be positive and page_size 1 to 1000 (Athena's MaxResults)")
            }
            try SQLTableMap.validate(s.tableMap, poll: s.poll, path: path)
        }
        for (i, s) in sources.genius.enumerated() {
            let path = "sources.genius[\(i)]"
            guard !s.url.isEmpty else { throw ConfigurationError("\(path).url is required (the Genius database; use ${GENIUS_DATABASE_URL})") }
            guard TimeZone(identifier: s.timeZone) != nil else { throw ConfigurationError("\(path).time_zone \(s.timeZone) is not an IANA time zone") }
            guard s.statementTimeoutSeconds > 0, s.pageSize > 0 else {
                throw ConfigurationError("\(path): statement_timeout_seconds and page_size must be positive")
            }
            try SQLTableMap.validate(s.tableMap, poll: s.poll, path: path)
        }
    }

    var sqlSourcesSummary: [String] {
        sources.salespro.flatMap { s -> [String] in
            var lines = ["source salespro \(s.name): region=\(s.region) database=\(s.database) work_group=\(s.workGroup) access_key_id=\(s.accessKeyID.isEmpty ? "(none)" : String(s.accessKeyID.prefix(4)) + "***") secret_access_key=*** query_timeout=\(s.queryTimeoutSeconds)s"]
            if let p = s.poll { lines.append("  poll: \(p.summary) entities=\(p.entities?.joined(separator: ",") ?? "all")") }
            return lines
        } + sources.marketsharp.flatMap { s -> [String] in
            var lines = ["source marketsharp \(s.name): server=\(s.host):\(s.port) database=\(s.database) username=\(s.username) password=*** time_zone=\(s.timeZone) page_size=\(s.pageSize) statement_timeout=\(s.statementTimeoutSeconds)s"]
            if let p = s.poll { lines.append("  poll: \(p.summary) entities=\(p.entities?.joined(separator: ",") ?? "all")") }
            for t in s.tableMap { lines.append("  table \(t.entity): \(t.table) key=\(t.key.joined(separator: ",")) modified=\(t.modified ?? "none (full refresh)")") }
            return lines
        } + sources.genius.flatMap { s -> [String] in
            var lines = ["source genius \(s.name): url=*** time_zone=\(s.timeZone) page_size=\(s.pageSize) statement_timeout=\(s.statementTimeoutSeconds)s"]
            if let p = s.poll { lines.append("  poll: \(p.summary) entities=\(p.entities?.joined(separator: ",") ?? "all")") }
            for t in s.tableMap where s.tables[t.entity] != nil {
                lines.append("  table \(t.entity): \(t.table) key=\(t.key.joined(separator: ",")) modified=\(t.modified ?? "none (full refresh)")")
            }
            return lines
        }
    }
}

/// The `tables:` map of a SQL source: decoding over the defaults, merging, validation.
enum SQLTableMap {
    /// `tables: {<entity>: {table, key, modified, columns}}`; an entity not among the defaults is
    /// added with the given default key and modified column.
    static func decode(_ tree: ConfigTree, defaults: [SQLTable], key: [String], modified: String) throws(ConfigurationError) -> [String: SQLTable] {
        guard case .map(let entries, _) = tree else { throw ConfigurationError("\(tree.path) must map entity names to tables") }
        var tables: [String: SQLTable] = [:]
        for (entity, item) in entries {
            let t = try item.members(allowed: ["table", "key", "modified", "columns"])
            var table = defaults.first { $0.entity == entity } ?? SQLTable(entity: entity, table: entity, key: key, modified: modified)
            if let v = t["table"] { table.table = try v.string() }
            if let v = t["key"] { table.key = try v.strings() }
            if let v = t["modified"] {
                let text = try v.string()
                table.modified = text.isEmpty || text == "none" ? nil : text
            }
            if let v = t["columns"] { table.columns = try v.strings() }
            tables[entity] = table
        }
        return tables
    }

    /// The defaults with their overrides, in order, then added tables by name.
    static func merged(_ defaults: [SQLTable], _ tables: [String: SQLTable]) -> [SQLTable] {
        let names = Set(defaults.map(\.entity))
        return defaults.map { tables[$0.entity] ?? $0 } + tables.values.filter { !names.contains($0.entity) }.sorted { $0.entity < $1.entity }
    }

    static func validate(_ map: [SQLTable], poll: CallFeedConfiguration.PollSource?, path: String) throws(ConfigurationError) {
        for table in map {
            do throws(PollError) { try table.validate() } catch { throw ConfigurationError("\(path).tables: \(error.reason)") }
        }
        guard let poll else { throw ConfigurationError("\(path).poll is required (how often to read the tables)") }
        if let unknown = poll.entities?.first(where: { name in !map.contains { $0.entity == name } }) {
            throw ConfigurationError("\(path).poll.entities: no table \(unknown) (known: \(map.map(\.entity).joined(separator: ", ")); add others under tables)")
        }
        try poll.validate(path: "\(path).poll")
    }
}
