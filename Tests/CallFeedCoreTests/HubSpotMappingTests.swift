import CallFeedCore
import CallFeedVendors
import Foundation
import Testing

@Suite("HubSpot mapping")
struct HubSpotMappingTests {
    /// A HubSpot source: the account is the portal id; US numbers. The zone is deliberately not
    /// UTC: HubSpot times carry `Z`.
    static let context = MappingContext(accountID: "20000001", timeZone: "America/New_York", defaultCountry: "US")

    private func map(_ payload: JSONValue, dispositions: [String: String] = HubSpotMapping.defaultDispositions) throws -> CallContent {
        try HubSpotMapping.content(from: payload, context: Self.context, dispositions: dispositions)
    }

    /// The reason a payload is rejected with (fails the test when it is accepted).
    private func rejection(_ payload: JSONValue) -> String? {
        do throws(MappingError) {
            let content = try HubSpotMapping.content(from: payload, context: Self.context)
            Issue.record("expected a MappingError, got a call \(content.sourceCallID)")
            return nil
        } catch {
            return error.reason
        }
    }

    /// The sample call with property `key` set (nil: removed).
    private func withProperty(_ key: String, _ value: JSONValue?) throws -> JSONValue {
        let call = try Fixture.json("hubspot.call.sample")
        return call.setting("properties", (call["properties"] ?? .null).setting(key, value))
    }

    @Test("Call record maps every field")
    func callRecord() throws {
        let content = try map(Fixture.json("hubspot.call.sample"))
        #expect(content.source == "hubspot")
        #expect(content.sourceAccountID == "20000001")           // the portal, from the context
        #expect(content.sourceCallID == "51234567890")           // id
        #expect(content.direction == .inbound)                   // INBOUND
        #expect(content.status == .answered)                     // COMPLETED + Connected
        #expect(content.startedAt == (try Timestamp.utc("2024-05-14T18:30:00Z")))   // hs_timestamp, UTC
        #expect(content.durationSeconds == 125)                  // "125000" ms
        #expect(content.endedAt == (try Timestamp.utc("2024-05-14T18:32:05Z")))
        #expect(content.talkSeconds == nil && content.ringSeconds == nil)
        // Inbound: the customer is `from`, written "(555) 555-0123"; the user's line is `to`.
        #expect(content.callerNumber == "+15555550123")
        #expect(content.destinationNumber == "+15555550199")     // "+1 555-555-0199"
        #expect(content.dialedNumber == nil)                      // HubSpot has no tracking numbers
        #expect(content.callerName == nil)
        #expect(content.agent == CallContent.Agent(id: "80011223"))  // hubspot_owner_id
        #expect(content.tracking == CallContent.Tracking())
        #expect(content.location == CallContent.Location())
        #expect(content.recordingURL == "https://recordings.example.invalid/hubspot/51234567890.mp3")
        #expect(content.tags == ["Connected"])                    // the disposition's label
        #expect(content.firstCall == nil)
        #expect(content.sourceUpdatedAt == (try Timestamp.utc("2024-05-14T18:40:03.087Z")))  // hs_lastmodifieddate
    }

    @Test("List page: the answered call, and a missed one with a voicemail, a bare national number and nulls")
    func listPage() throws {
        let first = try map(Fixture.element(0, of: "hubspot.calls.page.sample", under: "results"))
        #expect(first == (try map(Fixture.json("hubspot.call.sample"))))  // same record without associations
        let missed = try map(Fixture.element(1, of: "hubspot.calls.page.sample", under: "results"))
        #expect(missed.sourceCallID == "51234567911")
        #expect(missed.status == .voicemail)                      // NO_ANSWER + Left voicemail + has_voicemail
        #expect(missed.durationSeconds == 0)
        #expect(missed.endedAt == missed.startedAt)
        #expect(missed.callerNumber == "+15555550145")            // "5555550145"
        #expect(missed.recordingURL == nil)                       // null
        #expect(missed.tags == ["Left voicemail"])
        #expect(missed.startedAt == (try Timestamp.utc("2024-05-14T18:45:12Z")))
        #expect(missed.sourceUpdatedAt == (try Timestamp.utc("2024-05-14T18:45:40.004Z")))
    }

    @Test("Search answer records map like list records")
    func searchSample() throws {
        let sample = try Fixture.json("hubspot.calls.search.sample")
        let results = try #require(sample[path: "_response", "results"]?.arrayValue)
        let mapped = try results.map { try map($0) }
        #expect(mapped.map(\.sourceCallID) == ["51234567890", "51234567911"])
        #expect(mapped[0] == (try map(Fixture.json("hubspot.call.sample"))))
    }

