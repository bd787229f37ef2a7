import CFreeTDS
import CallFeedPoll
import Foundation

/// MarketSharp's SQL Server, read through FreeTDS DB-Library (`Sources/CFreeTDS`, Debian
/// `freetds-dev`): the SQL Server ``SQLReader``. Everything else of a SQL source (table map,
/// keyset pages, checkpoints, types) is shared with Genius (docs/pollers-genius.md).
///
/// - A query with parameters runs as `sp_executesql` with every `@Pn` an `nvarchar(4000)`, whose
///   values are written as `N'…'` literals (quotes doubled: ``batch(_:_:)``). SQL Server converts
///   each parameter to the column's type (`int`, `datetime`: both rank above `nvarchar`), so the
///   comparison uses the column's index.
/// - Each session runs ``sessionSetup(statementTimeoutSeconds:)``: `SET DATEFORMAT ymd` (so the
///   page query's `2024-03-01 12:34:56.789` means the same on a server set to any language), a
///   lock timeout, and READ COMMITTED. SQL Server has no read-only session; use a login that only
///   has `db_datareader` (docs/pollers-genius.md).
/// - Date-times come back as ISO text (`2024-03-01 12:34:56.997`, datetime2 with seven digits,
///   datetimeoffset with its offset), not DB-Library's locale format, so the keyset's saved
///   values convert back to exactly the row's value.
/// - A lost connection is reopened and the query retried, with backoff, up to `maxRetries`.
///   Server messages 208 (invalid object name) and 207 (invalid column name) are configuration
///   errors (the table map is wrong); 18456 (login failed) is a credentials error.
///
/// - Important: Not proven against a SQL Server: none can run here. The SQL text, the parameter
///   batch and the type names are tested without a server; a connection refusal is tested on a
///   real socket.
public final class FreeTDSReader: SQLReader, @unchecked Sendable {
    public var dialect: SQLDialect { .sqlServer }
    private let server: String
    private let user: String
    private let password: String
    private let database: String
    private let statementTimeoutSeconds: Int
    private let loginTimeoutSeconds: Int
    private let maxRetries: Int
    private var connection: OpaquePointer?
    private let lock = NSLock()

    /// - Parameters:
    ///   - host: The server (`host`, or `host\instance` with no port).
    ///   - port: TDS port, 1433 by default.
    ///   - user: A SQL Server login (SQL authentication; FreeTDS also accepts `DOMAIN\user` for NTLM).
    public init(host: String, port: Int = 1433, user: String, password: String, database: String,
                statementTimeoutSeconds: Int = 60, loginTimeoutSeconds: Int = 15, maxRetries: Int = 3) {
        self.server = host.contains("\\") ? host : "\(host):\(port)"
        self.user = user
        self.password = password
        self.database = database
        self.statementTimeoutSeconds = statementTimeoutSeconds
        self.loginTimeoutSeconds = loginTimeoutSeconds
        self.maxRetries = maxRetries
    }

    deinit { if let connection { cf_tds_close(connection) } }

    public func rows(_ sql: String, _ parameters: [String?]) throws(PollError) -> SQLRows {
        lock.lock()
        defer { lock.unlock() }
        var attempt = 0
        while true {
            let failure: (reason: String, msgno: Int32)
            do throws(FreeTDSError) {
                return try query(Self.batch(sql, parameters))
            } catch {
                failure = (error.reason, error.msgno)
            }
            if let connection, cf_tds_dead(connection) != 0 {
                cf_tds_close(connection)
                self.connection = nil
            }
            switch failure.msgno {
            case 208, 207: throw PollError(.configuration, "MarketSharp (\(server)): \(failure.reason)")
            case 18456: throw PollError(.credentials, "MarketSharp (\(server)): \(failure.reason)")
            default: break
            }
            // A server's refusal of the statement itself is final; a lost or refused connection is retried.
            let isTransient = connection == nil
            guard isTransient, attempt < maxRetries else { throw PollError(.vendor, "MarketSharp (\(server)): \(failure.reason)") }
            attempt += 1
            Thread.sleep(forTimeInterval: min(30, 0.5 * pow(2, Double(attempt - 1))))
        }
    }

