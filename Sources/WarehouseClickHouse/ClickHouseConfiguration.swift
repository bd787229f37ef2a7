/// Where a ``ClickHouseSink`` writes: a ClickHouse server's HTTP interface and one database on it.
///
/// ```swift
/// let sink = try ClickHouseSink(configuration: ClickHouseConfiguration(
///     url: "http://127.0.0.1:8123", database: "callfeed"))
/// ```
public struct ClickHouseConfiguration: Sendable, Equatable {
    /// Base URL of the HTTP interface, `http://host:8123` (or `https://host:8443`). A trailing `/`
    /// is ignored; the sink adds the query string itself.
    public var url: String
    /// The database holding CallFeed's tables. ``ClickHouseSink/prepare()`` creates it if missing.
    /// Must match `[A-Za-z_][A-Za-z0-9_]*` (it is put into DDL as an identifier).
    public var database: String
    /// The ClickHouse user, sent with HTTP basic authentication.
    public var user: String
    /// The user's password (may be empty).
    public var password: String
    /// How long one HTTP request (connect, query, response) may take before it fails with a
    /// transient error, in seconds; also the connect timeout.
    public var timeoutSeconds: Int

    /// Makes a configuration.
    /// - Parameters:
    ///   - url: Base URL of the HTTP interface.
    ///   - database: The database for CallFeed's tables.
    ///   - user: The ClickHouse user.
    ///   - password: Its password.
    ///   - timeoutSeconds: Per-request timeout, in seconds.
    public init(url: String = "http://127.0.0.1:8123", database: String = "callfeed", user: String = "default",
                password: String = "", timeoutSeconds: Int = 30) {
        self.url = url
        self.database = database
        self.user = user
        self.password = password
        self.timeoutSeconds = timeoutSeconds
    }
}

extension ClickHouseConfiguration: CustomStringConvertible {
    /// The configuration without its password, for logs.
    public var description: String {
        "ClickHouseConfiguration(url: \(url), database: \(database), user: \(user), timeoutSeconds: \(timeoutSeconds))"
    }
}
