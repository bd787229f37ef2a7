/// A JSON string literal for `text`: `"` and `\` escaped, control characters as `\n`, `\r`, `\t`
/// or `\u00XX`, everything else (including non-ASCII) as is. Deterministic on every platform,
/// unlike `JSONEncoder`'s choices, so it can build canonical text (warehouse dumps, log lines).
public func jsonStringLiteral(_ text: String) -> String {
    // Most strings need no escape: copy them whole.
    if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
        return "\"" + text + "\""
    }
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
