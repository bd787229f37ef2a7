import CallFeedCore
import Foundation

/// A result column's kind, from the driver's type (a PostgreSQL `pg_type` OID, a SQL Server type name).
public enum SQLColumnType: Sendable, Equatable {
    case bool, integer, float
    /// NUMERIC / DECIMAL / MONEY: kept as the exact text (a JSON number would round it).
    case decimal
    /// A date-time without a zone (`timestamp`, `datetime`, `datetime2`): in the database's
    /// configured `time_zone`.
    case localDateTime
    /// A date-time with its offset (`timestamptz`, `datetimeoffset`).
    case zonedDateTime
    case date, json, text
    /// Binary data, kept as the driver's text (PostgreSQL `\x…` hex).
    case bytes

    /// PostgreSQL's built-in type OIDs (`SELECT oid, typname FROM pg_type`); anything else is text.
    public static func postgres(oid: UInt32) -> SQLColumnType {
        switch oid {
        case 16: .bool
        case 20, 21, 23, 26: .integer
        case 700, 701: .float
        case 1700, 790: .decimal
        case 1114: .localDateTime
        case 1184: .zonedDateTime
        case 1082: .date
        case 114, 3802: .json
        case 17: .bytes
        default: .text
        }
    }

    /// Athena's (Trino's) type names as GetQueryResults' `ColumnInfo.Type` gives them.
    public static func athena(typeName: String) -> SQLColumnType {
        let base = typeName.lowercased().split(separator: "(").first.map(String.init) ?? ""
        switch base {
        case "boolean": return .bool
        case "tinyint", "smallint", "integer", "int", "bigint": return .integer
        case "real", "float", "double": return .float
        case "decimal": return .decimal
        case "timestamp": return typeName.lowercased().contains("with time zone") ? .zonedDateTime : .localDateTime
        case "date": return .date
        case "json": return .json
        case "varbinary": return .bytes
        default: return .text
        }
    }

    /// SQL Server's type names (as `sys.types` and TDS column metadata name them).
    public static func sqlServer(typeName: String) -> SQLColumnType {
        switch typeName.lowercased() {
        case "bit": .bool
        case "tinyint", "smallint", "int", "bigint": .integer
        case "real", "float": .float
        case "decimal", "numeric", "money", "smallmoney": .decimal
        case "datetime", "datetime2", "smalldatetime": .localDateTime
        case "datetimeoffset": .zonedDateTime
        case "date": .date
        case "binary", "varbinary", "image", "timestamp", "rowversion": .bytes
        default: .text
        }
    }
}

/// Turns a driver's text for one cell into the JSON the entity record carries.
public struct SQLValues: Sendable {
    /// The zone of date-times without one.
    public let timeZone: TimeZone

    public init(timeZone: TimeZone) { self.timeZone = timeZone }

    /// The cell as JSON: NULL is null; numbers, booleans and JSON are typed; date-times become
    /// RFC 3339 in UTC with the database's own fraction digits; anything unreadable stays text.
    public func json(_ text: String?, _ type: SQLColumnType) -> JSONValue {
        guard let text else { return .null }
        switch type {
        case .bool:
            switch text.lowercased() {
            case "t", "true", "1": return .bool(true)
            case "f", "false", "0": return .bool(false)
            default: return .string(text)
            }
        case .integer: return Int64(text).map(JSONValue.int) ?? .string(text)
        case .float: return Double(text).map(JSONValue.double) ?? .string(text)
        case .json: return (try? JSONValue.parse(Array(text.utf8))) ?? .string(text)
        case .localDateTime, .zonedDateTime: return instant(text, type).map { .string($0.text) } ?? .string(text)
        case .decimal, .date, .text, .bytes: return .string(text)
        }
    }

    /// A date-time cell as an instant: RFC 3339 UTC text (every fraction digit kept) and the
    /// millisecond ``Timestamp``. Accepts `2024-03-01 12:34:56[.ffffff][ ±hh[:mm]]`.
    public func instant(_ text: String, _ type: SQLColumnType) -> (text: String, timestamp: Timestamp)? {
        var body = text.trimmingCharacters(in: .whitespaces)
        var offset: Int?
        // A trailing offset: +01, +01:00, +0100, -05:30, Z.
        if body.hasSuffix("Z") { body.removeLast(); offset = 0 } else if let signIndex = body.lastIndex(where: { $0 == "+" || $0 == "-" }),
                  body.distance(from: body.startIndex, to: signIndex) >= 19 {
            let digits = body[body.index(after: signIndex)...].filter(\.isNumber)
            guard digits.count == 2 || digits.count == 4, let hours = Int(digits.prefix(2)) else { return nil }
            let minutes = digits.count == 4 ? Int(digits.suffix(2)) ?? 0 : 0
            offset = (body[signIndex] == "-" ? -1 : 1) * (hours * 3600 + minutes * 60)
            body = String(body[..<signIndex]).trimmingCharacters(in: .whitespaces)
        }
        let parts = body.split(separator: ".", maxSplits: 1)
        guard let base = parts.first, let utcGuess = Timestamp.parseISO8601(String(base), defaultUTCOffsetSeconds: 0) else { return nil }
        let fraction = parts.count == 2 ? String(parts[1]) : ""
        guard fraction.allSatisfy(\.isNumber) else { return nil }
        if offset == nil {
            guard type == .localDateTime else { return nil }
            // The zone's offset at that wall-clock time (the hour of a DST change is ambiguous; the
            // earlier reading wins).
            let guess = Date(timeIntervalSince1970: TimeInterval(utcGuess.secondsSinceEpoch))
            let first = timeZone.secondsFromGMT(for: guess)
            offset = timeZone.secondsFromGMT(for: guess.addingTimeInterval(TimeInterval(-first)))
        }
        let seconds = utcGuess.secondsSinceEpoch - Int64(offset ?? 0)
        let millis = Int64((fraction + "000").prefix(3)) ?? 0
        let timestamp = Timestamp(millisecondsSinceEpoch: seconds * 1000 + millis)
        // The whole second as RFC 3339 without its `Z`, then the database's own fraction digits.
        let rfc = Timestamp(secondsSinceEpoch: seconds).rfc3339.dropLast() + (fraction.isEmpty ? "" : "." + fraction) + "Z"
        return (String(rfc), timestamp)
    }

    /// An instant as the database's text for a zone-less date-time in ``timeZone``
    /// (`2024-03-01 12:34:56.789`): the page query's `since` / `until`.
    public func local(_ instant: Timestamp) -> String {
        let date = Date(timeIntervalSince1970: TimeInterval(instant.secondsSinceEpoch))
        let shifted = Timestamp(millisecondsSinceEpoch: instant.millisecondsSinceEpoch + Int64(timeZone.secondsFromGMT(for: date)) * 1000)
        var text = shifted.rfc3339  // yyyy-MM-ddTHH:mm:ss(.SSS)Z
        if text.hasSuffix("Z") { text.removeLast() }
        if !text.contains(".") { text += ".000" }
        return text.replacingOccurrences(of: "T", with: " ")
    }
}
