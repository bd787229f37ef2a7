import CallFeedCore
import CallFeedVendors
import Testing

@Suite("CallKeeper mapping")
struct CallKeeperMappingTests {
    let context = Fixture.callKeeper

    private func map(_ payload: JSONValue, _ context: MappingContext? = nil) throws -> CallContent {
        try CallKeeperMapping.content(from: payload, context: context ?? self.context)
    }

    /// The reason a payload is rejected with (fails the test when it is accepted).
    private func rejection(_ payload: JSONValue, _ context: MappingContext? = nil) -> String? {
        do throws(MappingError) {
            let content = try CallKeeperMapping.content(from: payload, context: context ?? self.context)
            Issue.record("expected a MappingError, got a call \(content.sourceCallID)")
            return nil
        } catch {
            return error.reason
        }
    }

    // MARK: - Samples

    @Test("API call record (calltracking sample) maps every field")
    func apiCallRecord() throws {
        let content = try map(Fixture.json("callkeeper.call.sample"))
        #expect(content.source == "callkeeper")
        #expect(content.sourceAccountID == "ck-tenant-1")
        #expect(content.sourceCallID == "ct:700123")  // cbCallId is 0
        #expect(content.direction == .inbound)
        #expect(content.status == .answered)
        #expect(content.startedAt == (try Timestamp.utc("2024-05-14T11:30:00Z")))
        #expect(content.endedAt == (try Timestamp.utc("2024-05-14T11:32:05Z")))
        #expect(content.durationSeconds == 125)
        #expect(content.talkSeconds == 125)
        #expect(content.ringSeconds == nil)
        #expect(content.callerNumber == "+79990000123")
        #expect(content.dialedNumber == "+74950000100")
        #expect(content.destinationNumber == "+74950000199")
        #expect(content.callerName == nil)
        #expect(content.agent == CallContent.Agent())
        var tracking = CallContent.Tracking()
        tracking.campaignID = "1001"
        tracking.campaignName = "Yandex Direct"
        tracking.source = "yandex"
        tracking.medium = "cpc"
        tracking.campaign = "spring_promo"
        tracking.content = "ad_01"
        tracking.term = "santehnik"
        tracking.referrer = "https://yandex.ru/"
        tracking.landingPage = "https://example.ru/"
        tracking.gaClientID = "1234567890.1715680000"
        #expect(content.tracking == tracking)
        #expect(content.location == CallContent.Location(city: "Москва", region: "Москва", country: "Россия"))
        #expect(content.recordingURL == "https://ckct.ru/records/fake/40000000000000123.mp3")
        #expect(content.tags == ["new-lead"])
        #expect(content.firstCall == true)
        #expect(content.sourceUpdatedAt == nil)
    }

    @Test("API page: a calltracking record with blanks and a missed callback record")
    func apiPage() throws {
        let first = try map(Fixture.element(0, of: "callkeeper.calls.page.sample"))
        #expect(first.sourceCallID == "ct:700123")
        #expect(first.status == .answered)
        #expect(first.tracking.campaign == "spring_promo")
        #expect(first.tracking.content == nil)  // "" in the sample
        #expect(first.tracking.term == nil)
        #expect(first.tags == [])
        #expect(first.firstCall == nil)         // no `unique` key

        let callback = try map(Fixture.element(1, of: "callkeeper.calls.page.sample"))
        #expect(callback.sourceCallID == "10000001")
        #expect(callback.direction == .outbound)
        #expect(callback.status == .missed)     // 200/487: the client did not answer
        #expect(callback.startedAt == (try Timestamp.utc("2024-05-14T12:05:10Z")))
        #expect(callback.durationSeconds == 0)  // a true zero: the call never connected
        #expect(callback.endedAt == callback.startedAt)
        #expect(callback.callerNumber == "+79990000124")
        #expect(callback.dialedNumber == "+74950000100")
        #expect(callback.destinationNumber == "+74950000199")
        #expect(callback.recordingURL == nil)   // ""
        #expect(callback.tracking == CallContent.Tracking())
    }

