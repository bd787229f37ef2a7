import CallFeedCore
import CallFeedVendors
import Testing

@Suite("CTM mapping")
struct CTMMappingTests {
    let context = Fixture.ctm

    private func map(_ payload: JSONValue, _ context: MappingContext? = nil) throws -> CallContent {
        try CTMMapping.content(from: payload, context: context ?? self.context)
    }

    /// The reason a payload is rejected with (fails the test when it is accepted).
    private func rejection(_ payload: JSONValue, _ context: MappingContext? = nil) -> String? {
        do throws(MappingError) {
            let content = try CTMMapping.content(from: payload, context: context ?? self.context)
            Issue.record("expected a MappingError, got a call \(content.sourceCallID)")
            return nil
        } catch {
            return error.reason
        }
    }

    @Test("Call record (API and webhook body) maps every field")
    func callRecord() throws {
        let content = try map(Fixture.json("ctm.call.sample"))
        #expect(content.source == "ctm")
        #expect(content.sourceAccountID == "12345")  // the payload's account_id, not the context's
        #expect(content.sourceCallID == "90000001")
        #expect(content.direction == .inbound)
        #expect(content.status == .answered)
        #expect(content.startedAt == (try Timestamp.utc("2024-05-14T18:30:00Z")))  // unix_time 1715711400
        #expect(content.endedAt == (try Timestamp.utc("2024-05-14T18:32:05Z")))
        #expect(content.durationSeconds == 125)
        #expect(content.talkSeconds == 110)
        #expect(content.ringSeconds == 15)
        #expect(content.callerNumber == "+15555550123")
        #expect(content.dialedNumber == "+15555550100")
        #expect(content.destinationNumber == "+15555550199")
        #expect(content.callerName == "Jane Example")
        #expect(content.agent == CallContent.Agent(id: "USR0000000000000000000000000000042", name: "Alex Agent",
                                                   email: "alex.agent@example.com"))
        var tracking = CallContent.Tracking()
        tracking.campaignID = "1111111111"
        tracking.campaignName = "Spring Promo"
        tracking.source = "Google Ads"
        tracking.medium = "cpc"
        tracking.campaign = "Spring Promo"
        tracking.term = "plumber near me"
        tracking.referrer = "https://www.google.com/"
        tracking.landingPage = "https://www.example.com/pricing"
        tracking.gclid = "EAIaIQobChMI-fake-gclid-0001"
        tracking.gaClientID = "1234567890.1715700000"
        #expect(content.tracking == tracking)
        #expect(content.location == CallContent.Location(city: "Baltimore", region: "MD", country: "US"))
        #expect(content.recordingURL == "https://api.calltrackingmetrics.com/api/v1/accounts/12345/calls/90000001/recording")
        #expect(content.tags == ["new-lead", "quote"])
        #expect(content.firstCall == true)
        #expect(content.sourceUpdatedAt == nil)
    }

    @Test("List page: an answered call and an unanswered one with nulls")
    func page() throws {
        let answered = try map(Fixture.element(0, of: "ctm.calls.page.sample", under: "calls"))
        #expect(answered.sourceCallID == "90000001")
        #expect(answered.status == .answered)
        #expect(answered.agent.email == "alex.agent@example.com")
        #expect(answered.tags == ["new-lead"])
        #expect(answered.callerName == nil)
        #expect(answered.firstCall == nil)

        let unanswered = try map(Fixture.element(1, of: "ctm.calls.page.sample", under: "calls"))
        #expect(unanswered.sourceCallID == "90000002")
        #expect(unanswered.status == .missed)  // "no answer"
        #expect(unanswered.startedAt == (try Timestamp.utc("2024-05-14T19:05:00Z")))
        #expect(unanswered.endedAt == (try Timestamp.utc("2024-05-14T19:05:22Z")))
        #expect(unanswered.durationSeconds == 22)
        #expect(unanswered.talkSeconds == 0)
        #expect(unanswered.ringSeconds == 22)
        #expect(unanswered.callerNumber == "+15555550124")
        #expect(unanswered.recordingURL == nil)          // audio: null
        #expect(unanswered.agent == CallContent.Agent())  // agent: null
        #expect(unanswered.tracking.source == "Google Organic")
        #expect(unanswered.tags == [])
    }

    @Test("Status words", arguments: [
        ("answered", nil, nil, CallContent.Status.answered),
        ("no answer", "no-answer", 0, .missed),
        ("missed", nil, nil, .missed),
        ("busy", "busy", 0, .busy),
        ("voicemail", nil, 20, .voicemail),
        ("failed", "failed", nil, .failed),
        ("in-progress", nil, nil, .inProgress),
        (nil, "no-answer", nil, .missed),       // dial_status when status is absent
        (nil, "canceled", nil, .missed),
        ("completed", "completed", 30, .answered),
        ("completed", "completed", 0, .unknown),
        ("sparkling", nil, 30, .unknown),
    ] as [(String?, String?, Int64?, CallContent.Status)])
    func status(status: String?, dialStatus: String?, talk: Int64?, expected: CallContent.Status) throws {
        let record = try Fixture.json("ctm.call.sample")
            .setting("status", status.map(JSONValue.string))
            .setting("dial_status", dialStatus.map(JSONValue.string))
            .setting("talk_time", talk.map(JSONValue.int))
        #expect(try map(record).status == expected)
    }

    @Test("Direction words", arguments: [
        ("inbound", CallContent.Direction.inbound), ("outbound", .outbound), ("msg_inbound", .unknown), ("", .unknown),
    ])
    func direction(text: String, expected: CallContent.Direction) throws {
        let record = try Fixture.json("ctm.call.sample").setting("direction", .string(text))
        #expect(try map(record).direction == expected)
    }

    @Test("On outbound calls the customer is contact_number")
    func outboundCustomer() throws {
        let record = try Fixture.json("ctm.call.sample")
            .setting("direction", .string("outbound"))
            .setting("caller_number", .string("+15555550100"))
            .setting("contact_number", .string("(555) 555-0177"))
        let content = try map(record)
        #expect(content.direction == .outbound)
        #expect(content.callerNumber == "+15555550177")
    }

    @Test("Account: account_id when present, else the context's")
    func account() throws {
        let record = try Fixture.json("ctm.call.sample")
        #expect(try map(record).sourceAccountID == "12345")
        #expect(try map(record.setting("account_id", nil)).sourceAccountID == "ctm-fallback")
        let blank = MappingContext(accountID: "", timeZone: "UTC", defaultCountry: "US")
        #expect(rejection(record.setting("account_id", nil), blank) == "missing account id (account_id, context.accountID)")
    }

    @Test("Rejections: no id, not an object, malformed unix_time")
    func rejections() throws {
        let record = try Fixture.json("ctm.call.sample")
        #expect(rejection(record.setting("id", nil)) == "missing call id (id)")
        #expect(rejection(record.setting("id", .string(" "))) == "missing call id (id)")
        #expect(rejection(.array([record])) == "CTM payload is an array, not a call object")
        #expect(rejection(try Fixture.json("ctm.calls.page.sample")) == "missing call id (id)")
        #expect(rejection(record.setting("unix_time", .string("yesterday")))
                == "malformed start time (unix_time): \"yesterday\" is not epoch seconds")
    }

    @Test("Missing unix_time: called_at gives the start (its own offset)")
    func missingUnixTimeFallsBackToCalledAt() throws {
        let content = try map(try Fixture.json("ctm.call.sample").setting("unix_time", nil))
        #expect(content.startedAt == (try Timestamp.utc("2024-05-14T18:30:00Z")))   // 02:30 PM -04:00
        #expect(content.endedAt == (try Timestamp.utc("2024-05-14T18:32:05Z")))
        #expect(content.durationSeconds == 125)
        #expect(CTMMapping.calledAt("2024-05-14 12:05 AM +05:30") == (try Timestamp.utc("2024-05-13T18:35:00Z")))
        #expect(CTMMapping.calledAt("2024-05-14 12:05 PM -00:00") == (try Timestamp.utc("2024-05-14T12:05:00Z")))
        #expect(CTMMapping.calledAt("2024-02-30 01:00 PM -04:00") == nil)
        #expect(CTMMapping.calledAt("2024-05-14 13:00 PM -04:00") == nil)
    }

    /// Issue 20: `"unix_time": null` and `"called_at": "Invalid date"` (seen from a CTM-compatible
    /// API) must be rejected, never loaded with an empty started_at.
    @Test("No start time at all is a rejection, not a NULL started_at")
    func noStartTimeIsRejected() throws {
        let record = try Fixture.json("ctm.call.sample")
        #expect(rejection(record.setting("unix_time", .null).setting("called_at", .string("Invalid date")))
                == "unparseable start time (unix_time: null, called_at: \"Invalid date\")")
        #expect(rejection(record.setting("unix_time", nil).setting("called_at", nil))
                == "unparseable start time (unix_time: absent, called_at: absent)")
        #expect(rejection(record.setting("unix_time", .int(0)).setting("called_at", .string("")))
                == "unparseable start time (unix_time: 0, called_at: \"\")")
    }

    @Test("Fallbacks: cnam for the name, agent_id for a null agent; updated_at when present")
    func fallbacks() throws {
        let record = try Fixture.json("ctm.call.sample")
            .setting("name", .string("")).setting("agent", .null)
            .setting("updated_at", .string("2024-05-14T15:00:00-04:00"))
        let content = try map(record)
        #expect(content.callerName == "EXAMPLE JANE")
        #expect(content.agent == CallContent.Agent(id: "USR0000000000000000000000000000042"))
        #expect(content.sourceUpdatedAt == (try Timestamp.utc("2024-05-14T19:00:00Z")))
    }

    @Test("Tags are sorted and de-duplicated")
    func tags() throws {
        let record = try Fixture.json("ctm.call.sample")
            .setting("tag_list", .array([.string("quote"), .string("new-lead"), .string("quote")]))
        #expect(try map(record).tags == ["new-lead", "quote"])
    }
}
