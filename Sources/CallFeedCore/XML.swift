/// A small, strict XML reader for SOAP bodies (Five9's Configuration Web Services), and the escaping
/// to write them.
///
/// Why not `FoundationXML.XMLParser`: it works on this toolchain, but it is backed by libxml2 (and
/// libxml2 by ICU), which a statically linked CallFeed binary then loads at run time; the runtime
/// image (Dockerfile: debian:bookworm-slim) ships neither. SOAP answers are small and regular, so
/// an own reader of what they use is shorter than the packaging change.
///
/// What it reads: one root element; elements, attributes (`"` or `'`), character data, CDATA
/// sections, the five predefined entities and numeric character references (`&#233;`, `&#xE9;`);
/// the XML declaration, processing instructions and comments are skipped. Namespaces are handled by
/// stripping prefixes: ``Element/name`` is the local name, ``Element/prefix`` the prefix, and
/// `xmlns`/`xmlns:*` declarations are not attributes. Refused: a DOCTYPE (no entity expansion, so
/// no "billion laughs"), unknown entities, a bare `&` or `<`, mismatched or unclosed tags, text
/// after the root, invalid UTF-8, nesting deeper than ``maxDepth``.
public enum XML {
    /// Deepest nesting read; deeper documents are refused rather than risking the stack.
    public static let maxDepth = 256

    /// One element: its local name, attributes, child elements and the text directly inside it.
    public struct Element: Sendable, Equatable {
        /// Local name, prefix stripped (`Envelope` for `soapenv:Envelope`).
        public var name: String
        /// The namespace prefix as written, nil when none.
        public var prefix: String?
        /// Attributes by local name, values decoded; namespace declarations left out.
        public var attributes: [String: String]
        /// Child elements in document order.
        public var children: [Element]
        /// Character data directly inside this element (CDATA included), decoded, untrimmed.
        public var text: String

        public init(name: String, prefix: String? = nil, attributes: [String: String] = [:], children: [Element] = [], text: String = "") {
            self.name = name; self.prefix = prefix; self.attributes = attributes; self.children = children; self.text = text
        }

        /// The first child element with local name `name`.
        public func child(_ name: String) -> Element? { children.first { $0.name == name } }

        /// Every child element with local name `name`.
        public func children(named name: String) -> [Element] { children.filter { $0.name == name } }

        /// Follows child elements by local name (`envelope[path: "Body", "runReportResponse"]`).
        public subscript(path names: String...) -> Element? {
            var current: Element? = self
            for name in names { current = current?.child(name) }
            return current
        }
    }

