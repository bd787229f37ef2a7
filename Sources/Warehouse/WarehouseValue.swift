/// One column value as the warehouse stores it: what a `CallEvent` field is flattened to, and what
/// ``SQLiteSink/canonicalDump()`` renders.
public enum WarehouseValue: Sendable, Equatable, CustomStringConvertible {
    /// SQL `NULL`: an absent optional field.
    case null
    /// A 64-bit integer (durations, `first_call`).
    case integer(Int64)
    /// A floating-point number (no `calls` column holds one; kept for reading arbitrary queries).
    case real(Double)
    /// UTF-8 text (ids, enums, timestamps, JSON).
    case text(String)
    /// Raw bytes (no `calls` column holds one; kept for reading arbitrary queries).
    case blob([UInt8])

    /// `text`, or `nil` for an optional field that is absent.
    public static func nullable(_ value: String?) -> WarehouseValue {
        value.map { .text($0) } ?? .null
    }

    /// `integer`, or `nil` for an optional field that is absent.
    public static func nullable(_ value: Int64?) -> WarehouseValue {
        value.map { .integer($0) } ?? .null
    }

    /// The stable rendering used by the canonical dump, the same for every sink:
    /// `null`, decimal digits, a JSON string literal (see ``CallRow/jsonString(_:)``), or `x'…'` hex.
    public var description: String {
        switch self {
        case .null: return "null"
        case .integer(let value): return String(value)
        case .real(let value): return String(value)
        case .text(let value): return CallRow.jsonString(value)
        case .blob(let bytes):
            let hex = "0123456789abcdef".utf8.map { $0 }
            var out = [UInt8]()
            for byte in bytes { out.append(hex[Int(byte >> 4)]); out.append(hex[Int(byte & 0x0F)]) }
            return "x'" + String(decoding: out, as: UTF8.self) + "'"
        }
    }
}