    @Test("Webhookcall body (after call finish) maps every field")
    func webhookCall() throws {
        let content = try map(Fixture.json("callkeeper.webhook.after-call-finish.sample"))
        #expect(content.source == "callkeeper")
        #expect(content.sourceAccountID == "ck-tenant-1")
        #expect(content.sourceCallID == "10000001")
        #expect(content.direction == .outbound)
        #expect(content.status == .answered)
        #expect(content.startedAt == (try Timestamp.utc("2024-05-14T12:05:10Z")))
        #expect(content.endedAt == (try Timestamp.utc("2024-05-14T12:06:45Z")))
        #expect(content.durationSeconds == 95)
        #expect(content.talkSeconds == 95)
        #expect(content.callerNumber == "+79990000124")
        #expect(content.destinationNumber == "+74950000199")
        #expect(content.dialedNumber == nil)
        var tracking = CallContent.Tracking()
        tracking.source = "yandex"
        tracking.medium = "cpc"
        tracking.campaign = "spring_promo"
        tracking.gaClientID = "1234567890.1715680000"
        #expect(content.tracking == tracking)
        #expect(content.location == CallContent.Location(city: "Москва", region: "Москва", country: "RU"))
        #expect(content.recordingURL == "https://callkeeper.ru/records/fake/10000001.mp3")
        #expect(content.tags == [])
        #expect(content.firstCall == nil)
    }

    @Test("The start-of-call Webhookcall is an in-progress update")
    func webhookCallStart() throws {
        let start = try Fixture.json("callkeeper.webhook.after-call-finish.sample")
            .setting("hook_event", .string("Call is processing"))
            .setting("status_code", .int(0)).setting("status2_code", .int(0))
            .setting("duration_sec", .int(0)).setting("record_url", .string(""))
        let content = try map(start)
        #expect(content.sourceCallID == "10000001")
        #expect(content.status == .inProgress)
        #expect(content.durationSeconds == nil)
        #expect(content.endedAt == nil)
        #expect(content.recordingURL == nil)
    }

    // MARK: - Rejections

    @Test("The ckct calltracking webhook has no call id and is rejected")
    func calltrackingWebhookRejected() throws {
        let reason = try #require(rejection(Fixture.json("callkeeper.webhook.calltracking.sample")))
        #expect(reason.contains("missing call id"))
        #expect(reason.contains("calltracking webhook"))
    }

    @Test("An API error envelope is rejected with its message")
    func errorEnvelopeRejected() throws {
        let reason = try #require(rejection(Fixture.json("callkeeper.error.sample")))
        #expect(reason.contains("Incorrect page is set"))
    }

    @Test("Non-objects are rejected", arguments: [
        JSONValue.array([]), .string("79990000123"), .int(10000001), .null, .bool(true),
    ])
    func nonObjectRejected(payload: JSONValue) throws {
        let reason = try #require(rejection(payload))
        #expect(reason.contains("not a call object"))
    }

    @Test("A whole API page is not one call")
    func pageRejected() throws {
        let reason = try #require(rejection(Fixture.json("callkeeper.calls.page.sample")))
        #expect(reason == "CallKeeper payload is an array, not a call object")
    }

    @Test("Objects without a usable call id are rejected")
    func missingCallID() throws {
        #expect(rejection(.object([:]))?.hasPrefix("missing call id") == true)
        #expect(rejection(.object(["city": .string("Москва")]))?.hasPrefix("missing call id") == true)

        let record = try Fixture.json("callkeeper.call.sample")
            .setting("cbCallId", .int(0)).setting("ctCallId", .int(0)).setting("universalId", .string(""))
        #expect(rejection(record) == "missing call id (cbCallId, ctCallId and universalId are all empty)")

        let webhook = try Fixture.json("callkeeper.webhook.after-call-finish.sample")
        #expect(rejection(webhook.setting("id", nil)) == "missing call id (id)")
        #expect(rejection(webhook.setting("id", .string(""))) == "missing call id (id)")
        #expect(rejection(webhook.setting("id", .int(0))) == "missing call id (id)")
    }

