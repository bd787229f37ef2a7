import CallFeedCore
import CallFeedVendors
import Foundation
import Testing

@Suite("CallEvent JSON")
struct CallEventJSONTests {
    static let metadataKeys: Set<String> = ["schema_version", "event_id", "revision", "channel", "received_at"]

    private func sampleEvents() throws -> [(name: String, event: CallEvent)] {
        try Fixture.allMappedSamples().enumerated().map { index, sample in
            let channel = CallEvent.Channel.allCases[index % CallEvent.Channel.allCases.count]
            let receivedAt = Timestamp(millisecondsSinceEpoch: 1_715_720_000_000 + Int64(index) * 1_250)
            return (sample.name, CallEvent(content: sample.content, channel: channel, receivedAt: receivedAt))
        }
    }

    @Test("Every mapped sample survives encode and decode unchanged")
    func roundTrip() throws {
        let events = try sampleEvents()
        #expect(events.count == 7)
        for (name, event) in events {
            let decoded = try CallEvent.decode(event.jsonBytes())
            #expect(decoded == event, "\(name)")
        }
    }

    @Test("The event is one flat object: metadata keys beside the content's keys")
    func flatObject() throws {
        for (name, event) in try sampleEvents() {
            let published = try #require(try JSONValue.parse(event.jsonBytes()).objectValue, "\(name)")
            let contentOnly = try #require(try JSONValue.parse(Array(JSONEncoder().encode(event.content))).objectValue)
            #expect(Set(published.keys) == Set(contentOnly.keys).union(Self.metadataKeys), "\(name)")
            #expect(contentOnly.keys.allSatisfy { !Self.metadataKeys.contains($0) })
            for (key, value) in contentOnly {
                #expect(published[key] == value, "\(name): \(key)")
            }
            #expect(published["schema_version"] == .string("1"))
            #expect(published["event_id"] == .string(event.eventID))
            #expect(published["revision"] == .string(event.revision))
            #expect(published["channel"] == .string(event.channel.rawValue))
            #expect(published["received_at"] == .string(event.receivedAt.rfc3339))
            #expect(published["content"] == nil)
        }
    }

    @Test("Unknown values are omitted, not null")
    func nilsAreOmitted() throws {
        let content = CallContent(source: "ctm", sourceAccountID: "1", sourceCallID: "2")
        let event = CallEvent(content: content, channel: .poll, receivedAt: Timestamp(secondsSinceEpoch: 0))
        let published = try #require(try JSONValue.parse(event.jsonBytes()).objectValue)
        #expect(Set(published.keys) == Self.metadataKeys.union([
            "source", "source_account_id", "source_call_id", "direction", "status", "agent", "tracking", "location", "tags",
        ]))
        #expect(published["agent"] == .object([:]))
        #expect(published["tags"] == .array([]))
        #expect(String(decoding: event.jsonBytes(), as: UTF8.self).contains("null") == false)
    }

    @Test("Output is compact with sorted keys, so equal events give equal bytes")
    func canonicalBytes() throws {
        let event = try #require(try sampleEvents().first?.event)
        let text = String(decoding: event.jsonBytes(), as: UTF8.self)
        #expect(text.hasPrefix(#"{"agent":{},"caller_number":"+79990000123","channel":"webhook","destination_number":"+74950000199","dialed_number":"+74950000100","direction":"inbound","#))
        #expect(!text.contains("\n"))
        #expect(text.contains("\"recording_url\":\"https://ckct.ru/records/fake/40000000000000123.mp3\""))  // slashes unescaped
    }

    @Test("verifyIdentity rejects an event whose content was changed after its id and revision were set")
    func tamperedContent() throws {
        var event = try #require(try sampleEvents().first?.event)
        try event.verifyIdentity()
        event.content.recordingURL = "https://attacker.example/x.mp3"
        #expect(throws: CallEventDecodingError.self) { try event.verifyIdentity() }

        var moved = try #require(try sampleEvents().first?.event)
        moved.content.sourceCallID = "ct:999"
        do throws(CallEventDecodingError) {
            try moved.verifyIdentity()
            Issue.record("a call moved to another id was accepted")
        } catch {
            #expect(error.reason.contains("event_id"))
        }
    }

    @Test("decode rejects tampered bytes: foreign event_id, edited field, wrong schema version")
    func tamperedBytes() throws {
        let events = try sampleEvents()
        let event = events[0].event
        let published = try JSONValue.parse(event.jsonBytes())

        let foreignID = published.setting("event_id", .string(events[4].event.eventID))
        #expect(decodeFailure(try foreignID.bytes())?.contains("event_id") == true)

        let edited = published.setting("status", .string("missed"))
        #expect(decodeFailure(try edited.bytes())?.contains("revision") == true)

        let future = published.setting("schema_version", .string("2"))
        #expect(decodeFailure(try future.bytes()) == "unsupported schema_version 2")

        let missing = published.setting("event_id", nil)
        #expect(decodeFailure(try missing.bytes())?.hasPrefix("not a CallEvent v1") == true)

        // Unchanged bytes still decode after going through JSONValue.
        #expect(decodeFailure(try published.bytes()) == nil)
    }

    private func decodeFailure(_ bytes: [UInt8]) -> String? {
        do throws(CallEventDecodingError) {
            _ = try CallEvent.decode(bytes)
            return nil
        } catch {
            return error.reason
        }
    }
}
