import Warehouse

/// The only ways text reaches ClickHouse SQL: validated identifiers and escaped string literals.
///
/// Values are never put into SQL: rows go as JSONEachRow data after the statement (see
/// ``JSONEachRow``). Only the keys of a batch are, in `WHERE … IN (…)` lists, because ClickHouse
/// 18.16 has no query parameters (`{name:Type}` with `param_name=` came in 19.x) and its HTTP
/// interface cannot bind values; they go as ``stringLiteral(_:)``, which escapes every byte the
/// literal parser treats specially.
enum ClickHouseSQL {
    /// `` `name` `` when `name` is `[A-Za-z_][A-Za-z0-9_]*` (a database name), else `nil`.
    static func databaseIdentifier(_ name: String) -> String? {
        guard let first = name.utf8.first, isLetter(first) || first == UInt8(ascii: "_"),
              name.utf8.allSatisfy({ isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") })
        else { return nil }
        return "`" + name + "`"
    }

    /// `"name"` when `name` is `[a-z][a-z0-9_]*` (a table name: CallFeed's own, or an entity table
    /// from a record that passed ``EntityRecord/validate()``), else `nil`. ClickHouse reads
    /// double-quoted identifiers as SQL does, so ``EntityRow/quotedIdentifier(_:)`` is used as is.
    static func tableIdentifier(_ name: String) -> String? {
        EntityRow.quotedIdentifier(name)
    }

    /// `'text'` as a ClickHouse string literal: `\` and `'` escaped with a backslash, and every
    /// other byte below 0x20 or 0x7F as `\xHH`, so the statement text stays one clean line whatever
    /// `text` holds. Non-ASCII UTF-8 passes unchanged (ClickHouse strings are bytes).
    static func stringLiteral(_ text: String) -> String {
        var out: [UInt8] = [UInt8(ascii: "'")]
        out.reserveCapacity(text.utf8.count + 2)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"), UInt8(ascii: "'"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case 0..<0x20, 0x7F:
                out += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "'"))
        return String(decoding: out, as: UTF8.self)
    }

    /// `('a', 'b', …)` for `WHERE key IN …`. `keys` must not be empty.
    static func inList(_ keys: some Collection<String>) -> String {
        precondition(!keys.isEmpty, "an IN list needs at least one key")
        return "(" + keys.map(stringLiteral).joined(separator: ", ") + ")"
    }

    /// How many keys one `IN` list holds at most: 1,000 keys of ~40 bytes stay far below the
    /// server's `max_query_size` (256 KiB), whatever the loader's batch size.
    static let maximumKeysPerQuery = 1_000

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