    @Test("An empty account id is rejected")
    func missingAccount() throws {
        let blank = MappingContext(accountID: " ", timeZone: "UTC", defaultCountry: "RU")
        #expect(rejection(try Fixture.json("callkeeper.call.sample"), blank) == "missing account id (context.accountID)")
    }

    // MARK: - Identity

    @Test("API call ids: cbCallId, then ct:ctCallId, then u:universalId")
    func apiCallIDPrecedence() throws {
        let record = try Fixture.json("callkeeper.call.sample")
        #expect(try map(record.setting("cbCallId", .int(555))).sourceCallID == "555")
        #expect(try map(record).sourceCallID == "ct:700123")
        #expect(try map(record.setting("ctCallId", .int(0))).sourceCallID == "u:40000000000000123")
        #expect(try map(record.setting("ctCallId", .string("0"))).sourceCallID == "u:40000000000000123")
    }

    // MARK: - Status and duration

    @Test("Status comes from both leg codes", arguments: [
        (200, 200, CallContent.Status.answered),
        (1, 0, .inProgress), (2, 0, .inProgress),
        (200, 487, .missed), (487, 0, .missed), (480, 0, .missed),
        (200, 486, .busy), (486, 0, .busy),
        (790, 0, .failed), (811, 0, .failed), (815, 0, .failed),
        (101, 200, .unknown), (200, 0, .unknown), (603, 0, .unknown),
    ] as [(Int64, Int64, CallContent.Status)])
    func statusPairs(first: Int64, second: Int64, expected: CallContent.Status) throws {
        let record = try Fixture.json("callkeeper.call.sample")
            .setting("statusFirst", .int(first)).setting("statusSecond", .int(second))
        #expect(try map(record).status == expected)

        let webhook = try Fixture.json("callkeeper.webhook.after-call-finish.sample")
            .setting("status_code", .int(first)).setting("status2_code", .int(second))
        #expect(try map(webhook).status == expected)
    }

    @Test("Codes 1 and 0 in raw JSON are read as numbers, not booleans")
    func rawJSONCodes() throws {
        let body = #"{"id": 10000002, "hook_event": "Call is over", "status_code": 1, "status2_code": 0, "duration_sec": 0, "date_timestamp": 1715688310}"#
        let content = try map(try JSONValue.parse(Array(body.utf8)))
        #expect(content.sourceCallID == "10000002")
        #expect(content.status == .inProgress)
        #expect(content.durationSeconds == nil)
    }

    @Test("Without leg codes the API's `status: success` still means answered")
    func statusFallback() throws {
        let record = try Fixture.json("callkeeper.call.sample").setting("statusFirst", nil).setting("statusSecond", nil)
        #expect(try map(record).status == .answered)
        #expect(try map(record.setting("status", .string("fail"))).status == .unknown)
    }

    @Test("Service type decides the direction", arguments: [
        ("callback", CallContent.Direction.outbound), ("calltracking", .inbound), ("import", .unknown), ("", .unknown),
    ])
    func direction(serviceType: String, expected: CallContent.Direction) throws {
        let record = try Fixture.json("callkeeper.call.sample").setting("serviceType", .string(serviceType))
        #expect(try map(record).direction == expected)
    }

    @Test("Duration 0 is unknown on answered calls")
    func zeroDurationOnAnsweredCall() throws {
        let content = try map(try Fixture.json("callkeeper.call.sample").setting("duration", .int(0)))
        #expect(content.status == .answered)
        #expect(content.durationSeconds == nil)
        #expect(content.talkSeconds == nil)
        #expect(content.endedAt == nil)
        #expect(content.startedAt != nil)
    }

    // MARK: - Times

