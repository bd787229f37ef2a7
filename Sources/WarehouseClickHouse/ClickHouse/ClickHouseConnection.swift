import CallFeedCore
import Foundation
import HTTPClient
import Warehouse

/// One ClickHouse server's HTTP interface as the sink uses it: a statement per `POST`, rows back as
/// JSONEachRow, failures as ``WarehouseError``s (``ClickHouseErrors``).
///
/// Every request is `POST <url>/?database=<db>&<settings>` with the statement as the body; an
/// `INSERT … FORMAT JSONEachRow` statement is followed in the same body by a newline and its rows
/// (ClickHouse reads the data after the query text). Credentials go as HTTP basic authentication,
/// never in the URL. The libcurl handle keeps its connection alive between requests.
///
/// - Important: Not thread-safe (it owns one libcurl easy handle): one sink, one thread.
final class ClickHouseConnection {
    /// The database every statement runs in (``execute(_:data:inDatabase:)`` can run outside it).
    let database: String
    private let client: HTTPClient
    private let endpoint: String
    private let headers: [(String, String)]

    /// Settings for every `SELECT`. `wait_end_of_query=1` makes the server buffer the result, so an
    /// exception comes with an error status instead of after half the rows; unquoted 64-bit
    /// integers parse as JSON numbers; `/` stays unescaped. All exist since 18.x.
    private static let querySettings = [
        ("wait_end_of_query", "1"),
        ("output_format_json_quote_64bit_integers", "0"),
        ("output_format_json_escape_forward_slashes", "0"),
    ]

    /// Prepares a connection (no request is sent until the first statement).
    /// - Parameter configuration: Server, database and credentials.
    /// - Throws: ``WarehouseError`` (misuse) when the URL is not `http(s)://…` or the database name
    ///   is not an identifier.
    init(configuration: ClickHouseConfiguration) throws(WarehouseError) {
        let url = configuration.url
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), !url.contains("?") else {
            throw ClickHouseErrors.misuse("url must be http(s)://host:port without a query string, got \(url)")
        }
        guard ClickHouseSQL.databaseIdentifier(configuration.database) != nil else {
            throw ClickHouseErrors.misuse("database \(jsonStringLiteral(configuration.database)) is not an "
                                          + "identifier ([A-Za-z_][A-Za-z0-9_]*)")
        }
        database = configuration.database
        endpoint = (url.hasSuffix("/") ? url : url + "/") + "?"
        let credentials = Data("\(configuration.user):\(configuration.password)".utf8).base64EncodedString()
        headers = [("Authorization", "Basic " + credentials), ("Content-Type", "text/plain; charset=UTF-8")]
        let timeout = max(1, configuration.timeoutSeconds)
        client = HTTPClient(connectTimeoutSeconds: timeout, totalTimeoutSeconds: timeout)
    }

    // MARK: - Statements

    /// Runs a statement that returns no rows: DDL, or an `INSERT … FORMAT JSONEachRow` with `data`.
    /// - Parameters:
    ///   - sql: One statement, without a trailing `;`.
    ///   - data: The rows following an `INSERT … FORMAT` statement.
    ///   - inDatabase: `false` to run outside the database (`CREATE DATABASE`).
    /// - Throws: ``WarehouseError``.
    func execute(_ sql: String, data: [UInt8]? = nil, inDatabase: Bool = true) throws(WarehouseError) {
        var body = Array(sql.utf8)
        if let data {
            body.append(UInt8(ascii: "\n"))
            body += data
        }
        _ = try send(body, statement: sql, settings: [], inDatabase: inDatabase)
    }

    /// Inserts rows into a table, all or nothing: fewer rows than the server's
    /// `max_insert_block_size` (1,048,576) form one block, which a MergeTree table writes as one
    /// part, and a value that does not parse fails the block before anything is written.
    /// - Parameters:
    ///   - table: A name from ``ClickHouseSQL/tableIdentifier(_:)``.
    ///   - columns: The columns the rows give (the others take their defaults).
    ///   - rows: JSONEachRow lines (``JSONEachRow/appendRow(_:columns:jsonColumns:version:to:)``).
    /// - Throws: ``WarehouseError``.
    func insert(into table: String, columns: [String], rows: [UInt8]) throws(WarehouseError) {
        try execute("INSERT INTO \(table) (\(columns.joined(separator: ", "))) FORMAT JSONEachRow", data: rows)
    }

    /// Runs a `SELECT` and returns its rows.
    /// - Parameter sql: The query, without a `FORMAT` clause (`FORMAT JSONEachRow` is added).
    /// - Returns: One object per row, column name → value.
    /// - Throws: ``WarehouseError``.
    func query(_ sql: String) throws(WarehouseError) -> [[String: JSONValue]] {
        let statement = sql + " FORMAT JSONEachRow"
        let body = try send(Array(statement.utf8), statement: statement, settings: Self.querySettings, inDatabase: true)
        return try JSONEachRow.rows(body, statement: statement)
    }

    // MARK: - Transport

    private func send(_ body: [UInt8], statement: String, settings: [(String, String)],
                      inDatabase: Bool) throws(WarehouseError) -> [UInt8] {
        var parameters = settings
        if inDatabase { parameters.insert(("database", database), at: 0) }
        let url = endpoint + parameters.map { "\($0)=\(Self.percentEncoded($1))" }.joined(separator: "&")
        let response: HTTPClientResponse
        do throws(HTTPClientError) {
            response = try client.request("POST", url, headers: headers, body: body)
        } catch {
            throw ClickHouseErrors.transport(error, statement: statement)
        }
        guard response.status == 200 else {
            throw ClickHouseErrors.error(status: response.status, headers: response.headers, body: response.bodyText,
                                         statement: statement)
        }
        return response.body
    }

    /// `value` with everything but unreserved characters (RFC 3986) percent-encoded.
    private static func percentEncoded(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}

@available(*, unavailable, message: "owns a libcurl easy handle: one thread at a time")
extension ClickHouseConnection: Sendable {}
