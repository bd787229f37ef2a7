import CallFeedCore

/// Writes a ``CallFeedCore/JSONValue`` as compact JSON text with object keys sorted, so the same
/// data always gives the same bytes (responses are reproducible and webhook signatures stable).
enum JSONWriter {
    /// The UTF-8 bytes of `value`.
    static func bytes(_ value: JSONValue) -> [UInt8] { Array(text(value).utf8) }

    /// The JSON text of `value`.
    static func text(_ value: JSONValue) -> String {
        var out = ""
        write(value, into: &out)
        return out
    }

    private static func write(_ value: JSONValue, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += d.isFinite ? "\(d)" : "null"
        case .string(let s): out += jsonStringLiteral(s)
        case .array(let items):
            out += "["
            for (n, item) in items.enumerated() {
                if n > 0 { out += "," }
                write(item, into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (n, key) in members.keys.sorted().enumerated() {
                if n > 0 { out += "," }
                out += jsonStringLiteral(key)
                out += ":"
                write(members[key] ?? .null, into: &out)
            }
            out += "}"
        }
    }
}
