import Warehouse

/// How PostgreSQL failures become ``WarehouseError``s, so the loader retries what is not the data's
/// fault and dead-letters only what the server refused as data.
///
/// `code` uses the primary result codes ``WarehouseError/isDataError`` reads (the SQLite numbers
/// every sink shares): 19 for integrity violations (SQLSTATE class 23), 20 for invalid data
/// (class 22), 18 for values over a limit (54000); 1 for anything else, 21 for misuse. The SQLSTATE
/// itself is in `reason`.
enum PostgresErrors {
    /// Connection-level failures: no server, a dropped connection, the server shutting down,
    /// resource exhaustion, serialization failures and deadlocks. The same batch may succeed later.
    static func isTransient(sqlState: String?) -> Bool {
        guard let sqlState else { return true }
        let transientClasses: Set<Substring> = ["08", "40", "53", "57", "58"]
        return transientClasses.contains(sqlState.prefix(2)) || sqlState == "55P03"
    }

    /// The shared code for a SQLSTATE.
    static func code(sqlState: String?) -> Int32 {
        switch sqlState?.prefix(2) {
        case "23": return 19
        case "22": return 20
        default: return sqlState == "54000" ? 18 : 1
        }
    }

    /// An error the server (or libpq) reported for a statement.
    static func error(sqlState: String?, message: String, statement: String, connectionLost: Bool,
                      file: String = #fileID, line: UInt = #line) -> WarehouseError {
        let firstLine = statement.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? statement
        let summary = firstLine.count > 80 ? String(firstLine.prefix(80)) + "…" : firstLine
        return WarehouseError(
            code: connectionLost ? 1 : code(sqlState: sqlState),
            reason: "PostgreSQL \(sqlState ?? "(no SQLSTATE)"): \(message.trimmingTrailingNewlines) [\(summary)]",
            isTransient: connectionLost || isTransient(sqlState: sqlState), file: file, line: line)
    }

    /// The server could not be reached, or the connection broke: always transient.
    static func connectionFailed(_ message: String, file: String = #fileID, line: UInt = #line) -> WarehouseError {
        WarehouseError(code: 1, reason: "PostgreSQL connection failed: \(message.trimmingTrailingNewlines)",
                       isTransient: true, file: file, line: line)
    }

    /// A protocol state libpq should never be in.
    static func unexpected(_ message: String, file: String = #fileID, line: UInt = #line) -> WarehouseError {
        WarehouseError(code: 1, reason: "PostgreSQL: \(message)", isTransient: true, file: file, line: line)
    }

    /// The sink was used wrongly (before `prepare()`, after `close()`).
    static func misuse(_ message: String, file: String = #fileID, line: UInt = #line) -> WarehouseError {
        WarehouseError(code: 21, reason: "PostgresSink: \(message)", isTransient: false, file: file, line: line)
    }

    /// A record refused before any SQL ran (invalid names, a table-name clash): a data error.
    static func refused(_ message: String, file: String = #fileID, line: UInt = #line) -> WarehouseError {
        WarehouseError(code: 19, reason: "PostgresSink: \(message)", isTransient: false, file: file, line: line)
    }
}

extension String {
    var trimmingTrailingNewlines: String {
        var text = Substring(self)
        while let last = text.last, last == "\n" || last == "\r" || last == " " { text = text.dropLast() }
        return String(text)
    }
}
