import CallFeedCore
import CallFeedTestSupport
import CallFeedVendors
import Foundation
import Testing

@Suite("CallEvent v1 JSON Schema")
struct SchemaConformanceTests {
    private func validator() throws -> SchemaValidator {
        try SchemaValidator.callEventV1()
    }

    private func publishedSample() throws -> JSONValue {
        let content = try CTMMapping.content(from: Fixture.json("ctm.call.sample"), context: Fixture.ctm)
        return try JSONValue.parse(CallEvent(content: content, channel: .webhook,
                                             receivedAt: Timestamp(secondsSinceEpoch: 1_715_711_530)).jsonBytes())
    }

    @Test("The schema itself uses only keywords the validator checks")
    func schemaIsSupported() throws {
        let validator = try validator()
        #expect(validator.root["$schema"] == .string("https://json-schema.org/draft/2020-12/schema"))
        // Validating any value walks the root keywords; nested ones are walked by the sample tests.
        #expect(validator.validate(.object([:])).allSatisfy { !$0.contains("unsupported") })
    }

    @Test("Every mapped sample, on every channel, conforms")
    func samplesConform() throws {
        let validator = try validator()
        let samples = try Fixture.allMappedSamples()
        #expect(samples.count == 7)
        for (name, content) in samples {
            for channel in CallEvent.Channel.allCases {
                let event = CallEvent(content: content, channel: channel,
                                      receivedAt: Timestamp(millisecondsSinceEpoch: 1_715_720_000_123))
                let errors = validator.validate(bytes: event.jsonBytes())
                #expect(errors.isEmpty, "\(name) via \(channel): \(errors)")
            }
        }
    }

    @Test("An event with every optional field set conforms")
    func fullEventConforms() throws {
        var content = try CTMMapping.content(from: Fixture.json("ctm.call.sample"), context: Fixture.ctm)
        content.sourceUpdatedAt = Timestamp(millisecondsSinceEpoch: 1_715_712_000_500)
        content.tracking.content = "ad_01"
        content.firstCall = false
        let event = CallEvent(content: content, channel: .backfill, receivedAt: Timestamp(secondsSinceEpoch: 1_715_800_000))
        let errors = try validator().validate(bytes: event.jsonBytes())
        #expect(errors.isEmpty, "\(errors)")
    }

    @Test("Bad events are rejected, each with its own error", arguments: [
        ("wrong enum", "direction", JSONValue.string("sideways"), "/direction: \"sideways\" is not one of"),
        ("wrong status", "status", .string("in-progress"), "/status: \"in-progress\" is not one of"),
        ("extra key", "vendor_payload", .object([:]), "/: property \"vendor_payload\" is not allowed"),
        ("missing event_id", "event_id", nil, "/: missing required property \"event_id\""),
        ("event_id not a UUID", "event_id", .string("90000001"), "/event_id: \"90000001\" does not match"),
        ("short revision", "revision", .string("abc123"), "/revision: \"abc123\" does not match"),
        ("null optional", "caller_number", .null, "/caller_number: expected type string, got null"),
        ("empty string", "caller_number", .string(""), "/caller_number: \"\" is shorter than 1"),
        ("local time", "started_at", .string("2024-05-14T14:30:00+03:00"), "/started_at: \"2024-05-14T14:30:00+03:00\" does not match"),
        ("impossible date", "started_at", .string("2024-02-30T10:00:00Z"), "/started_at: \"2024-02-30T10:00:00Z\" is not an RFC 3339 date-time"),
        ("negative duration", "duration_seconds", .int(-5), "/duration_seconds: -5 is less than 0"),
        ("fractional duration", "talk_seconds", .double(1.5), "/talk_seconds: expected type integer, got number"),
        ("string boolean", "first_call", .string("true"), "/first_call: expected type boolean, got string"),
        ("repeated tags", "tags", .array([.string("a"), .string("a")]), "/tags: item 1 \"a\" repeats an earlier item"),
        ("blank tag", "tags", .array([.string("")]), "/tags/0: \"\" is shorter than 1"),
        ("unknown agent key", "agent", .object(["phone": .string("+15555550100")]), "/agent: property \"phone\" is not allowed"),
        ("old schema version", "schema_version", .string("0"), "/schema_version: \"0\" is not one of"),
    ] as [(String, String, JSONValue?, String)])
    func badEventRejected(label: String, key: String, value: JSONValue?, expected: String) throws {
        let validator = try validator()
        let good = try publishedSample()
        #expect(validator.validate(good).isEmpty)
        let errors = validator.validate(good.setting(key, value))
        #expect(errors.count == 1, "\(label): \(errors)")
        #expect(errors.contains { $0.hasPrefix(expected) }, "\(label): \(errors)")
    }
}

