/// RFC 4180 comma-separated values: what Five9's `getReportResultCsv` returns.
///
/// Reading is strict about quoting and lenient about line ends: fields are separated by `,`,
/// records by CRLF or a bare LF; a field that starts with `"` is quoted and may hold commas, line
/// breaks and `""` (one quote); a final line break does not start an empty record. Refused: a quote
/// inside an unquoted field, anything but `,` or a line end after a closing quote, an unterminated
/// quoted field, invalid UTF-8. Records may differ in length; callers check against the header.
public enum CSV {
    /// Why a text is not CSV, with the 1-based line where reading stopped.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var line: Int
        public var description: String { "invalid CSV at line \(line): \(reason)" }
    }

    /// The records of `text`, each a list of fields.
    /// - Throws: ``ParseError`` for the cases listed on ``CSV``.
    public static func parse(_ text: String) throws(ParseError) -> [[String]] {
        try parse(Array(text.utf8))
    }

    /// The records of UTF-8 `bytes`.
    /// - Throws: ``ParseError`` for the cases listed on ``CSV``.
    public static func parse(_ bytes: [UInt8]) throws(ParseError) -> [[String]] {
        let comma = UInt8(ascii: ","), quote = UInt8(ascii: "\""), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        var records: [[String]] = []
        var record: [String] = []
        var field: [UInt8] = []
        var line = 1
        var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        func finishField() throws(ParseError) {
            guard let text = String(validating: field, as: UTF8.self) else { throw ParseError(reason: "invalid UTF-8", line: line) }
            record.append(text)
            field.removeAll(keepingCapacity: true)
        }
        /// After a field: `,` (another field follows), a line end (the record ends) or the end.
        /// Returns true when the record ended.
        func separator() throws(ParseError) -> Bool {
            guard i < bytes.count else { return true }
            switch bytes[i] {
            case comma: i += 1; return false
            case lf: i += 1; line += 1; return true
            case cr where i + 1 < bytes.count && bytes[i + 1] == lf: i += 2; line += 1; return true
            case cr where i + 1 == bytes.count: i += 1; return true
            default: throw ParseError(reason: "unexpected character after a field", line: line)
            }
        }
        guard i < bytes.count else { return [] }
        while true {
            if i < bytes.count, bytes[i] == quote {
                i += 1
                let opened = line
                while true {
                    guard i < bytes.count else { throw ParseError(reason: "unterminated quoted field (opened at line \(opened))", line: line) }
                    let b = bytes[i]
                    if b == quote {
                        if i + 1 < bytes.count, bytes[i + 1] == quote { field.append(quote); i += 2; continue }
                        i += 1
                        break
                    }
                    if b == lf { line += 1 }
                    field.append(b)
                    i += 1
                }
                if i < bytes.count, bytes[i] != comma, bytes[i] != lf, bytes[i] != cr {
                    throw ParseError(reason: "characters after a closing quote", line: line)
                }
            } else {
                while i < bytes.count, bytes[i] != comma, bytes[i] != lf, !(bytes[i] == cr && (i + 1 == bytes.count || bytes[i + 1] == lf)) {
                    if bytes[i] == quote { throw ParseError(reason: "quote inside an unquoted field", line: line) }
                    field.append(bytes[i])
                    i += 1
                }
            }
            try finishField()
            if try separator() {
                records.append(record)
                record.removeAll()
                if i >= bytes.count { return records }
            }
        }
    }

    /// `rows` as CSV with CRLF line ends; fields holding `,`, `"`, CR or LF are quoted.
    public static func write(_ rows: [[String]]) -> String {
        var out = ""
        for row in rows {
            out += row.map(field).joined(separator: ",")
            out += "\r\n"
        }
        return out
    }

    /// One field, quoted when it must be: when it holds `,`, `"`, CR or LF, or starts with U+FEFF
    /// (at the start of a text, ``parse(_:)`` takes that for a byte order mark).
    ///
    /// Compared by Unicode scalar, not `Character`: a `,` or `"` followed by a combining mark (or
    /// a joiner) is one `Character` that equals neither, and was written unquoted or undoubled
    /// (found by the fuzzer: the text no longer read back as written).
    public static func field(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard scalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }) || scalars.first == "\u{FEFF}" else {
            return text
        }
        var quoted = "\""
        for scalar in scalars {
            if scalar == "\"" { quoted.unicodeScalars.append(scalar) }
            quoted.unicodeScalars.append(scalar)
        }
        return quoted + "\""
    }
}
