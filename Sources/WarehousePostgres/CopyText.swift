import Warehouse

/// Rows in the text format of PostgreSQL's `COPY … FROM STDIN`: columns separated by tabs, rows
/// ended by a newline, `\N` for `NULL`, and backslash, tab, newline and carriage return escaped.
struct CopyText {
    private(set) var bytes: [UInt8] = []

    /// Appends one row.
    mutating func append(_ values: [WarehouseValue]) {
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(0x09) }
            switch value {
            case .null: bytes += #"\N"#.utf8
            case .integer(let number): bytes += String(number).utf8
            case .real(let number): bytes += String(number).utf8
            case .text(let text): appendEscaped(text)
            case .blob(let data):
                // bytea hex input (`\x…`), its backslash escaped for COPY.
                bytes += #"\\x"#.utf8
                let hex = Array("0123456789abcdef".utf8)
                for byte in data { bytes.append(hex[Int(byte >> 4)]); bytes.append(hex[Int(byte & 0x0F)]) }
            }
        }
        bytes.append(0x0A)
    }

    private mutating func appendEscaped(_ text: String) {
        // Most values need no escape: copy them whole.
        if !text.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            bytes.append(contentsOf: text.utf8)
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): bytes += #"\\"#.utf8
            case 0x09: bytes += #"\t"#.utf8
            case 0x0A: bytes += #"\n"#.utf8
            case 0x0D: bytes += #"\r"#.utf8
            default: bytes.append(byte)
            }
        }
    }
}

/// Literals PostgreSQL parses from text parameters.
enum PostgresLiteral {
    /// A one-dimensional array literal (`{"a","b\"c"}`) for a `$n::text[]` parameter: every element
    /// double-quoted, with `"` and `\` escaped, so no element can be read as `NULL` or split.
    static func array(_ elements: [String]) -> String {
        var out = "{"
        for (index, element) in elements.enumerated() {
            if index > 0 { out += "," }
            out += "\""
            for character in element.unicodeScalars {
                if character == "\"" || character == "\\" { out += "\\" }
                out.unicodeScalars.append(character)
            }
            out += "\""
        }
        return out + "}"
    }

    /// `"name"` for an identifier matching `[a-z][a-z0-9_]*` (the only schema and table names the
    /// sink accepts), else nil.
    static func identifier(_ name: String) -> String? { EntityRow.quotedIdentifier(name) }
}
