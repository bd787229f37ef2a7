import Foundation
import Warehouse

/// The `load:` keys that choose and reach the warehouse (docs/configuration.md, Warehouses).
extension CallFeedConfiguration {
    /// The sinks this build has.
    public static let sinkKinds = ["sqlite", "postgres", "clickhouse", "bigquery"]

    /// `load.postgres`.
    public struct PostgresSettings: Sendable, Equatable {
        public init() {}
        /// libpq connection string or URI; `${VAR}` for the password, or libpq's `PGPASSWORD`.
        public var url = "postgresql://callfeed@127.0.0.1:5432/callfeed"
        /// Schema holding CallFeed's tables (created if missing).
        public var schema = "public"
    }

    /// `load.clickhouse`.
    public struct ClickHouseSettings: Sendable, Equatable {
        public init() {}
        /// The HTTP interface's base URL.
        public var url = "http://127.0.0.1:8123"
        public var database = "callfeed"
        public var user = "default"
        public var password = ""
        public var timeoutSeconds = 30
    }

    /// `load.bigquery`.
    public struct BigQuerySettings: Sendable, Equatable {
        public init() {}
        public var project = ""
        public var dataset = "callfeed"
        public var location = "US"
        /// The REST API's base URL (an emulator's for tests).
        public var endpoint = "https://bigquery.googleapis.com"
        /// A service-account JSON key file (JWT -> OAuth token); or
        public var credentialsFile: String?
        /// an OAuth access token (e.g. `${CALLFEED_BIGQUERY_TOKEN}`); neither = no auth (emulators).
        public var token = ""
    }

    /// Reads `load.postgres`, `load.clickhouse` and `load.bigquery` from the `load:` members.
    mutating func decodeWarehouses(_ members: [String: ConfigTree]) throws(ConfigurationError) {
        if let p = members["postgres"] {
            let m = try p.members(allowed: ["url", "schema"])
            if let v = m["url"] { load.postgres.url = try v.string() }
            if let v = m["schema"] { load.postgres.schema = try v.string() }
        }
        if let c = members["clickhouse"] {
            let m = try c.members(allowed: ["url", "database", "user", "password", "timeout_seconds"])
            if let v = m["url"] { load.clickhouse.url = try v.string() }
            if let v = m["database"] { load.clickhouse.database = try v.string() }
            if let v = m["user"] { load.clickhouse.user = try v.string() }
            if let v = m["password"] { load.clickhouse.password = try v.string() }
            if let v = m["timeout_seconds"] { load.clickhouse.timeoutSeconds = try v.int() }
        }
        if let b = members["bigquery"] {
            let m = try b.members(allowed: ["project", "dataset", "location", "endpoint", "credentials_file", "token"])
            if let v = m["project"] { load.bigquery.project = try v.string() }
            if let v = m["dataset"] { load.bigquery.dataset = try v.string() }
            if let v = m["location"] { load.bigquery.location = try v.string() }
            if let v = m["endpoint"] { load.bigquery.endpoint = try v.string() }
            if let v = m["credentials_file"] { load.bigquery.credentialsFile = try v.string() }
            if let v = m["token"] { load.bigquery.token = try v.string() }
        }
    }

    /// Checks the chosen sink's settings.
    func validateWarehouse() throws(ConfigurationError) {
        guard Self.sinkKinds.contains(load.sink) else {
            throw ConfigurationError("load.sink \(load.sink) is not one of \(Self.sinkKinds.joined(separator: ", "))")
        }
        switch load.sink {
        case "postgres":
            guard !load.postgres.url.isEmpty else { throw ConfigurationError("load.postgres.url is required for sink postgres") }
            guard EntityRow.quotedIdentifier(load.postgres.schema) != nil else {
                throw ConfigurationError("load.postgres.schema must match [a-z][a-z0-9_]*")
            }
        case "clickhouse":
            guard load.clickhouse.url.hasPrefix("http://") || load.clickhouse.url.hasPrefix("https://") else {
                throw ConfigurationError("load.clickhouse.url must be the HTTP interface's http(s):// URL")
            }
            guard EntityRow.quotedIdentifier(load.clickhouse.database) != nil else {
                throw ConfigurationError("load.clickhouse.database must match [a-z][a-z0-9_]*")
            }
        case "bigquery":
            guard !load.bigquery.project.isEmpty else { throw ConfigurationError("load.bigquery.project is required for sink bigquery") }
            guard !load.bigquery.dataset.isEmpty else { throw ConfigurationError("load.bigquery.dataset is required for sink bigquery") }
        default:
            break
        }
    }

    /// The chosen sink's line of ``redactedSummary``: passwords and tokens replaced by `***`.
    var warehouseSummary: String {
        switch load.sink {
        case "postgres":
            return "  warehouse postgres: url=\(Self.redactingPassword(load.postgres.url)) schema=\(load.postgres.schema)"
        case "clickhouse":
            let c = load.clickhouse
            return "  warehouse clickhouse: url=\(c.url) database=\(c.database) user=\(c.user) password=\(c.password.isEmpty ? "(none)" : "***")"
        case "bigquery":
            let b = load.bigquery
            let auth = b.credentialsFile.map { "credentials_file=\($0)" } ?? (b.token.isEmpty ? "auth=none" : "token=***")
            return "  warehouse bigquery: project=\(b.project) dataset=\(b.dataset) location=\(b.location) endpoint=\(b.endpoint) \(auth)"
        default:
            return "  warehouse sqlite: path=\(load.sqlitePath)"
        }
    }

    /// `url` with a URI's `user:password@` password and a conninfo's `password=…` replaced by `***`.
    public static func redactingPassword(_ url: String) -> String {
        var text = url
        if let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].firstIndex(of: "@"),
           let colon = text[scheme.upperBound..<at].firstIndex(of: ":") {
            text.replaceSubrange(text.index(after: colon)..<at, with: "***")
        }
        var words = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        for (index, word) in words.enumerated() where word.hasPrefix("password=") { words[index] = "password=***" }
        return words.joined(separator: " ")
    }
}
