import CallFeedPoll
import Foundation
import Warehouse
import WarehousePostgres

/// Genius's database, read through libpq (the same connection code as the PostgreSQL sink).
///
/// Every session is read-only (`SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`: a typo in a
/// table map cannot write to the CRM), has a `statement_timeout`, and uses the configured time zone
/// (zone-less `timestamp` columns are read and bound in it). A lost connection is reopened and
/// the query retried, with backoff, up to `maxRetries` times.
public final class PostgresReader: SQLReader, @unchecked Sendable {
    public var dialect: SQLDialect { .postgresql }
    private let conninfo: String
    private let statementTimeoutSeconds: Int
    private let timeZone: String
    private let maxRetries: Int
    private var connection: PostgresConnection?
    private let lock = NSLock()

    /// - Parameters:
    ///   - conninfo: A libpq connection string or `postgresql://` URL (from the environment: it
    ///     holds the password).
    ///   - timeZone: IANA zone of zone-less date-times (`UTC` unless the CRM stores local time).
    public init(conninfo: String, statementTimeoutSeconds: Int = 60, timeZone: String = "UTC", maxRetries: Int = 3) {
        self.conninfo = conninfo
        self.statementTimeoutSeconds = statementTimeoutSeconds
        self.timeZone = timeZone
        self.maxRetries = maxRetries
    }

    public func rows(_ sql: String, _ parameters: [String?]) throws(PollError) -> SQLRows {
        lock.lock()
        defer { lock.unlock() }
        var attempt = 0
        while true {
            do {
                let result = try open().query(sql, parameters)
                return SQLRows(columns: result.columns.map { .init(name: $0.name, type: .postgres(oid: $0.typeOID)) }, rows: result.rows)
            } catch {
                if !(connection?.isHealthy ?? false) { connection?.close(); connection = nil }
                guard error.isTransient, attempt < maxRetries else {
                    // 42P01 undefined table, 42703 undefined column: the table map is wrong.
                    let kind: PollError.Kind = error.reason.contains("42P01") || error.reason.contains("42703") ? .configuration : .vendor
                    throw PollError(kind, error.reason)
                }
                attempt += 1
                Thread.sleep(forTimeInterval: min(30, 0.5 * pow(2, Double(attempt - 1))))
            }
        }
    }

    public func close() {
        lock.lock()
        defer { lock.unlock() }
        connection?.close()
        connection = nil
    }

    private func open() throws(WarehouseError) -> PostgresConnection {
        if let connection, connection.isHealthy { return connection }
        let fresh = try PostgresConnection(conninfo: conninfo)
        let zone = timeZone.replacingOccurrences(of: "'", with: "''")
        try fresh.execute("""
            SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; SET statement_timeout = \(max(1, statementTimeoutSeconds) * 1000); \
            SET TIME ZONE '\(zone)'; SET application_name = 'callfeed'
            """)
        connection = fresh
        return fresh
    }
}
