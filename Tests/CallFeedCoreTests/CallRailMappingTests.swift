import CallFeedCore
import CallFeedTestSupport
import CallFeedVendors
import Foundation
import Testing

@Suite("CallRail mapping")
struct CallRailMappingTests {
    /// A CallRail source as configured by default: the account is always the context's.
    static let context = MappingContext(accountID: "123456789", timeZone: "UTC", defaultCountry: "US")
    /// The API id of the sample call; real webhook bodies carry it as `resource_id`.
    static let sampleCallID = "CAL00000000000000000000000000000001"

    private func map(_ payload: JSONValue, _ context: MappingContext = context) throws -> CallContent {
        try CallRailMapping.content(from: payload, context: context)
    }

    /// The reason a payload is rejected with (fails the test when it is accepted).
    private func rejection(_ payload: JSONValue, _ context: MappingContext = context) -> String? {
        do throws(MappingError) {
            let content = try CallRailMapping.content(from: payload, context: context)
            Issue.record("expected a MappingError, got a call \(content.sourceCallID)")
            return nil
        } catch {
            return error.reason
        }
    }

    /// The Post-Call sample as a current webhook sends it: with the API id in `resource_id`.
    static func webhookWithResourceID() throws -> JSONValue {
        try Fixture.json("callrail.webhook.post-call.sample").setting("resource_id", .string(sampleCallID))
    }

