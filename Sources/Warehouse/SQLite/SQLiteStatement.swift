import CShims
import CSQLite

/// Owns one compiled `sqlite3_stmt`, finalized in `deinit`.
///
/// Made by ``SQLiteConnection/makeStatement(_:isPersistent:)``. Holds a strong reference to its
/// connection, so the connection handle outlives the statement handle. Meant to be reused: ``run(_:)``
/// and ``query(_:)`` bind, step and always reset (also on errors), leaving the statement ready for the
/// next call.
///
/// - Important: Not `Sendable`; used only by the thread that owns the connection.
final class SQLiteStatement {
    let connection: SQLiteConnection
    private let handle: OpaquePointer
    /// The statement's SQL, for error messages.
    let sql: String

    init(connection: SQLiteConnection, handle: OpaquePointer, sql: String) {
        self.connection = connection
        self.handle = handle
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    /// Binds `values` to `?1…?n`, steps to completion and resets.
    /// - Parameter values: One value per parameter, in order.
    /// - Throws: ``WarehouseError`` from binding or stepping (e.g. a constraint violation).
    func run(_ values: [WarehouseValue] = []) throws(WarehouseError) {
        _ = try query(values)
    }

    /// Binds `values` to `?1…?n`, steps through every row and resets.
    /// - Parameter values: One value per parameter, in order.
    /// - Returns: Every result row, each as its column values in order.
    /// - Throws: ``WarehouseError`` from binding or stepping.
    func query(_ values: [WarehouseValue] = []) throws(WarehouseError) -> [[WarehouseValue]] {
        guard !connection.isClosed else {
            throw WarehouseError(code: SQLITE_MISUSE, reason: "SQLite connection to \(connection.path) is closed",
                                 isTransient: false)
        }
        // Reset and unbind on every path, so a failed statement is ready for the next batch and
        // holds no read transaction or copies of the last row's text.
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        for (offset, value) in values.enumerated() {
            try bind(value, at: Int32(offset + 1))
        }
        var rows: [[WarehouseValue]] = []
        while true {
            let rc = sqlite3_step(handle)
            if rc == SQLITE_DONE { return rows }
            guard rc == SQLITE_ROW else {
                throw connection.makeError(code: rc, context: "running \(SQLiteConnection.abbreviated(sql))")
            }
            let count = sqlite3_column_count(handle)
            rows.append((0..<count).map(column))
        }
    }

    /// The names of the result columns.
    var columnNames: [String] {
        (0..<sqlite3_column_count(handle)).map { String(cString: sqlite3_column_name(handle, $0)) }
    }

    private func bind(_ value: WarehouseValue, at index: Int32) throws(WarehouseError) {
        let rc: Int32
        switch value {
        case .null:
            rc = sqlite3_bind_null(handle, index)
        case .integer(let integer):
            rc = sqlite3_bind_int64(handle, index, integer)
        case .real(let real):
            rc = sqlite3_bind_double(handle, index, real)
        case .text(let text):
            // SQLITE_TRANSIENT (via the shim): SQLite copies the bytes before returning, because the
            // pointer is valid only inside withCString. The explicit length keeps embedded NULs.
            let length = Int32(text.utf8.count)
            rc = text.withCString { cshim_sqlite3_bind_text_transient(handle, index, $0, length) }
        case .blob(let bytes):
            // An empty array may have no base address; zeroblob(0) binds an empty (non-NULL) blob.
            rc = bytes.isEmpty
                ? sqlite3_bind_zeroblob(handle, index, 0)
                : bytes.withUnsafeBytes { buffer in
                    sqlite3_bind_blob(handle, index, buffer.baseAddress, Int32(buffer.count),
                                      unsafeBitCast(-1, to: sqlite3_destructor_type.self))
                }
        }
        guard rc == SQLITE_OK else {
            throw connection.makeError(code: rc, context: "binding ?\(index) of \(SQLiteConnection.abbreviated(sql))")
        }
    }

    private func column(_ index: Int32) -> WarehouseValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_NULL:
            return .null
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(handle, index))
        case SQLITE_BLOB:
            // C contract: call sqlite3_column_blob before sqlite3_column_bytes; the pointer is valid
            // until the next step/reset, so copy now.
            let pointer = sqlite3_column_blob(handle, index)
            let count = Int(sqlite3_column_bytes(handle, index))
            guard let pointer, count > 0 else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: pointer, count: count)))
        default:
            let pointer = sqlite3_column_text(handle, index)
            let count = Int(sqlite3_column_bytes(handle, index))
            guard let pointer else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self))
        }
    }
}

@available(*, unavailable, message: "one thread owns a SQLite connection and its statements")
extension SQLiteStatement: Sendable {}
