import CallFeedCore
import CallFeedFuzz
import CallFeedIngest
import CallFeedVendors
import HTTPServer
import Testing

/// Inputs the fuzzer found or was built to throw, pinned: each once trapped or must keep failing
/// with a typed error.
@Suite struct RegressionTests {
    /// `X-CTM-Time` near Int64.min/max made `abs(now - time)` overflow: one unauthenticated request
    /// crashed callfeed-ingest. Now a 401.
    @Test(arguments: ["-9223372036854775808", "9223372036854775807", "-9223372036854775807"])
    func ctmTimeAtTheInt64EdgesIsRefused(time: String) {
        let route = WebhookFixtures.route(.ctm)
        var request = WebhookFixtures.signedRequest(.ctm, body: Array("{}".utf8), time: time)
        request.headers["x-ctm-time"] = time
        #expect(throws: AuthenticationFailure.self) { try route.authenticate(request, now: FuzzClock.now).get() }
    }

    /// A JustCall timestamp of seconds far below the epoch overflowed as milliseconds.
    @Test(arguments: ["-9223372036854775808", "-9223372036854776", "9223372036854775807"])
    func justCallTimestampAtTheInt64EdgesIsRefused(timestamp: String) {
        let route = WebhookFixtures.route(.justcall)
        let request = WebhookFixtures.signedRequest(.justcall, body: Array(#"{"type":"call.completed","data":{}}"#.utf8), time: timestamp)
        #expect(throws: AuthenticationFailure.self) { try route.authenticate(request, now: FuzzClock.now).get() }
    }

    /// 10,000 levels of nesting are refused at the parser's limit, not by overflowing the stack.
    @Test(arguments: ["[", "{\"a\":"])
    func deepNestingIsATypedError(open: String) {
        let bytes = Array((String(repeating: open, count: 10_000) + "1").utf8)
        #expect {
            _ = try JSONValue.parse(bytes)
        } throws: { error in
            "\(error)".contains("nesting deeper than 512 levels")
        }
    }

    // MARK: - Today's vendors (found by the xml/csv/mapping/page targets)

    /// XML: 256 levels (``XML/maxDepth``) are read, also on a test thread's stack in a debug build;
    /// 10,000 are a typed error, not a stack overflow.
    @Test func xmlNestingIsReadToItsLimitAndRefusedPastIt() throws {
        let deepest = String(repeating: "<a>", count: XML.maxDepth) + String(repeating: "</a>", count: XML.maxDepth)
        var element = try XML.parse(Array(deepest.utf8))
        var depth = 1
        while let child = element.children.first { element = child; depth += 1 }
        #expect(depth == XML.maxDepth)
        for levels in [XML.maxDepth + 1, 10_000] {
            let bytes = Array((String(repeating: "<a>", count: levels) + String(repeating: "</a>", count: levels)).utf8)
            #expect { _ = try XML.parse(bytes) } throws: { "\($0)".contains("nesting deeper than 256") }
        }
    }

    /// XML never reads a DOCTYPE: no entity expansion (billion laughs), no external entity (XXE).
    @Test(arguments: ["<!DOCTYPE r>", "<!doctype r>", #"<!DOCTYPE r [<!ENTITY x "xx">]>"#, #"<!DOCTYPE r SYSTEM "file:///etc/passwd">"#])
    func xmlRefusesADoctype(doctype: String) {
        for document in ["<?xml version=\"1.0\"?>" + doctype + "<r>&amp;</r>", doctype + "<r/>", "<r>" + doctype + "</r>"] {
            #expect(throws: XML.ParseError.self, "\(document)") { _ = try XML.parse(Array(document.utf8)) }
        }
    }

    /// Five9 `TIMESTAMP` as MM/DD/YYYY with a longer year: `Timestamp(year:…)` overflowed its
    /// milliseconds (a trap in the poller). Now a malformed date-time, dead-lettered with its call.
    @Test(arguments: ["05/14/99999999999 11:30:00", "05/14/9223372036854775807 11:30:00", "05/14/300000000 11:30:00", "05/14/10000 11:30:00"])
    func five9TimestampWithAHugeYearIsAMappingError(timestamp: String) {
        let record: JSONValue = .object(["rows": .array([.object(["CALL ID": .string("300000000123456"), "TIMESTAMP": .string(timestamp)])])])
        let context = MappingContext(accountID: "12345", timeZone: "America/Los_Angeles", defaultCountry: "US")
        #expect {
            _ = try Five9Mapping.content(from: record, context: context)
        } throws: { error in
            "\(error)".contains("malformed date-time (TIMESTAMP)")
        }
    }

    /// CleverTap `events.*.last_seen` past what milliseconds hold trapped in `Timestamp(secondsSinceEpoch:)`.
    /// Now ignored like any value that is not epoch seconds; the other events still count.
    @Test(arguments: [Int64.max, 9_223_372_036_854_776, 253_402_300_800])
    func cleverTapHugeLastSeenIsIgnored(lastSeen: Int64) throws {
        let record: JSONValue = .object([
            "objectId": .string("__f3c9a2d4b5e64a1f9c0d7e8b2a1c3d4e"),
            "events": .object(["App Launched": .object(["last_seen": .int(lastSeen)]), "Quote Requested": .object(["last_seen": .int(1_715_700_000)])]),
        ])
        let profile = try CleverTapMapping.profile(from: record, defaultCountry: "US")
        #expect(profile.lastSeen == Timestamp(secondsSinceEpoch: 1_715_700_000))
        let alone: JSONValue = .object(["objectId": .string("x"), "events": .object(["e": .object(["last_seen": .int(lastSeen)])])])
        #expect(try CleverTapMapping.profile(from: alone, defaultCountry: "US").lastSeen == nil)
    }

    /// `CSV.write` compared `Character`s: a `,` or `"` followed by a combining mark or a joiner is one
    /// `Character`, so such a field was written unquoted (split in two when read back) or with its
    /// quote not doubled (refused when read back); and a first field starting with U+FEFF lost it
    /// (read back as a byte order mark). Every record `parse` returns must come back through `write`.
    @Test(arguments: [
        "a,\"Tue,\u{301} 14 May 2024\"\r\n",
        "\"b \"\"\u{200D}quoted\"\"\",x\r\n",
        "\"\"\"\u{301}\"\r\n",
        "\u{FEFF}\u{FEFF}a,b\r\n",
        "\"\u{FEFF}a\",b\r\n",
    ])
    func csvWriteRoundTripsWhatParseReturned(text: String) throws {
        let records = try CSV.parse(text)
        #expect(try CSV.parse(CSV.write(records)) == records)
    }
}
