/// A JSON string literal for `text`: `"` and `\` escaped, control characters as `\n`, `\r`, `\t`
/// or `\u00XX`, everything else (including non-ASCII) as is. Deterministic on every platform,
/// unlike `JSONEncoder`'s choices, so it can build canonical text (warehouse dumps, log lines).
public func jsonStringLiteral(_ text: String) -> String {
    // Most strings need no escape: copy them whole.
    if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
        return "\"" + text + "\""
    }
    var out: [UInt8] = []
    appendJSONStringLiteral(text, to: &out)
    return String(decoding: out, as: UTF8.self)
}

/// The UTF-8 bytes of ``jsonStringLiteral(_:)``, appended to `out` (the canonical JSON writer's form).
func appendJSONStringLiteral(_ text: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "\""): out += #"\""#.utf8
        case UInt8(ascii: "\\"): out += #"\\"#.utf8
        case 0x0A: out += #"\n"#.utf8
        case 0x0D: out += #"\r"#.utf8
        case 0x09: out += #"\t"#.utf8
        case 0..<0x20:
            let hex = String(byte, radix: 16)
            out += ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8
        default: out.append(byte)
        }
    }
    out.append(UInt8(ascii: "\""))
}