    @Test("API call record maps every field")
    func callRecord() throws {
        let content = try map(Fixture.json("callrail.call.sample"))
        #expect(content.source == "callrail")
        #expect(content.sourceAccountID == "123456789")
        #expect(content.sourceCallID == Self.sampleCallID)
        #expect(content.direction == .inbound)
        #expect(content.status == .answered)
        // 14:30:00.482 at -04:00
        #expect(content.startedAt == (try Timestamp.utc("2024-05-14T18:30:00.482Z")))
        #expect(content.endedAt == (try Timestamp.utc("2024-05-14T18:32:05.482Z")))
        #expect(content.durationSeconds == 125)
        #expect(content.talkSeconds == nil)  // CallRail has no talk/ring split
        #expect(content.ringSeconds == nil)
        #expect(content.callerNumber == "+15555550123")
        #expect(content.dialedNumber == "+15555550100")
        #expect(content.destinationNumber == "+15555550199")
        #expect(content.callerName == "JANE EXAMPLE")
        #expect(content.agent == CallContent.Agent(email: "alex.agent@example.com"))
        var tracking = CallContent.Tracking()
        tracking.campaignName = "Google Ads - Main"
        tracking.source = "Google Ads"
        tracking.medium = "CPC"
        tracking.campaign = "Spring Promo"
        tracking.term = "plumber near me"
        tracking.referrer = "https://www.google.com/"
        tracking.landingPage = "https://www.example.com/?gclid=EAIaIQobChMI-fake-gclid-0001"
        tracking.gclid = "EAIaIQobChMI-fake-gclid-0001"
        #expect(content.tracking == tracking)  // utm_content null: no content
        #expect(content.location == CallContent.Location(city: "Baltimore", region: "MD", country: "US"))
        #expect(content.recordingURL
                == "https://api.callrail.com/v3/a/123456789/calls/CAL00000000000000000000000000000001/recording.json")
        #expect(content.tags == ["new-lead", "quote"])
        #expect(content.firstCall == true)
        #expect(content.sourceUpdatedAt == nil)  // CallRail has no updated_at
    }

    @Test("Offset list page: an answered call and a voicemail with nulls")
    func offsetPage() throws {
        let answered = try map(Fixture.element(0, of: "callrail.calls.page.sample", under: "calls"))
        #expect(answered.sourceCallID == "CAL00000000000000000000000000000001")
        #expect(answered.status == .answered)
        #expect(answered.startedAt == (try Timestamp.utc("2024-05-14T18:30:00.482Z")))
        #expect(answered.tags == [])
        #expect(answered.firstCall == nil)
        #expect(answered.tracking == CallContent.Tracking())

        let voicemail = try map(Fixture.element(1, of: "callrail.calls.page.sample", under: "calls"))
        #expect(voicemail.sourceCallID == "CAL00000000000000000000000000000002")
        #expect(voicemail.direction == .inbound)
        #expect(voicemail.status == .voicemail)  // answered false, voicemail true
        #expect(voicemail.startedAt == (try Timestamp.utc("2024-05-14T19:05:12.010Z")))
        #expect(voicemail.endedAt == (try Timestamp.utc("2024-05-14T19:05:43.010Z")))
        #expect(voicemail.durationSeconds == 31)
        #expect(voicemail.callerNumber == "+15555550124")
        #expect(voicemail.callerName == nil)         // null
        #expect(voicemail.destinationNumber == nil)  // null
        #expect(voicemail.agent == CallContent.Agent())
        #expect(voicemail.location == CallContent.Location(city: "Towson", region: "MD", country: "US"))
    }

    @Test("Relative list page: null recording")
    func relativePage() throws {
        let content = try map(Fixture.element(0, of: "callrail.calls.relative-page.sample", under: "calls"))
        #expect(content.sourceCallID == "CAL00000000000000000000000000000001")
        #expect(content.recordingURL == nil)
        #expect(content.callerName == nil)
        #expect(content.location == CallContent.Location())
        #expect(content.durationSeconds == 125)
    }

    @Test("Webhook body with resource_id maps, string duration and legacy fields included")
    func webhookBody() throws {
        let content = try map(Self.webhookWithResourceID())
        #expect(content.sourceCallID == Self.sampleCallID)  // resource_id, not the legacy id 900000001
        #expect(content.sourceAccountID == "123456789")     // company_id 100000001 is not the account
        #expect(content.direction == .inbound)
        #expect(content.status == .answered)
        #expect(content.startedAt == (try Timestamp.utc("2024-05-14T18:30:00.482Z")))
        #expect(content.durationSeconds == 125)  // "125"
        #expect(content.endedAt == (try Timestamp.utc("2024-05-14T18:32:05.482Z")))
        #expect(content.callerNumber == "+15555550123")
        #expect(content.dialedNumber == "+15555550100")
        #expect(content.destinationNumber == "+15555550199")
        #expect(content.callerName == "JANE EXAMPLE")
        #expect(content.agent == CallContent.Agent())
        #expect(content.tracking.source == "google")  // no `source` in the body: utm_source
        #expect(content.tracking.medium == "CPC")
        #expect(content.tracking.term == "plumber near me")
        #expect(content.tracking.content == nil)      // ""
        #expect(content.tracking.landingPage == "https://www.example.com/")
        #expect(content.tracking.gclid == "EAIaIQobChMI-fake-gclid-0001")
        #expect(content.recordingURL
                == "https://app.callrail.com/calls/900000001/recording/redirect?access_key=fakeaccesskey0001")
        #expect(content.tags == [])
        #expect(content.firstCall == true)
    }

    @Test("Webhook body and API record of the same call give one event_id")
    func sameCallSameEventID() throws {
        let api = try map(Fixture.json("callrail.call.sample"))
        let webhook = try map(Self.webhookWithResourceID())
        let polled = CallEvent(content: api, channel: .poll, receivedAt: Timestamp(secondsSinceEpoch: 1_715_712_000))
        let pushed = CallEvent(content: webhook, channel: .webhook, receivedAt: Timestamp(secondsSinceEpoch: 1_715_711_600))
        #expect(polled.eventID == pushed.eventID)
        #expect(polled.eventID == EventIdentity.eventID(source: "callrail", accountID: "123456789", callID: Self.sampleCallID))
        // Different facts (tags, recording link, agent) are a different revision of the same call.
        #expect(polled.revision != pushed.revision)
        let otherAccount = try map(Fixture.json("callrail.call.sample"),
                                   MappingContext(accountID: "987654321", timeZone: "UTC", defaultCountry: "US"))
        #expect(CallEvent(content: otherAccount, channel: .poll, receivedAt: polled.receivedAt).eventID != polled.eventID)
    }

    @Test("A webhook with only the legacy numeric id is rejected, not keyed a second way")
    func legacyIDRejected() throws {
        let reason = rejection(try Fixture.json("callrail.webhook.post-call.sample"))
        #expect(reason?.hasPrefix("missing call id (resource_id): the webhook carries only the legacy numeric id 900000001") == true)
        // The published signature-vector body is such a legacy body too.
        #expect(rejection(try Fixture.json("callrail.signature-vector.body"))?.contains("766970532") == true)
        // A numeric id sent as a string is legacy as well.
        let asString = try Fixture.json("callrail.webhook.post-call.sample").setting("id", .string("900000001"))
        #expect(rejection(asString)?.hasPrefix("missing call id (resource_id)") == true)
    }

    @Test("Rejections: no id, not an object, list page, blank account, unparseable start_time")
    func rejections() throws {
        let record = try Fixture.json("callrail.call.sample")
        #expect(rejection(record.setting("id", nil)) == "missing call id (resource_id, id)")
        #expect(rejection(record.setting("id", .string(""))) == "missing call id (resource_id, id)")
        #expect(rejection(.array([record])) == "CallRail payload is an array, not a call object")
        #expect(rejection(try Fixture.json("callrail.calls.page.sample"))
                == "CallRail list page (calls), not a call object: map each element of calls")
        let blank = MappingContext(accountID: " ", timeZone: "UTC", defaultCountry: "US")
        #expect(rejection(record, blank) == "missing account id (context.accountID)")
        #expect(rejection(record.setting("start_time", .string("14/05/2024 2:30pm")))
                == "malformed date-time (start_time): \"14/05/2024 2:30pm\" is not ISO 8601 (YYYY-MM-DDTHH:MM:SS.sss±hh:mm)")
        #expect(rejection(record.setting("start_time", .string("2024-02-30T10:00:00-04:00")))?
            .hasPrefix("malformed date-time (start_time)") == true)
    }

    @Test("Times: offsets to UTC; zone-less text in the context's zone; absent or placeholder start rejected")
    func times() throws {
        let record = try Fixture.json("callrail.call.sample")
        let pacific = try map(record.setting("start_time", .string("2024-05-14T11:30:00.000-07:00")))
        #expect(pacific.startedAt == (try Timestamp.utc("2024-05-14T18:30:00Z")))
        let zoneless = record.setting("start_time", .string("2024-05-14T14:30:00"))
        let newYork = MappingContext(accountID: "123456789", timeZone: "America/New_York", defaultCountry: "US")
        #expect(try map(zoneless, newYork).startedAt == (try Timestamp.utc("2024-05-14T18:30:00Z")))
        // No start time: rejected with the reason every vendor gives (issue 20).
        #expect(rejection(record.setting("start_time", nil)) == "unparseable start time (start_time: absent)")
        #expect(rejection(record.setting("start_time", .null)) == "unparseable start time (start_time: null)")
        #expect(rejection(record.setting("start_time", .string("")))?.hasPrefix("unparseable start time") == true)
        #expect(rejection(record.setting("start_time", .string("0000-00-00T00:00:00.000-00:00")))?
            .hasPrefix("malformed date-time (start_time)") == true)
    }

    @Test("Status", arguments: [
        (nil, true, false, 125, CallContent.Status.answered),
        (nil, false, true, 31, .voicemail),
        (nil, false, false, 20, .missed),
        (nil, false, false, nil, .inProgress),  // duration null while the call is in progress
        (nil, nil, nil, 20, .unknown),
        ("answered", false, false, 20, .answered),
        ("missed", true, false, 20, .missed),
        ("abandonded", false, false, 3, .missed),  // the docs' spelling
        ("abandoned", false, false, 3, .missed),
        ("voicemail_transcription", false, false, 40, .voicemail),
        ("in_progress", false, false, nil, .inProgress),
        ("outbound", true, false, 60, .answered),  // outbound says nothing of the outcome
        ("outbound", false, false, 15, .missed),
    ] as [(String?, Bool?, Bool?, Int64?, CallContent.Status)])
    func status(callType: String?, answered: Bool?, voicemail: Bool?, duration: Int64?, expected: CallContent.Status) throws {
        let record = try Fixture.json("callrail.call.sample")
            .setting("call_type", callType.map(JSONValue.string))
            .setting("answered", answered.map(JSONValue.bool))
            .setting("voicemail", voicemail.map(JSONValue.bool))
            .setting("duration", duration.map(JSONValue.int))
        #expect(try map(record).status == expected)
    }

    @Test("Direction: direction, else call_type outbound")
    func direction() throws {
        let record = try Fixture.json("callrail.call.sample")
        #expect(try map(record.setting("direction", .string("outbound"))).direction == .outbound)
        #expect(try map(record.setting("direction", nil).setting("call_type", .string("outbound"))).direction == .outbound)
        #expect(try map(record.setting("direction", nil)).direction == .unknown)
    }

    @Test("Tags: objects or strings, sorted and de-duplicated")
    func tags() throws {
        let record = try Fixture.json("callrail.call.sample").setting("tags", .array([
            .object(["name": .string("quote"), "color": .string("red")]), .string("new-lead"), .string(" quote "),
            .object(["color": .string("blue")]),
        ]))
        #expect(try map(record).tags == ["new-lead", "quote"])
    }

    @Test("Legacy webhook keys fill in for missing modern ones; updated_at when present")
    func legacyFallbacks() throws {
        let body = try Self.webhookWithResourceID()
            .setting("customer_phone_number", .string("")).setting("tracking_phone_number", nil)
            .setting("customer_name", .string("")).setting("customer_city", nil)
            .setting("callercity", .string("Baltimore")).setting("destinationnum", .string("555-555-0199"))
            .setting("business_phone_number", .string(""))
            .setting("updated_at", .string("2024-05-14T15:00:00.250-04:00"))
        let content = try map(body)
        #expect(content.callerNumber == "+15555550123")       // callernum
        #expect(content.dialedNumber == "+15555550100")       // trackingnum
        #expect(content.destinationNumber == "+15555550199")  // destinationnum, national form
        #expect(content.callerName == "JANE EXAMPLE")         // callername
        #expect(content.location.city == "Baltimore")
        #expect(content.sourceUpdatedAt == (try Timestamp.utc("2024-05-14T19:00:00.250Z")))
    }

    @Test("Every CallRail sample maps to a schema-valid CallEvent on every channel")
    func schemaConformance() throws {
        let validator = try SchemaValidator.callEventV1()
        var samples: [(String, JSONValue)] = [
            ("callrail.call", try Fixture.json("callrail.call.sample")),
            ("callrail.webhook.post-call+resource_id", try Self.webhookWithResourceID()),
        ]
        for index in 0..<2 {
            samples.append(("callrail.calls.page[\(index)]", try Fixture.element(index, of: "callrail.calls.page.sample", under: "calls")))
        }
        samples.append(("callrail.calls.relative-page[0]",
                        try Fixture.element(0, of: "callrail.calls.relative-page.sample", under: "calls")))
        for (name, payload) in samples {
            let content = try map(payload)
            for channel in CallEvent.Channel.allCases {
                let event = CallEvent(content: content, channel: channel, receivedAt: Timestamp(millisecondsSinceEpoch: 1_715_720_000_123))
                let errors = validator.validate(bytes: event.jsonBytes())
                #expect(errors.isEmpty, "\(name) via \(channel): \(errors)")
                #expect(try CallEvent.decode(event.jsonBytes()) == event, "\(name) round trip")
            }
        }
    }
}