@Suite("SchemaValidator")
struct SchemaValidatorTests {
    private func errors(_ schema: String, _ instance: String) throws -> [String] {
        let validator = SchemaValidator(schema: try JSONValue.parse(Array(schema.utf8)))
        return validator.validate(try JSONValue.parse(Array(instance.utf8)))
    }

    @Test("type: one name, or an array of names including null")
    func types() throws {
        #expect(try errors(#"{"type": ["string", "null"]}"#, #"null"#).isEmpty)
        #expect(try errors(#"{"type": ["string", "null"]}"#, #""x""#).isEmpty)
        #expect(try errors(#"{"type": ["string", "null"]}"#, #"3"#) == ["/: expected type string or null, got integer"])
        #expect(try errors(#"{"type": "integer"}"#, #"3.0"#).isEmpty)
        #expect(try errors(#"{"type": "number"}"#, #"3"#).isEmpty)
        #expect(try errors(#"{"type": "object"}"#, #"[]"#) == ["/: expected type object, got array"])
    }

    @Test("required, properties and additionalProperties as a schema")
    func objects() throws {
        let schema = #"{"required": ["a"], "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}}"#
        #expect(try errors(schema, #"{"a": "x", "b": 1}"#).isEmpty)
        #expect(try errors(schema, #"{"b": 1}"#) == ["/: missing required property \"a\""])
        #expect(try errors(schema, #"{"a": 1, "b": "y"}"#) == ["/a: expected type string, got integer",
                                                              "/b: expected type integer, got string"])
    }

    @Test("items, minLength, pattern (unanchored), enum with numbers")
    func scalarsAndArrays() throws {
        #expect(try errors(#"{"items": {"minLength": 2}}"#, #"["ab", "c"]"#) == ["/1: \"c\" is shorter than 2"])
        #expect(try errors(#"{"minLength": 2}"#, #""дд""#).isEmpty)  // characters, not bytes
        #expect(try errors(#"{"pattern": "b+"}"#, #""abc""#).isEmpty)
        #expect(try errors(#"{"pattern": "^b+$"}"#, #""abc""#).count == 1)
        #expect(try errors(#"{"enum": [1, "one"]}"#, #"1.0"#).isEmpty)
        #expect(try errors(#"{"enum": [1, "one"]}"#, #""1""#).count == 1)
    }

    @Test("format date-time needs RFC 3339 that names a real instant")
    func dateTime() throws {
        let schema = #"{"format": "date-time"}"#
        #expect(try errors(schema, #""2024-05-14T18:30:00Z""#).isEmpty)
        #expect(try errors(schema, #""2024-05-14T18:30:00.5+02:00""#).isEmpty)
        #expect(try errors(schema, #""2024-05-14 18:30:00Z""#).count == 1)
        #expect(try errors(schema, #""2024-13-14T18:30:00Z""#).count == 1)
        #expect(try errors(schema, #""yesterday""#).count == 1)
    }

    @Test("$ref to $defs; unsupported keywords and formats are errors, annotations are not")
    func refsAndUnsupported() throws {
        let schema = ##"{"$defs": {"n": {"minimum": 0}}, "$ref": "#/$defs/n", "description": "d"}"##
        #expect(try errors(schema, #"1"#).isEmpty)
        #expect(try errors(schema, #"-1"#) == ["/: -1 is less than 0"])
        #expect(try errors(##"{"$ref": "#/$defs/missing"}"##, "1") == ["/: unresolvable $ref #/$defs/missing"])
        #expect(try errors(#"{"maxLength": 2}"#, #""abc""#) == ["/: unsupported schema keyword \"maxLength\""])
        #expect(try errors(#"{"format": "email"}"#, #""a@b""#) == ["/: unsupported format \"email\""])
    }
}
