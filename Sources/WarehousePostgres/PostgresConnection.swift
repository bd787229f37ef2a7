import CLibPQ
import Glibc
import Warehouse

/// One libpq connection: statements with text parameters, results as text, `COPY … FROM STDIN`, and
/// every failure turned into a ``WarehouseError`` (``PostgresErrors``).
///
/// Package-wide: the sink writes through it, and the Genius source (CallFeedSQLPoll) reads through it.
///
/// - Important: Not `Sendable`; libpq connections are used from one thread at a time.
package final class PostgresConnection {
    private var handle: OpaquePointer?
    /// The connection string, kept for ``reconnect()``. Never logged: it may hold a password.
    private let conninfo: String

    /// Connects, failing with a transient error if the server cannot be reached.
    /// - Parameter conninfo: A libpq connection string (`host=… dbname=…`) or URI (`postgresql://…`).
    package init(conninfo: String) throws(WarehouseError) {
        self.conninfo = conninfo
        handle = PQconnectdb(conninfo)
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            let message = handle.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            PQfinish(handle)
            self.handle = nil
            throw PostgresErrors.connectionFailed(message)
        }
    }

    deinit { close() }

    /// Whether the connection is open and usable (false after the server went away).
    package var isHealthy: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// Whether a transaction block is open (also an aborted one that needs `ROLLBACK`).
    var isInTransaction: Bool {
        guard let handle else { return false }
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    /// Closes the connection. Idempotent.
    package func close() {
        PQfinish(handle)
        handle = nil
    }

    /// Runs one or more statements without parameters (`BEGIN`, DDL, `SET`).
    package func execute(_ sql: String) throws(WarehouseError) {
        let result = PQexec(try open(), sql)
        defer { PQclear(result) }
        try check(result, doing: sql)
    }

    /// Runs one statement with text parameters (`$1`, `$2`, …; `nil` is SQL `NULL`).
    /// - Returns: The rows, each column as text or `nil` for `NULL`, and the affected-row count of
    ///   an `INSERT`/`UPDATE`/`DELETE` (0 for other statements).
    @discardableResult
    package func query(_ sql: String, _ parameters: [String?] = []) throws(WarehouseError) -> PostgresResult {
        let connection = try open()
        let result: OpaquePointer? = withCStrings(parameters) { pointers in
            PQexecParams(connection, sql, Int32(parameters.count), nil, pointers, nil, nil, 0)
        }
        defer { PQclear(result) }
        try check(result, doing: sql)
        var rows: [[String?]] = []
        let count = PQntuples(result)
        let fields = PQnfields(result)
        rows.reserveCapacity(Int(count))
        for row in 0..<count {
            var values: [String?] = []
            values.reserveCapacity(Int(fields))
            for field in 0..<fields {
                values.append(PQgetisnull(result, row, field) == 1 ? nil : String(cString: PQgetvalue(result, row, field)))
            }
            rows.append(values)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        let columns = (0..<fields).map { PostgresResult.Column(name: String(cString: PQfname(result, $0)), typeOID: UInt32(PQftype(result, $0))) }
        return PostgresResult(rows: rows, affectedRows: affected, columns: columns)
    }

    /// `COPY <target> FROM STDIN` with `data` in COPY's text format (``CopyText``).
    /// - Parameters:
    ///   - target: `table (col, …)`: validated identifiers only.
    ///   - data: Every row, tab-separated and newline-terminated.
    func copyIn(_ target: String, data: [UInt8]) throws(WarehouseError) {
        let connection = try open()
        let sql = "COPY \(target) FROM STDIN"
        let start = PQexec(connection, sql)
        let startStatus = PQresultStatus(start)
        if startStatus != PGRES_COPY_IN {
            defer { PQclear(start) }
            try check(start, doing: sql)
            throw PostgresErrors.unexpected("COPY did not start (\(String(cString: PQresStatus(startStatus))))")
        }
        PQclear(start)
        // Chunks keep a single PQputCopyData call under libpq's int length.
        var offset = 0
        let chunk = 1 << 20
        var sent = true
        data.withUnsafeBufferPointer { buffer in
            while offset < buffer.count, sent {
                let length = min(chunk, buffer.count - offset)
                buffer.baseAddress!.advanced(by: offset).withMemoryRebound(to: CChar.self, capacity: length) { bytes in
                    sent = PQputCopyData(connection, bytes, Int32(length)) == 1
                }
                offset += length
            }
        }
        let ended = PQputCopyEnd(connection, sent ? nil : "client failed to send COPY data") == 1
        // Drain every result; the first failure wins.
        var failure: WarehouseError?
        while let result = PQgetResult(connection) {
            do throws(WarehouseError) { try check(result, doing: sql) } catch { failure = failure ?? error }
            PQclear(result)
        }
        if let failure { throw failure }
        guard sent, ended else { throw PostgresErrors.connectionFailed(String(cString: PQerrorMessage(connection))) }
    }

    // MARK: - Internal

    private func open() throws(WarehouseError) -> OpaquePointer {
        guard let handle else { throw PostgresErrors.connectionFailed("connection is closed") }
        return handle
    }

    /// Throws the error a result reports, if any.
    private func check(_ result: OpaquePointer?, doing sql: String) throws(WarehouseError) {
        guard let result else {
            throw PostgresErrors.connectionFailed(handle.map { String(cString: PQerrorMessage($0)) } ?? "no connection")
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_COPY_IN, PGRES_EMPTY_QUERY:
            return
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = String(cString: PQresultErrorMessage(result))
            throw PostgresErrors.error(sqlState: state, message: message, statement: sql, connectionLost: !isHealthy)
        }
    }
}

/// Rows of a query, as text, the affected-row count of a data-changing statement, and each
/// column's name and type (the `pg_type` OID: 23 int4, 1114 timestamp, …).
package struct PostgresResult {
    package struct Column: Sendable, Equatable {
        package var name: String
        package var typeOID: UInt32
    }
    package var rows: [[String?]]
    package var affectedRows: Int
    package var columns: [Column] = []
}

/// Calls `body` with a C array of NUL-terminated copies of `strings` (`nil` stays a null pointer).
private func withCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    var storage: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil }
    defer { storage.forEach { free($0) } }
    return storage.withUnsafeMutableBufferPointer { buffer in
        buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(buffer.count, 1)) { body($0) }
    }
}
