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
        String(decoding: canonicalJSONBytes, as: UTF8.self)
    }

    /// The first `limit` characters of ``canonicalJSON``, for error messages: the same value always
    /// reads the same (a dictionary's `description` follows its hash order, which differs between
    /// runs and even between equal dictionaries).
    public func excerpt(_ limit: Int = 200) -> String {
        String(canonicalJSON.prefix(limit))
    }

    /// ``canonicalJSON`` as UTF-8 bytes, written straight into a byte buffer (the raw and
    /// dead-letter topics carry these).
    public var canonicalJSONBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        Self.writeCanonical(self, to: &out)
        return out
    }

    private static func writeCanonical(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .null: out += "null".utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .int(let i): out += String(i).utf8
        case .double(let d):
            if let integral = Int64(exactly: d) {
                out += String(integral).utf8  // 1.0 and 1 are the same JSON number; -0.0 becomes 0
            } else if d.isFinite {
                out += d.description.utf8
            } else {
                out += "null".utf8
            }
        case .string(let s): appendJSONStringLiteral(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeCanonical(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (index, key) in keys.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendJSONStringLiteral(key, to: &out)
                out.append(UInt8(ascii: ":"))
                writeCanonical(members[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}