    public func close() {
        lock.lock()
        defer { lock.unlock() }
        if let connection { cf_tds_close(connection) }
        connection = nil
    }

    /// The batch sent for `sql` with `parameters`: `sql` itself without parameters, otherwise
    /// `EXEC sp_executesql N'<sql>', N'@P1 nvarchar(4000), …', @P1 = N'<value>', …` (NULL for nil).
    public static func batch(_ sql: String, _ parameters: [String?]) -> String {
        guard !parameters.isEmpty else { return sql }
        let declarations = parameters.indices.map { "@P\($0 + 1) nvarchar(4000)" }.joined(separator: ", ")
        let values = parameters.enumerated().map { "@P\($0.offset + 1) = " + ($0.element.map(literal) ?? "NULL") }
        return "EXEC sp_executesql \(literal(sql)), \(literal(declarations)), " + values.joined(separator: ", ")
    }

    /// `N'…'` with every `'` doubled (the only character a Unicode literal escapes).
    public static func literal(_ text: String) -> String { "N'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    /// The statements each new session runs.
    public static func sessionSetup(statementTimeoutSeconds: Int) -> String {
        "SET DATEFORMAT ymd; SET LOCK_TIMEOUT \(max(1, statementTimeoutSeconds) * 1000); SET TRANSACTION ISOLATION LEVEL READ COMMITTED; SET TEXTSIZE 2147483647"
    }

    /// The name CallFeed gives a DB-Library type code (for ``SQLColumnType/sqlServer(typeName:)``).
    public static func typeName(code: Int32) -> String { String(cString: cf_tds_type_name(code)) }

    // MARK: The wire

    private struct FreeTDSError: Error {
        var reason: String
        var msgno: Int32 = 0
    }

    private func open() throws(FreeTDSError) -> OpaquePointer {
        if let connection, cf_tds_dead(connection) == 0 { return connection }
        if let connection { cf_tds_close(connection) }
        connection = nil
        var error = [CChar](repeating: 0, count: 1024)
        guard let fresh = cf_tds_open(server, user, password, database, "callfeed", Int32(loginTimeoutSeconds), Int32(statementTimeoutSeconds),
                                      &error, error.count) else {
            throw FreeTDSError(reason: "cannot connect: " + Self.text(error))
        }
        var msgno: Int32 = 0
        if cf_tds_exec(fresh, Self.sessionSetup(statementTimeoutSeconds: statementTimeoutSeconds), &error, error.count, &msgno) != 0 {
            cf_tds_close(fresh)
            throw FreeTDSError(reason: "session setup failed: " + Self.text(error), msgno: msgno)
        }
        connection = fresh
        return fresh
    }

    private func query(_ batch: String) throws(FreeTDSError) -> SQLRows {
        let c = try open()
        var error = [CChar](repeating: 0, count: 1024)
        var msgno: Int32 = 0
        guard cf_tds_exec(c, batch, &error, error.count, &msgno) == 0 else { throw FreeTDSError(reason: Self.text(error), msgno: msgno) }
        let count = Int(cf_tds_numcols(c))
        let columns = (0..<count).map { i in
            SQLRows.Column(name: String(cString: cf_tds_colname(c, Int32(i))),
                           type: .sqlServer(typeName: String(cString: cf_tds_coltypename(c, Int32(i)))))
        }
        var rows: [[String?]] = []
        var buffer = [CChar](repeating: 0, count: 4096)
        while true {
            let status = cf_tds_nextrow(c, &error, error.count)
            if status == 0 { break }
            guard status == 1 else { throw FreeTDSError(reason: Self.text(error)) }
            var row: [String?] = []
            row.reserveCapacity(count)
            for i in 0..<count {
                var needed: Int32 = 0
                var n = cf_tds_cell(c, Int32(i), &buffer, Int32(buffer.count), &needed)
                if n == -2 {
                    buffer = [CChar](repeating: 0, count: Int(needed) + 1)
                    n = cf_tds_cell(c, Int32(i), &buffer, Int32(buffer.count), &needed)
                }
                row.append(n < 0 ? nil : Self.text(buffer))
            }
            rows.append(row)
        }
        return SQLRows(columns: columns, rows: rows)
    }

    private static func text(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