    @Test("hs_call_duration is milliseconds, rounded to the nearest second (half up); ended_at keeps the milliseconds",
          arguments: [("125000", Int64(125)), ("125499", 125), ("125500", 126), ("999", 1), ("499", 0), ("0", 0)])
    func durationMilliseconds(text: String, seconds: Int64) throws {
        let content = try map(withProperty("hs_call_duration", .string(text)))
        #expect(content.durationSeconds == seconds)
        let ms = try #require(Int64(text))
        #expect(content.endedAt == Timestamp(millisecondsSinceEpoch: try Timestamp.utc("2024-05-14T18:30:00Z").millisecondsSinceEpoch + ms))
    }

    @Test("A negative or non-numeric duration is left empty, not guessed")
    func badDuration() throws {
        for value: JSONValue in [.string("-5"), .string("two minutes"), .null] {
            let content = try map(withProperty("hs_call_duration", value))
            #expect(content.durationSeconds == nil && content.endedAt == nil)
        }
    }

    @Test("Free-text numbers: parentheses, dashes, +1, bare national digits; OUTBOUND takes the customer from `to`")
    func freeTextNumbers() throws {
        let inbound = try map(withProperty("hs_call_from_number", .string("  +1 (410) 555-0123 ")))
        #expect(inbound.callerNumber == "+14105550123")
        let outbound = try withProperty("hs_call_direction", .string("OUTBOUND"))
        let out = try map(outbound.setting("properties", (outbound["properties"] ?? .null)
                .setting("hs_call_from_number", .string("443.555.0101")).setting("hs_call_to_number", .string("1-512-555-0177"))))
        #expect(out.direction == .outbound)
        #expect(out.callerNumber == "+15125550177")               // to: the customer
        #expect(out.destinationNumber == "+14435550101")          // from: the user's line
        // Text that is no number is kept as written (trimmed), not dropped.
        let garbage = try map(withProperty("hs_call_from_number", .string("call-me-maybe")))
        #expect(garbage.callerNumber == "call-me-maybe")
        let missing = try map(withProperty("hs_call_from_number", .null))
        #expect(missing.callerNumber == nil)
    }

    @Test("Default dispositions by GUID decide the outcome, custom ones label it",
          arguments: [
            ("9d9162e7-6cf3-4944-bf63-4dff82258764", "Busy", CallContent.Status.busy),
            ("f240bbac-87c9-4f6e-bf70-924b57d47db7", "Connected", .answered),
            ("a4c4c377-d246-4b32-a13b-75a56a4cd0ff", "Left live message", .answered),
            ("B2CF5968-551E-4856-9783-52B3DA59A7D0", "Left voicemail", .voicemail),  // case-insensitive GUID
            ("73a0d17f-1163-4015-bdd5-ec830791da20", "No answer", .missed),
            ("17b47fee-58de-441e-a44c-c6300d46f273", "Wrong number", .answered),
          ])
    func defaultDispositions(guid: String, label: String, status: CallContent.Status) throws {
        let content = try map(withProperty("hs_call_disposition", .string(guid)))
        #expect(content.status == status)
        #expect(content.tags == [label])
    }

    @Test("A custom disposition is a tag from the dictionary; unknown GUIDs give none and the call status decides")
    func customDisposition() throws {
        let custom = "5a1e2c3d-0b7f-4e59-9c21-7d3f8a6b1c01"
        let record = try withProperty("hs_call_disposition", .string(custom))
        var labels = HubSpotMapping.defaultDispositions
        labels[custom] = "Appointment booked"
        let known = try map(record, dispositions: labels)
        #expect(known.tags == ["Appointment booked"])
        #expect(known.status == .answered)                        // COMPLETED
        let unknown = try map(record)
        #expect(unknown.tags == [])
        #expect(unknown.status == .answered)
        // The user-defined call type joins the label.
        let typed = try map(record.setting("properties", (record["properties"] ?? .null).setting("hs_activity_type", .string("Sales call"))),
                            dispositions: labels)
        #expect(typed.tags == ["Appointment booked", "Sales call"])
    }

