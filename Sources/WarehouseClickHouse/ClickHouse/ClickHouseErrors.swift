import Foundation
import HTTPClient
import Warehouse

/// How ClickHouse failures become ``WarehouseError``s, so that the loader retries what is not the
/// data's fault and dead-letters only what the server refused as data.
///
/// `code` is built like an SQLite extended result code: `code & 0xFF` is the primary code every
/// sink shares (``WarehouseError/isDataError`` reads it), `code >> 8` is the ClickHouse exception
/// code (`Code: 53` → `53 << 8 | 20`), or 0 when the failure was not a ClickHouse exception (the
/// server could not be reached, or answered with a bare HTTP error). Primary codes:
///
/// | primary | meaning | transient |
/// |---|---|---|
/// | 5 `BUSY` | server overloaded: too many parts or queries, timeouts, replicas read-only | yes |
/// | 10 `IOERR` | no connection, timeout, HTTP 5xx/429 without a ClickHouse exception, server I/O | yes |
/// | 13 `FULL` | `NOT_ENOUGH_SPACE` | yes |
/// | 18 `TOOBIG` | a value or the batch over a limit (`TOO_LARGE_STRING_SIZE`, `MEMORY_LIMIT_EXCEEDED`) | no |
/// | 19 `CONSTRAINT` | refused by the sink before any SQL (a malformed event id, a bad entity name) | no |
/// | 20 `MISMATCH` | the server could not parse or convert a value (`CANNOT_PARSE_*`, `TYPE_MISMATCH`, …) | no |
/// | 21 `MISUSE` | the sink was used wrongly (before `prepare()`, after `close()`, unknown table) | no |
/// | 23 `AUTH` | wrong user or password, not allowed | no |
/// | 1 `ERROR` | anything else (unknown table or column, syntax, a response that is not what was asked) | no |
enum ClickHouseErrors {
    // MARK: - Classification

    /// ClickHouse exception codes (src/Common/ErrorCodes.cpp, unchanged since 18.x) that mean "this
    /// value cannot be stored": the batch is to blame, so the loader retries event by event.
    static let dataErrorCodes: [Int32: Int32] = [
        6: 20,    // CANNOT_PARSE_TEXT
        25: 20,   // CANNOT_PARSE_ESCAPE_SEQUENCE
        26: 20,   // CANNOT_PARSE_QUOTED_STRING
        27: 20,   // CANNOT_PARSE_INPUT_ASSERTION_FAILED
        32: 20,   // ATTEMPT_TO_READ_AFTER_EOF (a truncated value)
        33: 20,   // CANNOT_READ_ALL_DATA
        38: 20,   // CANNOT_PARSE_DATE
        41: 20,   // CANNOT_PARSE_DATETIME
        53: 20,   // TYPE_MISMATCH
        69: 20,   // ARGUMENT_OUT_OF_BOUND
        70: 20,   // CANNOT_CONVERT_TYPE
        72: 20,   // CANNOT_PARSE_NUMBER
        117: 20,  // INCORRECT_DATA
        128: 18,  // TOO_LARGE_ARRAY_SIZE
        130: 20,  // CANNOT_READ_ARRAY_FROM_TEXT
        131: 18,  // TOO_LARGE_STRING_SIZE
        241: 18,  // MEMORY_LIMIT_EXCEEDED (retrying smaller batches is the cure)
        321: 20,  // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
        349: 19,  // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
    ]

    /// ClickHouse exception codes after which the same request may succeed later, with their
    /// primary code.
    static let transientCodes: [Int32: Int32] = [
        74: 10,   // CANNOT_READ_FROM_FILE_DESCRIPTOR
        75: 10,   // CANNOT_WRITE_TO_FILE_DESCRIPTOR
        159: 5,   // TIMEOUT_EXCEEDED
        202: 5,   // TOO_MANY_SIMULTANEOUS_QUERIES
        203: 5,   // NO_FREE_CONNECTION
        209: 10,  // SOCKET_TIMEOUT
        210: 10,  // NETWORK_ERROR
        236: 5,   // ABORTED
        242: 5,   // TABLE_IS_READ_ONLY (a replica lost ZooKeeper)
        243: 13,  // NOT_ENOUGH_SPACE
        252: 5,   // TOO_MANY_PARTS (inserts faster than merges)
        285: 5,   // TOO_FEW_LIVE_REPLICAS
        286: 5,   // UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE
        319: 10,  // UNKNOWN_STATUS_OF_INSERT
        394: 5,   // QUERY_WAS_CANCELLED
        425: 10,  // SYSTEM_ERROR
        999: 5,   // KEEPER_EXCEPTION
    ]

    /// Authentication and authorisation failures (a misconfiguration).
    static let authCodes: Set<Int32> = [
        192,  // UNKNOWN_USER
        193,  // WRONG_PASSWORD
        195,  // IP_ADDRESS_NOT_ALLOWED
        291,  // DATABASE_ACCESS_DENIED
        497,  // ACCESS_DENIED (newer servers)
        516,  // AUTHENTICATION_FAILED (newer servers)
    ]

