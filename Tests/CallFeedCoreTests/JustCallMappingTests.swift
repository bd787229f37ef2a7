import CallFeedCore
import CallFeedTestSupport
import CallFeedVendors
import Foundation
import Testing

@Suite("JustCall mapping")
struct JustCallMappingTests {
    /// A JustCall source as configured by default: the account is always the context's. The zone is
    /// deliberately not UTC: JustCall's `call_date`/`call_time` are UTC whatever it says.
    static let context = MappingContext(accountID: "jc-account-1", timeZone: "America/Los_Angeles", defaultCountry: "US")

    private func map(_ payload: JSONValue, _ context: MappingContext = context) throws -> CallContent {
        try JustCallMapping.content(from: payload, context: context)
    }

    /// The reason a payload is rejected with (fails the test when it is accepted).
    private func rejection(_ payload: JSONValue, _ context: MappingContext = context) -> String? {
        do throws(MappingError) {
            let content = try JustCallMapping.content(from: payload, context: context)
            Issue.record("expected a MappingError, got a call \(content.sourceCallID)")
            return nil
        } catch {
            return error.reason
        }
    }

    /// The sample call object with `call_info.key` set.
    private func withInfo(_ key: String, _ value: JSONValue?) throws -> JSONValue {
        let call = try Fixture.json("justcall.call.sample")
        return call.setting("call_info", (call["call_info"] ?? .null).setting(key, value))
    }

    @Test("Call object maps every field")
    func callObject() throws {
        let content = try map(Fixture.json("justcall.call.sample"))
        #expect(content.source == "justcall")
        #expect(content.sourceAccountID == "jc-account-1")
        #expect(content.sourceCallID == "918273645")
        #expect(content.direction == .inbound)   // Incoming
        #expect(content.status == .answered)     // Answered
        #expect(content.startedAt == (try Timestamp.utc("2024-05-14T18:30:00Z")))  // UTC, not the user's 11:30
        #expect(content.endedAt == (try Timestamp.utc("2024-05-14T18:32:05Z")))
        #expect(content.durationSeconds == 125)  // total_duration
        #expect(content.talkSeconds == 110)      // conversation_time
        #expect(content.ringSeconds == 12)
        #expect(content.callerNumber == "+15555550123")  // "15555550123"
        #expect(content.dialedNumber == "+15555550199")  // justcall_number
        #expect(content.destinationNumber == nil)
        #expect(content.callerName == "Pat Example")
        #expect(content.agent == CallContent.Agent(id: "40112", name: "Alex Agent", email: "alex.agent@example.com"))
        #expect(content.tracking == CallContent.Tracking())  // JustCall has no attribution
        #expect(content.location == CallContent.Location())
        #expect(content.recordingURL == "https://recordings.example.invalid/justcall/918273645.mp3")
        #expect(content.tags == ["Appointment booked"])  // the disposition
        #expect(content.firstCall == nil)
        #expect(content.sourceUpdatedAt == nil)
    }

    @Test("List page: the answered call and a missed one with blanks")
    func page() throws {
        let answered = try map(Fixture.element(0, of: "justcall.calls.page.sample", under: "data"))
        #expect(answered == (try map(Fixture.json("justcall.call.sample"))))

        let missed = try map(Fixture.element(1, of: "justcall.calls.page.sample", under: "data"))
        #expect(missed.sourceCallID == "918273601")
        #expect(missed.direction == .inbound)
        #expect(missed.status == .missed)
        #expect(missed.startedAt == (try Timestamp.utc("2024-05-14T18:12:41Z")))
        #expect(missed.endedAt == (try Timestamp.utc("2024-05-14T18:12:41Z")))
        #expect(missed.durationSeconds == 0)
        #expect(missed.talkSeconds == 0)
        #expect(missed.ringSeconds == 25)
        #expect(missed.callerNumber == "+15555550145")
        #expect(missed.callerName == nil)    // ""
        #expect(missed.recordingURL == nil)  // ""
        #expect(missed.tags == [])           // disposition ""
    }

