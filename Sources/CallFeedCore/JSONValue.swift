import Foundation

/// A parsed JSON document: what vendor payloads are decoded into before mapping.
///
/// Vendor payloads are loosely typed (CallKeeper sends `0` for "unknown", CallRail sends numbers as
/// strings), so mappers read them through the lenient accessors below instead of `Codable` structs.
public enum JSONValue: Sendable, Equatable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}

extension JSONValue {
    /// Parses UTF-8 JSON bytes (RFC 8259, strict; ``JSONParser``).
    /// - Throws: ``JSONValue/ParseError`` naming what is wrong and the byte offset.
    public static func parse(_ bytes: some Collection<UInt8>) throws(ParseError) -> JSONValue {
        try JSONParser.parse(Array(bytes))
    }

    /// Why a body is not JSON, in words fit for a 400 answer and a dead-letter record.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { "invalid JSON: \(reason)" }
    }

    /// Member of an object, or `nil` for anything else.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// Follows a path of object keys (`value[path: "ga", "gclid"]`).
    public subscript(path keys: String...) -> JSONValue? {
        var current: JSONValue? = self
        for key in keys { current = current?[key] }
        return current
    }

    public var isNull: Bool { self == .null }

    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The value as text: strings as they are, numbers and booleans printed; empty strings and
    /// `null` become `nil` (vendors use both for "no value").
    public var text: String? {
        switch self {
        case .string(let s):
            // Fast paths: empty, or nothing to trim (Foundation's trimming is costly per call:
            // 4 % of the webhook receiver's CPU went to it, mostly for vendors' empty strings).
            if s.isEmpty { return nil }
            if let first = s.unicodeScalars.first, let last = s.unicodeScalars.last,
               !first.properties.isWhitespace, !last.properties.isWhitespace {
                return s
            }
            let trimmed = s.trimmingCharacters(in: .whitespacesAndNewlines)
            return trimmed.isEmpty ? nil : trimmed
        case .int(let i): return String(i)
        case .double(let d): return d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .bool(let b): return b ? "true" : "false"
        case .null, .array, .object: return nil
        }
    }

    /// The value as an integer: integral numbers and numeric strings (`"125"`, `"125.0"`).
    public var integer: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d): return d.isFinite && d.rounded() == d ? Int64(exactly: d) : nil
        case .string(let s):
            let t = s.trimming(.whitespaces)
            if let i = Int64(t) { return i }
            if let d = Double(t), d.isFinite, d.rounded() == d { return Int64(exactly: d) }
            return nil
        case .bool, .null, .array, .object: return nil
        }
    }

    /// The value as a boolean: JSON booleans, `0`/`1`, and `"true"`/`"false"`/`"0"`/`"1"`.
    public var boolean: Bool? {
        switch self {
        case .bool(let b): return b
        case .int(let i): return i == 0 ? false : (i == 1 ? true : nil)
        case .string(let s):
            switch s.lowercased() {
            case "true", "1", "yes": return true
            case "false", "0", "no": return false
            default: return nil
            }
        default: return nil
        }
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? container.decode(Int64.self) {
            self = .int(i)
        } else if let d = try? container.decode(Double.self) {
            self = .double(d)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .int(let i): try container.encode(i)
        case .double(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}
