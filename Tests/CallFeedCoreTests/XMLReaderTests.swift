import CallFeedCore
import Testing

/// The strict XML subset read from SOAP answers (Five9).
@Suite struct XMLReaderTests {
    func parse(_ text: String) throws -> XML.Element { try XML.parse(Array(text.utf8)) }

    @Test("a SOAP envelope: prefixes stripped, namespace declarations dropped, children and text in order")
    func soapEnvelope() throws {
        let root = try parse("""
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- leading comment -->
            <env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Header/><env:Body>
              <ns2:runReportResponse xmlns:ns2="http://service.admin.ws.five9.com/"><return>abc-123</return></ns2:runReportResponse>
            </env:Body></env:Envelope>
            """)
        #expect(root.name == "Envelope" && root.prefix == "env")
        #expect(root.attributes.isEmpty)
        #expect(root.children.map(\.name) == ["Header", "Body"])
        let response = try #require(root[path: "Body", "runReportResponse"])
        #expect(response.prefix == "ns2")
        #expect(response.child("return")?.text == "abc-123")
        #expect(root[path: "Body", "nothing"] == nil)
    }

    @Test("entities, numeric references, CDATA and attributes of both quotes decode")
    func decoding() throws {
        let root = try parse("<a x=\"1 &amp; 2\" y='say \"hi\"' p:z=\"&#x41;\">&lt;b&gt; &quot;&apos; &#233;&#x1F600;<![CDATA[<raw & \"x\">]]> text!</a>")
        #expect(root.attributes == ["x": "1 & 2", "y": "say \"hi\"", "z": "A"])
        #expect(root.text == "<b> \"' é😀<raw & \"x\"> text!")
        #expect(root.children.isEmpty)
    }

    @Test("escape then parse gives the text back")
    func escapeRoundTrip() throws {
        let text = "a<b>&c \"d\" 'e' ü\n"
        #expect(XML.escape(text) == "a&lt;b&gt;&amp;c &quot;d&quot; &apos;e&apos; ü\n")
        #expect(try parse("<t q=\"\(XML.escape(text))\">\(XML.escape(text))</t>").text == text)
        #expect(try parse("<t q=\"\(XML.escape(text))\"/>").attributes["q"] == text)
    }

    @Test("repeated children keep document order; self-closing elements are empty")
    func repeatedChildren() throws {
        let root = try parse("<values><data>CALL ID</data><data/><data>ANI</data><!-- c --><?pi x?></values>")
        #expect(root.children(named: "data").map(\.text) == ["CALL ID", "", "ANI"])
    }

    @Test("malformed documents are refused with a reason", arguments: [
        ("", "root"),
        ("<a>", "unclosed"),
        ("<a></b>", "closes"),
        ("<a>x & y</a>", "bare &"),
        ("<a>&nbsp;</a>", "unknown entity"),
        ("<a>&#0;</a>", "unknown entity"),
        ("<a x=1/>", "quoted"),
        ("<a x=\"1\" x=\"2\"/>", "duplicate"),
        ("<a x=\"<\"/>", "<"),
        ("<a/><b/>", "after the root"),
        ("<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>", "DOCTYPE"),
        ("<a><![CDATA[x</a>", "CDATA"),
        ("<a>\u{FFFD}</a>trailing", "after the root"),
        ("<1a/>", "name"),
    ])
    func refused(document: String, reason: String) {
        #expect {
            try XML.parse(Array(document.utf8))
        } throws: { error in
            (error as? XML.ParseError)?.reason.contains(reason) == true
        }
    }

    @Test("invalid UTF-8 and runaway nesting are refused")
    func hostile() {
        #expect(throws: XML.ParseError.self) { try XML.parse([0x3C, 0x61, 0x3E, 0xC3, 0x28, 0x3C, 0x2F, 0x61, 0x3E]) }  // <a>\xC3(</a>
        let deep = String(repeating: "<a>", count: XML.maxDepth + 1) + String(repeating: "</a>", count: XML.maxDepth + 1)
        #expect(throws: XML.ParseError.self) { try XML.parse(Array(deep.utf8)) }
        let ok = String(repeating: "<a>", count: XML.maxDepth) + String(repeating: "</a>", count: XML.maxDepth)
        #expect((try? XML.parse(Array(ok.utf8)))?.name == "a")
    }
}
