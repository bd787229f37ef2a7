import CallFeedCore
import Warehouse

/// The rows of a finished query job: its schema and every row's cells, all pages joined.
struct BigQueryQueryResult {
    /// A result column: its name, `type` (`STRING`, `INTEGER`, `TIMESTAMP`, `BOOLEAN`, …) and `mode`.
    struct Column {
        var name: String
        var type: String
        var isRepeated: Bool
    }

    var columns: [Column] = []
    /// Each row's cells as the REST API sends them (the `v` of `{"f": [{"v": …}]}`): a string, JSON
    /// `null`, or for a repeated column an array of `{"v": …}`.
    var rows: [[JSONValue]] = []

    /// Reads the `schema` of a query answer.
    static func columns(of answer: JSONValue) -> [Column] {
        (answer["schema"]?["fields"]?.arrayValue ?? []).map { field in
            Column(name: field["name"]?.text ?? "", type: field["type"]?.text ?? "STRING",
                   isRepeated: field["mode"]?.text == "REPEATED")
        }
    }

    /// Appends the `rows` of a query answer (one page).
    mutating func append(rowsOf answer: JSONValue) {
        for row in answer["rows"]?.arrayValue ?? [] {
            rows.append((row["f"]?.arrayValue ?? []).map { $0["v"] ?? .null })
        }
    }

    /// The text of a cell, `nil` for `NULL`.
    static func text(_ cell: JSONValue) -> String? {
        if case .string(let text) = cell { return text }
        return cell.isNull ? nil : cell.text
    }

    /// A cell as a ``WarehouseValue`` by its column type: integers, booleans as 0/1, timestamps as
    /// ``CallRow/text(_:)``, repeated strings as ``CallRow/jsonArray(_:)``, other values as text.
    static func value(_ cell: JSONValue, column: Column) -> WarehouseValue {
        if column.isRepeated {
            let items = (cell.arrayValue ?? []).compactMap { text($0["v"] ?? .null) }
            return .text(CallRow.jsonArray(items))
        }
        guard let text = text(cell) else { return .null }
        switch column.type {
        case "INTEGER", "INT64":
            return Int64(text).map { .integer($0) } ?? .text(text)
        case "BOOLEAN", "BOOL":
            return .integer(text == "true" ? 1 : 0)
        case "FLOAT", "FLOAT64":
            return Double(text).map { .real($0) } ?? .text(text)
        case "TIMESTAMP":
            return timestampMilliseconds(text).map { .text(CallRow.text(Timestamp(millisecondsSinceEpoch: $0))) }
                ?? .text(text)
        default:
            return .text(text)
        }
    }

    /// A `TIMESTAMP` cell in milliseconds: the API sends microseconds as an integer when asked
    /// (`formatOptions.useInt64Timestamp`), otherwise seconds as a float (`1.71455772525E9`).
    static func timestampMilliseconds(_ text: String) -> Int64? {
        if let micros = Int64(text) { return micros >= 0 ? micros / 1000 : -((-micros + 999) / 1000) }
        guard let seconds = Double(text) else { return nil }
        return Int64((seconds * 1000).rounded())
    }
}
