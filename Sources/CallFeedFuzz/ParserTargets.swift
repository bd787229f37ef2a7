import CallFeedCore
import CallFeedVendors

/// Targets on the readers that are not JSON: `XML.parse` (Five9's SOAP answers) and `CSV.parse`
/// (Five9's `getReportResultCsv`), each with a round trip through its writer; and the Five9 mapping
/// on fuzzed JSON records (the page target reaches it only through CSV cells, which the JSON-aware
/// mutations cannot edit).
enum ParserTargets {
    static func all() -> [FuzzTarget] { [xml(), csv(), five9Mapping()] }

    /// The byte mutator's tokens for XML: markup, entities and references, hostile ones included.
    static let xmlTokens = [
        "<", ">", "</", "/>", "&", ";", "=", "\"", "'", ":", " ", "&amp;", "&lt;", "&#", "&#x", "&#233;", "&#0;", "&#xD800;",
        "&#x110000;", "&#99999999999;", "&unknown;", "<![CDATA[", "]]>", "<!--", "-->", "<?", "?>", "<!DOCTYPE r>",
        "<!ENTITY x \"xx\">", "xmlns:a=\"urn:a\"", "a:", "<a>", "</a>", "\u{FEFF}", "\u{301}",
    ]

    /// The byte mutator's tokens for CSV: separators, quoting, line ends, and the characters that
    /// join a separator into one `Character` (a combining mark after `,` or `"`, CR before LF).
    static let csvTokens = [",", "\"", "\"\"", "\r\n", "\n", "\r", ",\"", "\",", "\"\r\n", "\u{FEFF}", "\u{301}", "\u{200D}", " ", "\u{0}"]

    /// A parse that takes longer than this (plus 10 µs a byte) is reported as a hang: both readers
    /// are linear, and the debug build reads about a megabyte a second.
    static let slowSeconds = 5.0

    static func tooSlow(_ started: ContinuousClock.Instant, bytes: Int) -> String? {
        let elapsed = ContinuousClock.now - started
        let seconds = elapsed.timeInterval
        return seconds > slowSeconds + Double(bytes) * 1e-5 ? "parsing \(bytes) bytes took \(seconds) s" : nil
    }

    // MARK: - XML

    /// `XML.parse`. An accepted document must (1) come back the same from its own serialisation
    /// (``serialize(_:into:)``: escaping and reading agree), and (2) be refused once a DOCTYPE is
    /// put in front of its root element (no entity expansion, ever). A refusal must say where and why.
    static func xml() -> FuzzTarget {
        FuzzTarget(name: "xml", seedKey: "xml", tokens: xmlTokens) { input, rng in
            let started = ContinuousClock.now
            let root: XML.Element
            do throws(XML.ParseError) { root = try XML.parse(input) } catch {
                if let slow = tooSlow(started, bytes: input.count) { return .violation(slow) }
                guard !error.reason.isEmpty, (0...input.count).contains(error.offset) else {
                    return .violation("XML refusal without a reason or outside the input: \(error)")
                }
                return .rejected(error.description)
            }
            if let slow = tooSlow(started, bytes: input.count) { return .violation(slow) }
            var text = ""
            serialize(root, into: &text)
            do {
                let again = try XML.parse(Array(text.utf8))
                if again != root { return .violation("XML serialised and read again differs: \(text.prefix(200))") }
            } catch {
                return .violation("XML serialised from an accepted document is refused: \(error); \(text.prefix(200))")
            }
            let doctype = rng.pick(doctypes)
            let start = rootStart(input)
            let withDoctype = Array(input[..<start]) + Array(doctype.utf8) + Array(input[start...])
            if (try? XML.parse(withDoctype)) != nil { return .violation("a document with \(doctype) was accepted") }
            return FuzzOutcome(.accepted, recordsMapped: 1)
        }
    }

