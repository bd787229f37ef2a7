import CallFeedCore
import CallFeedTestSupport
import Foundation
import Testing

/// `CallEvent.decode` reads the wire JSON with its own reader (CallEvent+Decode.swift). These tests
/// hold it to what `JSONDecoder` through the `Codable` conformance accepts and builds.
@Suite("CallEvent decode")
struct CallEventDecodeTests {
    /// Events with every field kind set, unset and at edges, from a seeded generator.
    static func generatedEvents(count: Int) -> [CallEvent] {
        var rng = SplitMix64(seed: 20_241_130)
        func maybe<T>(_ value: @autoclosure () -> T) -> T? { rng.next() % 3 == 0 ? nil : value() }
        func text() -> String {
            let pieces = ["a", "Ж", "\"", "\\", "/", "\u{1}", "😀", " ", "é", "\n", "0", "+1 (555) 010-2000"]
            return (0..<Int(rng.next() % 5)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
        }
        return (0..<count).map { n in
            var c = CallContent(source: ["ctm", "callkeeper", "callrail", "justcall"][n % 4], sourceAccountID: "acct-\(n % 7)",
                                sourceCallID: "call-\(n)\(text())",
                                direction: CallContent.Direction.allCases[n % CallContent.Direction.allCases.count],
                                status: CallContent.Status.allCases[n % CallContent.Status.allCases.count])
            let base = Int64(1_700_000_000_000) + Int64(rng.next() % 1_000_000_000)
            c.startedAt = maybe(Timestamp(millisecondsSinceEpoch: base))
            c.endedAt = maybe(Timestamp(millisecondsSinceEpoch: base + Int64(rng.next() % 100_000)))
            c.durationSeconds = maybe(Int64(rng.next() % 10_000))
            c.talkSeconds = maybe(Int64.max - Int64(rng.next() % 3))
            c.ringSeconds = maybe(-Int64(rng.next() % 5))
            c.callerNumber = maybe(text())
            c.dialedNumber = maybe("+1800555\(n % 10_000)")
            c.destinationNumber = maybe(text())
            c.callerName = maybe(text())
            c.agent = CallContent.Agent(id: maybe(text()), name: maybe(text()), email: maybe("a\(n)@example.com"))
            c.tracking.campaignID = maybe(text())
            c.tracking.source = maybe(text())
            c.tracking.landingPage = maybe("https://example.com/?q=\(n)")
            c.tracking.gaClientID = maybe(text())
            c.location = CallContent.Location(city: maybe(text()), region: maybe(text()), country: maybe("US"))
            c.recordingURL = maybe("https://rec.example/\(n).mp3")
            c.tags = (0..<Int(rng.next() % 4)).map { _ in text() }
            c.firstCall = maybe(rng.next() % 2 == 0)
            c.sourceUpdatedAt = maybe(Timestamp(millisecondsSinceEpoch: base + 5_000))
            let channel = CallEvent.Channel.allCases[n % CallEvent.Channel.allCases.count]
            return CallEvent(content: c, channel: channel, receivedAt: Timestamp(millisecondsSinceEpoch: base + 9_999))
        }
    }

    @Test("Builds the same event JSONDecoder builds, for 500 generated events")
    func sameAsJSONDecoder() throws {
        for event in Self.generatedEvents(count: 500) {
            let bytes = event.jsonBytes()
            let viaFoundation = try JSONDecoder().decode(CallEvent.self, from: Data(bytes))
            let decoded = try CallEvent.decode(bytes)
            #expect(decoded == viaFoundation)
            #expect(decoded == event)
        }
    }

    @Test("Accepts what JSONDecoder accepts: unknown keys, nulls for optional fields, any key order, whitespace")
    func lenientWhereCodableIs() throws {
        let event = Self.generatedEvents(count: 1)[0]
        var object = try #require(try JSONValue.parse(event.jsonBytes()).objectValue)
        object["future_field"] = .array([.int(1)])
        object["caller_name"] = .null
        object["duration_seconds"] = .double(42)
        object["talk_seconds"] = .int(7)
        var expected = event
        expected.content.callerName = nil
        expected.content.durationSeconds = 42
        expected.content.talkSeconds = 7
        let bytes = Array(try JSONSerialization.data(withJSONObject: try JSONSerialization.jsonObject(with: Data(JSONEncoder().encode(JSONValue.object(object)))),
                                                     options: [.prettyPrinted]))
        #expect(try JSONDecoder().decode(CallEvent.self, from: Data(bytes)) == expected)
        #expect(try CallEvent.fromWireForTesting(bytes) == expected)
    }

    @Test("Rejects, with the key named, what JSONDecoder rejects", arguments: [
        ("event_id", JSONValue?.none, "event_id is missing"),
        ("received_at", .string("yesterday"), "received_at is not an RFC 3339"),
        ("channel", .string("fax"), "channel has an unknown value"),
        ("direction", .int(1), "direction is not a string"),
        ("tags", .array([.int(1)]), "tags holds a non-string"),
        ("tags", JSONValue?.none, "tags is missing"),
        ("agent", .string("bob"), "agent is not an object"),
        ("talk_seconds", .double(1.5), "talk_seconds is not an integer"),
        ("talk_seconds", .string("15"), "talk_seconds is not an integer"),
        ("first_call", .int(1), "first_call is not a boolean"),
        ("source", .null, "source is not a string"),
    ] as [(String, JSONValue?, String)])
    func rejects(key: String, value: JSONValue?, reason: String) throws {
        let event = Self.generatedEvents(count: 1)[0]
        var object = try #require(try JSONValue.parse(event.jsonBytes()).objectValue)
        object[key] = value
        let bytes = Array(try JSONEncoder().encode(JSONValue.object(object)))
        #expect(throws: (any Error).self) { try JSONDecoder().decode(CallEvent.self, from: Data(bytes)) }
        let error = #expect(throws: CallEventDecodingError.self) { try CallEvent.fromWireForTesting(bytes) }
        #expect(error?.reason.contains(reason) == true, "\(error?.reason ?? "no error")")
    }

    @Test("A nested key is named with its path")
    func nestedPath() throws {
        let event = Self.generatedEvents(count: 1)[0]
        var object = try #require(try JSONValue.parse(event.jsonBytes()).objectValue)
        object["agent"] = .object(["email": .int(5)])
        let error = #expect(throws: CallEventDecodingError.self) {
            try CallEvent.fromWireForTesting(Array(try JSONEncoder().encode(JSONValue.object(object))))
        }
        #expect(error?.reason.contains("agent.email is not a string") == true)
    }

    @Test("Bytes that are not a JSON object are refused")
    func notAnObject() {
        for text in ["[]", "\"x\"", "{", "", "{\"a\":1}x"] {
            #expect(throws: CallEventDecodingError.self) { try CallEvent.decode(Array(text.utf8)) }
        }
    }
}