    @Test("callTime is read in the context's time zone", arguments: [
        ("UTC", "2024-05-14 11:30:00", "2024-05-14T11:30:00Z"),
        ("Europe/Moscow", "2024-05-14 11:30:00", "2024-05-14T08:30:00Z"),
        ("America/New_York", "2024-05-14 11:30:00", "2024-05-14T15:30:00Z"),  // EDT, UTC-4
        ("America/New_York", "2024-01-15 11:30:00", "2024-01-15T16:30:00Z"),  // EST, UTC-5
        ("Europe/Moscow", "2024-01-01 01:00:00", "2023-12-31T22:00:00Z"),     // across the year
    ])
    func callTimeZones(zone: String, callTime: String, expected: String) throws {
        let record = try Fixture.json("callkeeper.call.sample").setting("callTime", .string(callTime))
        let context = MappingContext(accountID: "ck-tenant-1", timeZone: zone, defaultCountry: "RU")
        let content = try map(record, context)
        #expect(content.startedAt == (try Timestamp.utc(expected)))
        #expect(content.endedAt == content.startedAt?.adding(seconds: 125))
    }

    @Test("Webhook: date_timestamp wins; without it `date` is read in the context's zone")
    func webhookTimes() throws {
        let webhook = try Fixture.json("callkeeper.webhook.after-call-finish.sample")
        let moscow = MappingContext(accountID: "ck-tenant-1", timeZone: "Europe/Moscow", defaultCountry: "RU")
        #expect(try map(webhook, moscow).startedAt == (try Timestamp.utc("2024-05-14T12:05:10Z")))

        let dateOnly = webhook.setting("date_timestamp", nil)
        #expect(try map(dateOnly).startedAt == (try Timestamp.utc("2024-05-14T12:05:10Z")))
        #expect(try map(dateOnly, moscow).startedAt == (try Timestamp.utc("2024-05-14T09:05:10Z")))
    }

    @Test("A call without a start time is rejected, not loaded with an empty started_at (issue 20)")
    func missingCallTime() throws {
        let record = try Fixture.json("callkeeper.call.sample")
        #expect(rejection(record.setting("callTime", .string(""))) == "unparseable start time (callTime: \"\")")
        #expect(rejection(record.setting("callTime", .string("0000-00-00 00:00:00")))
                == "unparseable start time (callTime: \"0000-00-00 00:00:00\")")
        #expect(rejection(record.setting("callTime", nil)) == "unparseable start time (callTime: absent)")
        #expect(rejection(record.setting("callTime", .null)) == "unparseable start time (callTime: null)")

        let webhook = try Fixture.json("callkeeper.webhook.after-call-finish.sample")
        #expect(rejection(webhook.setting("date_timestamp", .int(0)).setting("date", .string("0000-00-00 00:00:00")))
                == "unparseable start time (date_timestamp: 0, date: \"0000-00-00 00:00:00\")")
        #expect(rejection(webhook.setting("date_timestamp", nil).setting("date", nil))
                == "unparseable start time (date_timestamp: absent, date: absent)")
        // Either one alone is enough.
        #expect(try map(webhook.setting("date", nil)).startedAt == (try Timestamp.utc("2024-05-14T12:05:10Z")))
    }

    @Test("Malformed times and unknown zones are rejected")
    func badTimes() throws {
        let record = try Fixture.json("callkeeper.call.sample")
        #expect(rejection(record.setting("callTime", .string("14.05.2024 11:30")))
                == "malformed date-time (callTime): \"14.05.2024 11:30\" is not YYYY-MM-DD HH:MM:SS")
        let mars = MappingContext(accountID: "ck-tenant-1", timeZone: "Mars/Olympus_Mons", defaultCountry: "RU")
        #expect(rejection(record, mars)?.hasPrefix("unknown time zone \"Mars/Olympus_Mons\"") == true)
    }

    // MARK: - Tags

    @Test("Tags are trimmed, de-duplicated and sorted; webhook tags may be a comma list")
    func tags() throws {
        let record = try Fixture.json("callkeeper.call.sample")
            .setting("tags", .array([.string("quote"), .string(" new-lead "), .string("quote"), .string(""), .string("a")]))
        #expect(try map(record).tags == ["a", "new-lead", "quote"])

        let webhook = try Fixture.json("callkeeper.webhook.after-call-finish.sample")
            .setting("tags", .string("quote, new-lead,,quote"))
        #expect(try map(webhook).tags == ["new-lead", "quote"])
    }
}
