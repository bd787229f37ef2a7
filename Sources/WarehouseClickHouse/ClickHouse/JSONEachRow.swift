import CallFeedCore
import Warehouse

/// ClickHouse's `JSONEachRow` format, both ways: rows the sink inserts, and rows a `SELECT … FORMAT
/// JSONEachRow` returns, turned back into ``WarehouseValue``s.
///
/// One JSON object per line. Text is written with ``jsonStringLiteral(_:)`` (the escaper the
/// canonical dump uses), so every byte of every value reaches the server unchanged and no value is
/// ever part of SQL text.
enum JSONEachRow {
    // MARK: - Writing

    /// Appends `{"column":value,…}` and a newline to `out`.
    /// - Parameters:
    ///   - values: One value per column, aligned with `columns`.
    ///   - columns: The column names.
    ///   - jsonColumns: Columns whose `.text` value is already JSON to send as it is (`tags`, the
    ///     ``CallRow/jsonArray(_:)`` text, goes into an `Array(String)` column).
    ///   - version: The `_version` to add, if the table has one.
    ///   - out: The body being built.
    static func appendRow(_ values: [WarehouseValue], columns: [String], jsonColumns: Set<String> = [],
                          version: UInt64? = nil, to out: inout [UInt8]) {
        appendRow(values, keys: Keys(columns: columns, jsonColumns: jsonColumns), version: version, to: &out)
    }

    /// The per-column part of every row, made once per batch: `"name":` bytes and which columns
    /// carry ready JSON.
    struct Keys {
        let prefixes: [[UInt8]]
        let isJSON: [Bool]

        init(columns: [String], jsonColumns: Set<String> = []) {
            prefixes = columns.enumerated().map { index, column in
                Array(((index == 0 ? "{" : ",") + jsonStringLiteral(column) + ":").utf8)
            }
            isJSON = columns.map(jsonColumns.contains)
        }
    }

    /// ``appendRow(_:columns:jsonColumns:version:to:)`` with the column part made beforehand.
    static func appendRow(_ values: [WarehouseValue], keys: Keys, version: UInt64? = nil, to out: inout [UInt8]) {
        precondition(values.count == keys.prefixes.count, "one value per column")
        for (index, value) in values.enumerated() {
            out += keys.prefixes[index]
            switch value {
            case .null: out += "null".utf8
            case .integer(let number): out += String(number).utf8
            case .text(let text) where keys.isJSON[index]: out += text.utf8
            case .text(let text): out += jsonStringLiteral(text).utf8
            case .real, .blob:
                // CallRow and EntityRow never produce these; a new column kind needs a decision here.
                preconditionFailure("JSONEachRow: no ClickHouse column takes \(value) (column \(index))")
            }
        }
        if let version { out += ",\"_version\":\(version)".utf8 }
        out += "}\n".utf8
    }

    // MARK: - Reading

    /// The rows of a `FORMAT JSONEachRow` response body.
    /// - Parameters:
    ///   - body: The response body.
    ///   - statement: The query (for errors).
    /// - Returns: One object per line.
    /// - Throws: ``WarehouseError``: the ClickHouse exception when the server appended one after
    ///   partial output, else an "unexpected response" error for a line that is not a JSON object.
    static func rows(_ body: [UInt8], statement: String) throws(WarehouseError) -> [[String: JSONValue]] {
        var rows: [[String: JSONValue]] = []
        for line in body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            if line.starts(with: "Code: ".utf8) {
                let text = String(decoding: line, as: UTF8.self)
                let code = ClickHouseErrors.exceptionCode(headers: [:], body: text) ?? 0
                throw ClickHouseErrors.exception(code: code, message: text, statement: statement)
            }
            let value: JSONValue
            do throws(JSONValue.ParseError) {
                value = try JSONValue.parse(line)
            } catch {
                throw ClickHouseErrors.unexpected("\(error) in \(String(decoding: line.prefix(200), as: UTF8.self))",
                                                  statement: statement)
            }
            guard let object = value.objectValue else {
                throw ClickHouseErrors.unexpected("a line is not a JSON object", statement: statement)
            }
            rows.append(object)
        }
        return rows
    }

    /// A returned column value as the canonical dump renders it: text, an integer, an instant's
    /// text, 0/1, or a string array as ``CallRow/jsonArray(_:)`` text; `nil` when the JSON does not
    /// fit `kind` (a column of another type than the sink created).
    static func value(_ json: JSONValue?, kind: ColumnKind) -> WarehouseValue? {
        switch (kind, json) {
        case (_, nil), (_, .null?):
            return .null
        case (.text, .string(let text)?), (.timestamp, .string(let text)?):
            return .text(text)
        case (.integer, .int(let number)?), (.flag, .int(let number)?):
            return .integer(number)
        case (.integer, .string(let text)?):
            // A server that quotes 64-bit integers despite `output_format_json_quote_64bit_integers=0`.
            return Int64(text).map(WarehouseValue.integer)
        case (.stringArray, .array(let items)?):
            var strings: [String] = []
            strings.reserveCapacity(items.count)
            for item in items {
                guard case .string(let text) = item else { return nil }
                strings.append(text)
            }
            return .text(CallRow.jsonArray(strings))
        default:
            return nil
        }
    }

    /// A returned value as text (`String` columns), `nil` for anything else.
    static func text(_ json: JSONValue?) -> String? {
        if case .string(let text)? = json { return text }
        return nil
    }

    /// A returned value as an unsigned integer (`UInt64` columns read with
    /// `output_format_json_quote_64bit_integers=0`), `nil` for anything else.
    static func unsigned(_ json: JSONValue?) -> UInt64? {
        switch json {
        case .int(let number)?: return number >= 0 ? UInt64(number) : nil
        case .string(let text)?: return UInt64(text)  // a server that quotes 64-bit integers anyway
        case .double(let number)?: return UInt64(exactly: number)  // beyond Int64.max
        default: return nil
        }
    }
}