    @Test("call.completed webhook: data is the call object, so the same event and revision as the API record")
    func webhook() throws {
        let webhook = try map(Fixture.json("justcall.webhook.call-completed.sample"))
        let api = try map(Fixture.json("justcall.call.sample"))
        #expect(webhook.sourceCallID == "918273645")
        #expect(webhook == api)
        let pushed = CallEvent(content: webhook, channel: .webhook, receivedAt: Timestamp(secondsSinceEpoch: 1_715_711_590))
        let polled = CallEvent(content: api, channel: .poll, receivedAt: Timestamp(secondsSinceEpoch: 1_715_712_000))
        #expect(pushed.eventID == polled.eventID)
        #expect(pushed.eventID == EventIdentity.eventID(source: "justcall", accountID: "jc-account-1", callID: "918273645"))
        #expect(pushed.revision == polled.revision)
    }

    @Test("Webhook types: call events map, other types are rejected")
    func webhookTypes() throws {
        let body = try Fixture.json("justcall.webhook.call-completed.sample")
        #expect(try map(body.setting("type", .string("call.updated"))).sourceCallID == "918273645")
        for type in ["sms.received", "jc.contact_status_updated", "sd.call_completed", "jc.call_ai_generated"] {
            let reason = rejection(body.setting("type", .string(type)))
            #expect(reason?.hasPrefix("JustCall webhook type \"\(type)\" is not a call event") == true, "\(type)")
        }
        // Early events without an outcome in the call object.
        let data = try #require(body["data"])
        let info = try #require(data["call_info"]).setting("type", .string(""))
        let early = body.setting("data", data.setting("call_info", info))
        #expect(try map(early.setting("type", .string("call.incoming"))).status == .inProgress)
        #expect(try map(early.setting("type", .string("call.voicemail"))).status == .voicemail)
        #expect(try map(early.setting("type", .string("call.completed"))).status == .unknown)
    }

    @Test("Status from call_info.type (call_info.status is the archive flag)", arguments: [
        ("Answered", CallContent.Status.answered), ("Missed", .missed), ("Voicemail", .voicemail),
        ("Unanswered", .missed), ("Abandoned before ringing", .missed), ("In Progress", .inProgress),
        ("INCOMING_BUSY", .busy), ("OUTGOING_FAILED", .failed), ("OUTGOING_CANCELLED", .missed),
        ("INCOMING_VOICEMAIL", .voicemail), ("Sparkling", .unknown),
    ])
    func status(type: String, expected: CallContent.Status) throws {
        let record = try withInfo("type", .string(type))
        #expect(try map(record).status == expected)
    }

    @Test("No type but a missed_call_reason is missed; Archived does not matter")
    func missedReason() throws {
        let call = try Fixture.json("justcall.call.sample")
        let info = try #require(call["call_info"])
            .setting("type", nil).setting("missed_call_reason", .string("After business hours"))
            .setting("status", .string("Archived"))
        #expect(try map(call.setting("call_info", info)).status == .missed)
    }

    @Test("Direction words", arguments: [
        ("Incoming", CallContent.Direction.inbound), ("Outgoing", .outbound), ("", .unknown), ("sideways", .unknown),
    ])
    func direction(text: String, expected: CallContent.Direction) throws {
        #expect(try map(withInfo("direction", .string(text))).direction == expected)
    }

