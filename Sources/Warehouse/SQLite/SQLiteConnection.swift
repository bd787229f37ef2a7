import CSQLite

/// Owns one `sqlite3` connection handle.
///
/// Made by ``open(path:busyTimeoutMilliseconds:)``, closed by ``close()`` or `deinit`. The raw handle
/// never leaves this type and ``SQLiteStatement``; statements keep their connection alive, so a
/// connection is never closed under a statement that still needs it.
///
/// - Important: Not `Sendable`. SQLite's default (serialized) build would survive concurrent calls,
///   but transactions, `sqlite3_changes` and `sqlite3_errmsg` are per connection, so one thread must
///   own it.
final class SQLiteConnection {
    private var handle: OpaquePointer?
    /// The path given to `open` (`:memory:` for an in-memory database).
    let path: String

    private init(handle: OpaquePointer, path: String) {
        self.handle = handle
        self.path = path
    }

    deinit { close() }

    /// Opens (creating if needed) a read-write database with extended result codes on.
    /// - Parameters:
    ///   - path: A file path, or `:memory:`.
    ///   - busyTimeoutMilliseconds: How long a statement waits for another connection's lock before
    ///     failing with `SQLITE_BUSY`.
    /// - Throws: ``WarehouseError`` with SQLite's code and message.
    static func open(path: String, busyTimeoutMilliseconds: Int32) throws(WarehouseError) -> SQLiteConnection {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        // C contract: sqlite3_open_v2 usually allocates a handle even when it fails (so errmsg can be
        // read); that handle must still be closed. Only out-of-memory leaves it NULL.
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw SQLiteConnection.makeError(code: rc, message: message, context: "opening \(path)")
        }
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        return SQLiteConnection(handle: db, path: path)
    }

    /// Closes the handle. Idempotent.
    ///
    /// `sqlite3_close_v2` defers the real close until every statement is finalized, so this is safe
    /// even if a ``SQLiteStatement`` is still alive somewhere (it keeps working until it is freed).
    func close() {
        guard let handle else { return }
        sqlite3_close_v2(handle)
        self.handle = nil
    }

    /// Whether ``close()`` has been called.
    var isClosed: Bool { handle == nil }

    /// Runs one or more SQL statements that return no rows needed by the caller.
    /// - Parameter sql: SQL text; several statements separated by `;` are run in order.
    /// - Throws: ``WarehouseError`` from the first statement that fails (the rest are not run).
    func execute(_ sql: String) throws(WarehouseError) {
        let db = try openHandle()
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &errorMessage)
        // C contract: the message is allocated by SQLite and must be freed with sqlite3_free.
        defer { sqlite3_free(errorMessage) }
        guard rc == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            throw Self.makeError(code: rc, message: message, context: "executing \(Self.abbreviated(sql))")
        }
    }

    /// Compiles one SQL statement.
    /// - Parameters:
    ///   - sql: One SQL statement.
    ///   - isPersistent: Hint that the statement will be reused many times (`SQLITE_PREPARE_PERSISTENT`).
    /// - Returns: The statement, which keeps this connection alive.
    /// - Throws: ``WarehouseError`` if the SQL does not compile (e.g. no such table).
    func makeStatement(_ sql: String, isPersistent: Bool = false) throws(WarehouseError) -> SQLiteStatement {
        let db = try openHandle()
        var statement: OpaquePointer?
        let flags = isPersistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let rc = sqlite3_prepare_v3(db, sql, -1, flags, &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            // On failure *statement is NULL; nothing to finalize.
            throw makeError(code: rc == SQLITE_OK ? SQLITE_MISUSE : rc, context: "preparing \(Self.abbreviated(sql))")
        }
        return SQLiteStatement(connection: self, handle: statement, sql: sql)
    }

    /// Rows changed by the most recently completed INSERT, UPDATE or DELETE on this connection
    /// (0 for an upsert whose `DO UPDATE … WHERE` was false).
    var changes: Int {
        handle.map { Int(sqlite3_changes($0)) } ?? 0
    }

    /// Whether no transaction is open. SQLite rolls back by itself after some errors (`SQLITE_FULL`,
    /// `SQLITE_IOERR`, `SQLITE_NOMEM`, `SQLITE_BUSY` mid-transaction), so check before `ROLLBACK`.
    var isAutocommit: Bool {
        handle.map { sqlite3_get_autocommit($0) != 0 } ?? true
    }

    /// An error for a failed call on this connection, with SQLite's message for it.
    ///
    /// - Important: Call on the line after the failing call: the message belongs to the most recent call.
    func makeError(code: Int32, context: String, file: String = #fileID, line: UInt = #line) -> WarehouseError {
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
        return Self.makeError(code: code, message: message, context: context, file: file, line: line)
    }

    /// An error with SQLite's code and message, classified as transient or not.
    static func makeError(code: Int32, message: String, context: String,
                          file: String = #fileID, line: UInt = #line) -> WarehouseError {
        WarehouseError(code: code, reason: "SQLite: \(message) (\(String(cString: sqlite3_errstr(code)))) while \(context)",
                       isTransient: isTransient(code: code), file: file, line: line)
    }

    /// Whether retrying may succeed: another connection holds a lock (`BUSY`, `LOCKED`), or the
    /// storage failed for now (`IOERR`, `FULL`, `NOMEM`, `CANTOPEN` of a journal, `PROTOCOL` WAL race,
    /// `READONLY`, which includes WAL recovery by another connection and a file remounted read-only).
    /// The batch is not to blame for any of these, so the loader must not dead-letter it.
    /// Constraint violations, type mismatches, corruption and SQL errors are not transient.
    static func isTransient(code: Int32) -> Bool {
        switch code & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL, SQLITE_NOMEM, SQLITE_CANTOPEN, SQLITE_PROTOCOL,
             SQLITE_READONLY:
            return true
        default:
            return false
        }
    }

    private func openHandle(file: String = #fileID, line: UInt = #line) throws(WarehouseError) -> OpaquePointer {
        guard let handle else {
            throw WarehouseError(code: SQLITE_MISUSE, reason: "SQLite connection to \(path) is closed",
                                 isTransient: false, file: file, line: line)
        }
        return handle
    }

    /// The first line of `sql`, cut to 80 characters, for error messages.
    static func abbreviated(_ sql: String) -> String {
        let firstLine = sql.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? sql
        return firstLine.count > 80 ? String(firstLine.prefix(80)) + "…" : firstLine
    }
}

@available(*, unavailable, message: "one thread owns a SQLite connection")
extension SQLiteConnection: Sendable {}