    /// DOCTYPEs a hostile answer could carry: internal entities (billion laughs), external ones (XXE).
    static let doctypes = [
        "<!DOCTYPE r>", "<!doctype r>",
        #"<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>"#,
        #"<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>"#,
        #"<!DOCTYPE Envelope SYSTEM "http://127.0.0.1:1/evil.dtd">"#,
    ]

    /// Where the root element starts: after a byte order mark, whitespace, comments and processing
    /// instructions (the XML declaration), as `XML.parse` skips them.
    static func rootStart(_ bytes: [UInt8]) -> Int {
        var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        func at(_ literal: String) -> Bool { bytes[i...].starts(with: literal.utf8) }
        func skip(past terminator: String) -> Bool {
            let t = Array(terminator.utf8)
            guard let range = bytes[i...].firstRange(of: t) else { return false }
            i = range.upperBound
            return true
        }
        while i < bytes.count {
            if [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
            else if at("<!--") { guard skip(past: "-->") else { break } }
            else if at("<?") { guard skip(past: "?>") else { break } }
            else { break }
        }
        return i
    }

    /// `element` as XML: qualified names as read, attributes under a prefix (so a local name
    /// `xmlns` stays an attribute), text escaped with `XML.escape` before the children.
    static func serialize(_ element: XML.Element, into out: inout String) {
        let name = (element.prefix.map { $0 + ":" } ?? "") + element.name
        out += "<" + name
        for (key, value) in element.attributes.sorted(by: { $0.key < $1.key }) { out += " a:\(key)=\"\(XML.escape(value))\"" }
        out += ">" + XML.escape(element.text)
        for child in element.children { serialize(child, into: &out) }
        out += "</" + name + ">"
    }

    // MARK: - CSV

    /// `CSV.parse`. Accepted records must come back the same through `CSV.write` and `CSV.parse`
    /// (the sandbox writes Five9's reports with it), and no record is empty; a refusal names a line.
    static func csv() -> FuzzTarget {
        FuzzTarget(name: "csv", seedKey: "csv", tokens: csvTokens) { input, _ in
            let started = ContinuousClock.now
            let records: [[String]]
            do throws(CSV.ParseError) { records = try CSV.parse(input) } catch {
                if let slow = tooSlow(started, bytes: input.count) { return .violation(slow) }
                guard !error.reason.isEmpty, error.line >= 1 else { return .violation("CSV refusal without a reason or line: \(error)") }
                return .rejected(error.description)
            }
            if let slow = tooSlow(started, bytes: input.count) { return .violation(slow) }
            if records.contains(where: \.isEmpty) { return .violation("CSV record without a field") }
            let written = CSV.write(records)
            do {
                let again = try CSV.parse(written)
                if again != records {
                    let first = zip(again, records).first { $0 != $1 }.map { "\($0.1.debugDescription) came back as \($0.0.debugDescription)" }
                    return .violation("CSV.write then parse changed the records (\(records.count) -> \(again.count)): \(first ?? "")")
                }
            } catch {
                return .violation("CSV.write of accepted records is refused: \(error)")
            }
            return FuzzOutcome(.accepted, recordsMapped: records.count)
        }
    }

    // MARK: - Five9 mapping

    /// `Five9Mapping.content` on a fuzzed record (`{"rows": [row, …]}` or one row), as
    /// `Five9CallSource.content(of:account:)` calls it.
    static func five9Mapping() -> FuzzTarget {
        let context = MappingContext(accountID: "12345", timeZone: "America/Los_Angeles", defaultCountry: "US")
        return FuzzTarget(name: "mapping.five9", seedKey: "mapping.five9") { input, _ in
            let record: JSONValue
            do { record = try JSONValue.parse(input) } catch { return .rejected("\(error)") }
            do throws(MappingError) {
                let content = try Five9Mapping.content(from: record, context: context)
                if let broken = FuzzOutcome.checkPublishable(content, channel: .poll) { return .violation(broken) }
                return FuzzOutcome(.accepted, recordsMapped: 1)
            } catch {
                return error.reason.isEmpty ? .violation("Five9 record refused without a reason") : .rejected(error.reason)
            }
        }
    }
}