    @Test("Times: unpadded hour; an absent, malformed or half-present pair rejected")
    func times() throws {
        let call = try Fixture.json("justcall.call.sample")
        #expect(try map(call.setting("call_time", .string("8:25:43"))).startedAt == (try Timestamp.utc("2024-05-14T08:25:43Z")))
        // No start time: rejected with the reason every vendor gives (issue 20).
        #expect(rejection(call.setting("call_date", nil).setting("call_time", .string("")))
                == "unparseable start time (call_date: absent, call_time: \"\")")
        #expect(rejection(call.setting("call_date", .null).setting("call_time", .null))
                == "unparseable start time (call_date: null, call_time: null)")
        #expect(rejection(call.setting("call_date", .string("0000-00-00")).setting("call_time", .string("00:00:00")))?
            .hasPrefix("malformed date-time (call_date, call_time)") == true)
        #expect(rejection(call.setting("call_date", .string("2024-13-45")).setting("call_time", .string("25:99:00")))
                == "malformed date-time (call_date, call_time): \"2024-13-45 25:99:00\" is not YYYY-MM-DD HH:MM:SS")
        #expect(rejection(call.setting("call_time", .string("6pm")))
                == "malformed date-time (call_date, call_time): \"2024-05-14 6pm\" is not YYYY-MM-DD HH:MM:SS")
        #expect(rejection(call.setting("call_time", nil)) == "malformed date-time (call_date, call_time): call_time is missing")
    }

    @Test("Numbers: country-code digits get a +, national and odd forms as the shared rules say")
    func numbers() throws {
        let call = try Fixture.json("justcall.call.sample")
        func caller(_ raw: String) throws -> String? { try map(call.setting("contact_number", .string(raw))).callerNumber }
        #expect(try caller("447911123456") == "+447911123456")  // GB
        #expect(try caller("919876543210") == "+919876543210")  // a country without a plan: + prepended
        #expect(try caller("+15555550123") == "+15555550123")
        #expect(try caller("5555550123") == "+15555550123")    // national, default country US
        #expect(try caller("ask-for-bob") == "ask-for-bob")    // kept as sent
        #expect(try caller("") == nil)
        #expect(try map(call.setting("agent_id", .int(0))).agent.id == nil)
    }

    @Test("Rejections: no id (even with a call_sid), not an object, list page, blank account")
    func rejections() throws {
        let call = try Fixture.json("justcall.call.sample")
        #expect(rejection(call.setting("id", nil).setting("call_sid", nil)) == "missing call id (id)")
        #expect(rejection(call.setting("id", .int(0)).setting("call_sid", .string(""))) == "missing call id (id)")
        #expect(rejection(call.setting("id", .string("")))
                == "missing call id (id): only call_sid CA0f3b5c1e2d4a6b8c9d0e1f2a3b4c5d6e is set, which the API record "
                + "is not keyed by; the call's later events and the API poll carry the id")
        let webhook = try Fixture.json("justcall.webhook.call-completed.sample")
        let data = try #require(webhook["data"])
        #expect(rejection(webhook.setting("data", data.setting("id", nil)))?.hasPrefix("missing call id (id)") == true)
        #expect(rejection(.string("call")) == "JustCall payload is a string, not a call object")
        #expect(rejection(try Fixture.json("justcall.calls.page.sample"))
                == "JustCall list page (data), not a call object: map each element of data")
        #expect(rejection(call, MappingContext(accountID: "", timeZone: "UTC", defaultCountry: "US"))
                == "missing account id (context.accountID)")
    }

    @Test("Disposition as tags: split on commas, trimmed")
    func disposition() throws {
        #expect(try map(withInfo("disposition", .string("Quote sent, Follow up ,Quote sent"))).tags == ["Follow up", "Quote sent"])
    }

    @Test("Every JustCall sample maps to a schema-valid CallEvent on every channel")
    func schemaConformance() throws {
        let validator = try SchemaValidator.callEventV1()
        var samples: [(String, JSONValue)] = [
            ("justcall.call", try Fixture.json("justcall.call.sample")),
            ("justcall.webhook.call-completed", try Fixture.json("justcall.webhook.call-completed.sample")),
        ]
        for index in 0..<2 {
            samples.append(("justcall.calls.page[\(index)]", try Fixture.element(index, of: "justcall.calls.page.sample", under: "data")))
        }
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