    /// Why a document was refused, with the byte offset where reading stopped.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var offset: Int
        public var description: String { "invalid XML at byte \(offset): \(reason)" }
    }

    /// Reads a UTF-8 document.
    /// - Returns: The root element.
    /// - Throws: ``ParseError`` for anything outside the subset described on ``XML``.
    public static func parse(_ bytes: some Collection<UInt8>) throws(ParseError) -> Element {
        var reader = Reader(bytes: Array(bytes))
        return try reader.document()
    }

    /// `text` with `&`, `<`, `>`, `"` and `'` written as entities: safe in character data and in
    /// attribute values of either quote.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    // MARK: - Reader

    private struct Reader {
        let bytes: [UInt8]
        var i = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }  // UTF-8 byte order mark
        }

        func fail(_ reason: String) -> ParseError { ParseError(reason: reason, offset: i) }

        func peek(_ literal: String) -> Bool {
            let l = Array(literal.utf8)
            return i + l.count <= bytes.count && bytes[i..<(i + l.count)].elementsEqual(l)
        }

        static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

        mutating func skipSpace() { while i < bytes.count, Self.isSpace(bytes[i]) { i += 1 } }

        /// Skips past `terminator`.
        mutating func skip(past terminator: String, what: String) throws(ParseError) {
            let start = i
            while i < bytes.count {
                if peek(terminator) { i += terminator.utf8.count; return }
                i += 1
            }
            i = start
            throw fail("unterminated \(what)")
        }

        /// Comments, processing instructions (the XML declaration too) and whitespace.
        mutating func skipMisc() throws(ParseError) {
            while true {
                skipSpace()
                if peek("<!--") { try skip(past: "-->", what: "comment") }
                else if peek("<?") { try skip(past: "?>", what: "processing instruction") }
                else if peek("<!DOCTYPE") || peek("<!doctype") { throw fail("DOCTYPE is not accepted") }
                else { return }
            }
        }

        mutating func document() throws(ParseError) -> Element {
            try skipMisc()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "<") else { throw fail("expected the root element") }
            let root = try element(depth: 1)
            try skipMisc()
            guard i == bytes.count else { throw fail("content after the root element") }
            return root
        }

        static func isNameByte(_ b: UInt8) -> Bool {
            // ASCII letters, digits, `_ - . :` and any non-ASCII byte (names in other scripts).
            (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39)
                || b == 0x5F || b == 0x2D || b == 0x2E || b == 0x3A || b >= 0x80
        }

        mutating func name() throws(ParseError) -> String {
            let start = i
            while i < bytes.count, Self.isNameByte(bytes[i]) { i += 1 }
            guard i > start, !(bytes[start] >= 0x30 && bytes[start] <= 0x39), bytes[start] != 0x2D, bytes[start] != 0x2E else {
                throw fail("expected a name")
            }
            return try text(bytes[start..<i])
        }

        func text(_ slice: ArraySlice<UInt8>) throws(ParseError) -> String {
            guard let s = String(validating: slice, as: UTF8.self) else { throw fail("invalid UTF-8") }
            return s
        }

        static func split(_ qualified: String) -> (prefix: String?, local: String) {
            guard let colon = qualified.firstIndex(of: ":") else { return (nil, qualified) }
            return (String(qualified[..<colon]), String(qualified[qualified.index(after: colon)...]))
        }

        /// An element starting at `<`.
        mutating func element(depth: Int) throws(ParseError) -> Element {
            guard depth <= XML.maxDepth else { throw fail("nesting deeper than \(XML.maxDepth)") }
            i += 1  // <
            let qualified = try name()
            let (prefix, local) = Self.split(qualified)
            var element = Element(name: local, prefix: prefix)
            // Attributes.
            while true {
                let hadSpace = i < bytes.count && Self.isSpace(bytes[i])
                skipSpace()
                guard i < bytes.count else { throw fail("unterminated start tag <\(qualified)>") }
                if bytes[i] == UInt8(ascii: "/") {
                    guard i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: ">") else { throw fail("expected /> in <\(qualified)>") }
                    i += 2
                    return element
                }
                if bytes[i] == UInt8(ascii: ">") { i += 1; break }
                guard hadSpace else { throw fail("expected whitespace before an attribute in <\(qualified)>") }
                let attribute = try name()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "=") else { throw fail("expected = after attribute \(attribute)") }
                i += 1
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") || bytes[i] == UInt8(ascii: "'") else {
                    throw fail("expected a quoted value for attribute \(attribute)")
                }
                let quote = bytes[i]
                i += 1
                let value = try characterData(until: quote, inAttribute: true)
                i += 1  // closing quote
                let (attributePrefix, attributeLocal) = Self.split(attribute)
                if attribute == "xmlns" || attributePrefix == "xmlns" { continue }
                guard element.attributes[attributeLocal] == nil else { throw fail("duplicate attribute \(attribute)") }
                element.attributes[attributeLocal] = value
            }
            // Content.
            var text = ""
            while true {
                guard i < bytes.count else { throw fail("unclosed element <\(qualified)>") }
                if bytes[i] != UInt8(ascii: "<") {
                    text += try characterData(until: UInt8(ascii: "<"), inAttribute: false)
                } else if peek("</") {
                    i += 2
                    let closing = try name()
                    guard closing == qualified else { throw fail("</\(closing)> closes <\(qualified)>") }
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ">") else { throw fail("expected > after </\(closing)") }
                    i += 1
                    element.text = text
                    return element
                } else if peek("<![CDATA[") {
                    i += 9
                    let start = i
                    try skip(past: "]]>", what: "CDATA section")
                    text += try self.text(bytes[start..<(i - 3)])
                } else if peek("<!--") {
                    try skip(past: "-->", what: "comment")
                } else if peek("<?") {
                    try skip(past: "?>", what: "processing instruction")
                } else if peek("<!") {
                    throw fail("declarations are not accepted inside elements")
                } else {
                    element.children.append(try self.element(depth: depth + 1))
                }
            }
        }

        /// Text up to (not including) `terminator`, entities decoded. In an attribute a `<` is an error
        /// and the terminator must appear.
        mutating func characterData(until terminator: UInt8, inAttribute: Bool) throws(ParseError) -> String {
            var out: [UInt8] = []
            while i < bytes.count, bytes[i] != terminator {
                let b = bytes[i]
                if b == UInt8(ascii: "<") { throw fail("< in an attribute value") }
                if b == UInt8(ascii: "&") {
                    try entity(into: &out)
                } else {
                    out.append(b)
                    i += 1
                }
            }
            if inAttribute, i >= bytes.count { throw fail("unterminated attribute value") }
            return try text(out[...])
        }

        /// `&name;` or `&#N;` / `&#xH;` at `i`, appended as UTF-8.
        mutating func entity(into out: inout [UInt8]) throws(ParseError) {
            let start = i
            i += 1
            while i < bytes.count, bytes[i] != UInt8(ascii: ";"), i - start < 12 { i += 1 }
            guard i < bytes.count, bytes[i] == UInt8(ascii: ";") else { i = start; throw fail("bare & (write &amp;)") }
            let body = String(decoding: bytes[(start + 1)..<i], as: UTF8.self)
            i += 1
            switch body {
            case "lt": out.append(UInt8(ascii: "<"))
            case "gt": out.append(UInt8(ascii: ">"))
            case "amp": out.append(UInt8(ascii: "&"))
            case "quot": out.append(UInt8(ascii: "\""))
            case "apos": out.append(UInt8(ascii: "'"))
            default:
                var value: UInt32?
                if body.hasPrefix("#x") || body.hasPrefix("#X") { value = UInt32(body.dropFirst(2), radix: 16) }
                else if body.hasPrefix("#") { value = UInt32(body.dropFirst(), radix: 10) }
                guard let value, value != 0, let scalar = Unicode.Scalar(value) else {
                    i = start
                    throw fail("unknown entity &\(body);")
                }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            }
        }
    }
}