    // MARK: - Making errors

    /// The error for a response other than 200: the ClickHouse exception it carries (newer servers
    /// send its code in `X-ClickHouse-Exception-Code`; 18.16 only in the body, `Code: 60, e.displayText() = …`),
    /// else the bare HTTP status (a proxy's 502, a 503 while the server starts).
    /// - Parameters:
    ///   - status: The HTTP status.
    ///   - headers: The response headers, names lower-cased.
    ///   - body: The response body.
    ///   - statement: What was sent (its first line goes into `reason`).
    static func error(status: Int, headers: [String: String], body: String, statement: String,
                      file: String = #fileID, line: UInt = #line) -> WarehouseError {
        if let exception = exceptionCode(headers: headers, body: body) {
            return self.exception(code: exception, message: body, statement: statement, file: file, line: line)
        }
        let transient = status >= 500 || status == 429 || status == 408
        let primary: Int32 = transient ? 10 : (status == 401 || status == 403 ? 23 : 1)
        return WarehouseError(code: primary,
                              reason: "ClickHouse HTTP \(status): \(shortened(body)) [\(summary(statement))]",
                              isTransient: transient, file: file, line: line)
    }

    /// The error for a ClickHouse exception `code` with the server's `message`.
    static func exception(code: Int32, message: String, statement: String,
                          file: String = #fileID, line: UInt = #line) -> WarehouseError {
        let primary: Int32
        let transient: Bool
        if let data = dataErrorCodes[code] {
            (primary, transient) = (data, false)
        } else if let busy = transientCodes[code] {
            (primary, transient) = (busy, true)
        } else if authCodes.contains(code) {
            (primary, transient) = (23, false)
        } else {
            (primary, transient) = (1, false)
        }
        return WarehouseError(code: code << 8 | primary,
                              reason: "ClickHouse: \(shortened(message)) [\(summary(statement))]",
                              isTransient: transient, file: file, line: line)
    }

    /// The server could not be reached or the transfer failed (libcurl's error): transient when
    /// libcurl says so (refused, timed out, reset, no answer, name not resolved).
    static func transport(_ error: HTTPClientError, statement: String,
                          file: String = #fileID, line: UInt = #line) -> WarehouseError {
        WarehouseError(code: error.isTransient ? 10 : 1,
                       reason: "ClickHouse unreachable: \(error.reason) (curl \(error.code)) [\(summary(statement))]",
                       isTransient: error.isTransient, file: file, line: line)
    }

    /// A 200 response that is not what was asked for (not JSONEachRow, a value of the wrong type).
    static func unexpected(_ message: String, statement: String, file: String = #fileID, line: UInt = #line) -> WarehouseError {
        WarehouseError(code: 1, reason: "ClickHouse: unexpected response: \(message) [\(summary(statement))]",
                       isTransient: false, file: file, line: line)
    }

    /// The sink was used wrongly (before `prepare()`, after `close()`, an unknown table name).
    static func misuse(_ message: String, file: String = #fileID, line: UInt = #line) -> WarehouseError {
        WarehouseError(code: 21, reason: "ClickHouseSink: \(message)", isTransient: false, file: file, line: line)
    }

    /// Input refused before any SQL ran (a malformed event id, an invalid entity name, a table-name
    /// clash): a data error, like SQLite's CHECK constraints.
    static func refused(_ message: String, file: String = #fileID, line: UInt = #line) -> WarehouseError {
        WarehouseError(code: 19, reason: "ClickHouseSink: \(message)", isTransient: false, file: file, line: line)
    }

    // MARK: - Parsing

    /// The exception code of an error response: the `X-ClickHouse-Exception-Code` header, else the
    /// `Code: NN` the body starts with (or has on a line of its own, after partial output).
    static func exceptionCode(headers: [String: String], body: String) -> Int32? {
        if let header = headers["x-clickhouse-exception-code"], let code = Int32(header) { return code }
        for line in body.split(separator: "\n", omittingEmptySubsequences: true) where line.hasPrefix("Code: ") {
            let digits = line.dropFirst("Code: ".count).prefix { $0.isASCII && $0.isNumber }
            if let code = Int32(digits) { return code }
        }
        return nil
    }

    /// The first line of a statement, at most 80 characters: enough to tell which one failed,
    /// never the data that followed it.
    static func summary(_ statement: String) -> String {
        let firstLine = statement.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? statement
        return firstLine.count > 80 ? String(firstLine.prefix(80)) + "…" : firstLine
    }

    /// A server message without its `, e.what() = DB::Exception` tail and line breaks, at most
    /// 500 characters.
    static func shortened(_ message: String) -> String {
        var text = message
        if let range = text.range(of: ", e.what() = ") { text = String(text[..<range.lowerBound]) }
        text = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return text.count > 500 ? String(text.prefix(500)) + "…" : text
    }
}
