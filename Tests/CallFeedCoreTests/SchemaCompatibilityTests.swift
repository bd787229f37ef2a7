import CallFeedCore
import CallFeedTestSupport
import Foundation
import Testing

/// `schemas/call_event.v1.json` may only grow (docs/call-event.md, "Schema evolution"): checked
/// against the published baseline in every CI run, and the checker itself shown to catch each
/// kind of breaking change.
@Suite struct SchemaCompatibilityTests {
    static func load(_ url: URL) throws -> JSONValue { try JSONValue.parse(Array(try Data(contentsOf: url))) }

    static func edited(_ schema: JSONValue, _ edit: (inout [String: JSONValue]) -> Void) -> JSONValue {
        guard case .object(var members) = schema else { return schema }
        edit(&members)
        return .object(members)
    }

    static func property(_ name: String, of schema: inout [String: JSONValue], _ edit: (inout [String: JSONValue]) -> Void) {
        guard case .object(var properties)? = schema["properties"], case .object(var field)? = properties[name] else { return }
        edit(&field)
        properties[name] = .object(field)
        schema["properties"] = .object(properties)
    }

    @Test func theCurrentSchemaIsAnAdditiveEvolutionOfThePublishedV1() throws {
        let baseline = try Self.load(SchemaCompatibility.callEventV1BaselineURL)
        let current = try Self.load(SchemaValidator.callEventV1URL)
        #expect(SchemaCompatibility.breakingChanges(from: baseline, to: current) == [])
    }

    @Test func everyKindOfBreakingChangeIsNamedWithItsPath() throws {
        let baseline = try Self.load(SchemaCompatibility.callEventV1BaselineURL)
        func check(_ edit: (inout [String: JSONValue]) -> Void) -> [String] {
            SchemaCompatibility.breakingChanges(from: baseline, to: Self.edited(baseline, edit))
        }
        #expect(check { s in
            guard case .object(var p)? = s["properties"] else { return }
            p["recording_url"] = nil
            s["properties"] = .object(p)
        } == ["#/properties/recording_url: removed"])
        #expect(check { s in Self.property("first_call", of: &s) { $0["type"] = .string("string") } }
            == [#"#/properties/first_call/type: changed from "boolean" to "string""#])
        #expect(check { s in Self.property("duration_seconds", of: &s) { $0["$ref"] = .string("#/$defs/text") } }
            == [##"#/properties/duration_seconds/$ref: changed from "#/$defs/seconds" to "#/$defs/text""##])
        #expect(check { s in Self.property("status", of: &s) { $0["enum"] = .array([.string("answered"), .string("missed")]) } }.count == 5)
        #expect(check { s in
            guard case .array(var r)? = s["required"] else { return }
            r.append(.string("started_at"))
            s["required"] = .array(r)
        }.first?.hasPrefix("#/required: changed") == true)
        #expect(check { s in Self.property("caller_name", of: &s) { $0["maxLength"] = .int(10) } }
            == ["#/properties/caller_name/maxLength: added (it constrains what the baseline accepted)"])
        #expect(check { s in
            guard case .object(var d)? = s["$defs"] else { return }
            d["seconds"] = nil
            s["$defs"] = .object(d)
        } == ["#/$defs/seconds: removed"])
        #expect(check { s in s["additionalProperties"] = .bool(true) } == ["#/additionalProperties: changed from false to true"])
    }

    @Test func additiveChangesPass() throws {
        let baseline = try Self.load(SchemaCompatibility.callEventV1BaselineURL)
        let grown = Self.edited(baseline) { s in
            guard case .object(var p)? = s["properties"] else { return }
            p["event_kind"] = .object(["type": .string("string"), "enum": .array([.string("call_completed"), .string("recording_ready")])])
            s["properties"] = .object(p)
            Self.property("status", of: &s) { field in
                if case .array(let values)? = field["enum"] { field["enum"] = .array(values + [.string("abandoned")]) }
                field["description"] = .string("What happened to the call.")
            }
            s["description"] = .string("A reworded description.")
        }
        #expect(SchemaCompatibility.breakingChanges(from: baseline, to: grown) == [])
    }
}