    @Test("Outcome rules: calls not over, FAILED, disposition, voicemail flag, then hs_call_status")
    func statusRules() {
        #expect(HubSpotMapping.status(callStatus: "RINGING", dispositionLabel: "Connected", hasVoicemail: nil) == .inProgress)
        #expect(HubSpotMapping.status(callStatus: "IN_PROGRESS", dispositionLabel: nil, hasVoicemail: nil) == .inProgress)
        #expect(HubSpotMapping.status(callStatus: "FAILED", dispositionLabel: "Connected", hasVoicemail: nil) == .failed)
        #expect(HubSpotMapping.status(callStatus: "COMPLETED", dispositionLabel: "No answer", hasVoicemail: false) == .missed)
        #expect(HubSpotMapping.status(callStatus: "NO_ANSWER", dispositionLabel: nil, hasVoicemail: true) == .voicemail)
        #expect(HubSpotMapping.status(callStatus: "NO_ANSWER", dispositionLabel: "Quote sent", hasVoicemail: false) == .missed)
        #expect(HubSpotMapping.status(callStatus: "CANCELED", dispositionLabel: nil, hasVoicemail: nil) == .missed)
        #expect(HubSpotMapping.status(callStatus: "BUSY", dispositionLabel: nil, hasVoicemail: nil) == .busy)
        #expect(HubSpotMapping.status(callStatus: "completed", dispositionLabel: nil, hasVoicemail: nil) == .answered)
        #expect(HubSpotMapping.status(callStatus: nil, dispositionLabel: nil, hasVoicemail: nil) == .unknown)
    }

    @Test("Malformed or missing hs_timestamp is a MappingError naming the field", arguments: [
        "2024-02-30T25:61:00.000Z", "14/05/2024 6:30pm", "2024-05-14 18:30", "yesterday",
    ])
    func badTimestamp(text: String) throws {
        let reason = try #require(rejection(try withProperty("hs_timestamp", .string(text))))
        #expect(reason.contains("hs_timestamp"))
        #expect(reason.contains(text))
    }

    @Test("hs_timestamp absent (not requested) is refused; epoch milliseconds are read")
    func timestampForms() throws {
        #expect(rejection(try withProperty("hs_timestamp", nil))?.contains("hs_timestamp") == true)
        #expect(rejection(try withProperty("hs_timestamp", .null))?.contains("hs_timestamp") == true)
        let epoch = try map(withProperty("hs_timestamp", .string("1715711400000")))
        #expect(epoch.startedAt == (try Timestamp.utc("2024-05-14T18:30:00Z")))
        let bad = try withProperty("hs_lastmodifieddate", .string("soon"))
        #expect(rejection(bad)?.contains("hs_lastmodifieddate") == true)
        // Without hs_lastmodifieddate the envelope's updatedAt is the update time.
        let fallback = try map(withProperty("hs_lastmodifieddate", nil))
        #expect(fallback.sourceUpdatedAt == (try Timestamp.utc("2024-05-14T18:40:03.087Z")))
    }

    @Test("Not a call record: the webhook batch, a list page, an envelope without properties or id")
    func notACall() throws {
        #expect(rejection(try Fixture.json("hubspot.webhook.call-propertychange.sample"))?.contains("webhook") == true)
        #expect(rejection(try Fixture.json("hubspot.calls.page.sample"))?.contains("results") == true)
        #expect(rejection(.object(["id": .string("1")]))?.contains("properties") == true)
        let noID = try Fixture.json("hubspot.call.sample").setting("id", nil)
        #expect(try map(noID).sourceCallID == "51234567890")  // hs_object_id
        let none = noID.setting("properties", (noID["properties"] ?? .null).setting("hs_object_id", nil))
        #expect(rejection(none)?.contains("(id)") == true)
        #expect(rejection(.string("call")) != nil)
    }

    @Test("The revision changes with hs_lastmodifieddate and with a changed recording, not with unmapped properties")
    func revisions() throws {
        let base = try map(Fixture.json("hubspot.call.sample"))
        let body = try map(withProperty("hs_call_body", .string("<p>changed notes</p>")))
        #expect(EventIdentity.revision(of: base) == EventIdentity.revision(of: body))
        let later = try map(withProperty("hs_lastmodifieddate", .string("2024-05-15T09:00:00.000Z")))
        #expect(EventIdentity.revision(of: base) != EventIdentity.revision(of: later))
        #expect(EventIdentity.eventID(source: "hubspot", accountID: "20000001", callID: "51234567890")
                == CallEvent(content: later, channel: .poll, receivedAt: .now()).eventID)
    }
}
