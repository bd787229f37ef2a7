// Lives beside EntityRecord because the entity revision is defined over it; it is a JSONValue
// extension (JSONValue+Canonical.swift would be its natural home).

extension JSONValue {
    /// The value as canonical JSON text: object keys sorted by their UTF-8 bytes, no whitespace,
    /// strings through ``jsonStringLiteral(_:)``, integral numbers that fit in `Int64` as integers
    /// and other finite numbers in Swift's shortest round-trip form (`0.1`, `1e-05`, `1e+20`);
    /// non-finite numbers (which JSON cannot hold) as `null`.
    ///
    /// Deterministic on every platform and a fixed point of parsing: `JSONValue.parse` of the text,
    /// written again, gives the same text. ``EntityRecord/revision`` hashes it, the entities topic
    /// carries it, and the warehouse stores it in the `data` and `raw` columns, so any sink (or an
    /// analyst) can recompute a revision from the stored `data`.
    public var canonicalJSON: String {
        var out = ""
        Self.writeCanonical(self, to: &out)
        return out
    }

    private static func writeCanonical(_ value: JSONValue, to out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if let integral = Int64(exactly: d) {
                out += String(integral)  // 1.0 and 1 are the same JSON number; -0.0 becomes 0
            } else if d.isFinite {
                out += d.description
            } else {
                out += "null"
            }
        case .string(let s): out += jsonStringLiteral(s)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                writeCanonical(item, to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (index, key) in keys.enumerated() {
                if index > 0 { out += "," }
                out += jsonStringLiteral(key)
                out += ":"
                writeCanonical(members[key]!, to: &out)
            }
            out += "}"
        }
    }
}
