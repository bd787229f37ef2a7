import CallFeedCore

/// Events and entity records for the warehouse tests (SQLite and the server sinks).
public enum WarehouseFixtures {
    /// 2024-05-01 at the given UTC time.
    public static func may1(_ hour: Int, _ minute: Int = 0, _ second: Int = 0, millisecond: Int = 0) -> Timestamp {
        Timestamp(year: 2024, month: 5, day: 1, hour: hour, minute: minute, second: second, millisecond: millisecond)!
    }

    /// A small event. Different `duration` or `status` give a different revision of the same call.
    public static func event(callID: String = "call-1", status: CallContent.Status = .answered, duration: Int64? = 60,
                             callerName: String? = nil, sourceUpdatedAt: Timestamp? = nil,
                             channel: CallEvent.Channel = .webhook, receivedAt: Timestamp) -> CallEvent {
        var content = CallContent(source: "ctm", sourceAccountID: "acct-1", sourceCallID: callID,
                                  direction: .inbound, status: status)
        content.startedAt = may1(9)
        content.durationSeconds = duration
        content.callerName = callerName
        content.sourceUpdatedAt = sourceUpdatedAt
        return CallEvent(content: content, channel: channel, receivedAt: receivedAt)
    }

    /// An event with every field of CallContent set.
    public static func richEvent() -> CallEvent {
        var content = CallContent(source: "ctm", sourceAccountID: "acct-9", sourceCallID: "CA123",
                                  direction: .inbound, status: .answered)
        content.startedAt = may1(10)
        content.endedAt = may1(10, 2, 5, millisecond: 250)
        content.durationSeconds = 125
        content.talkSeconds = 110
        content.ringSeconds = 15
        content.callerNumber = "+15551230000"
        content.dialedNumber = "+15559870000"
        content.destinationNumber = "+15550001111"
        content.callerName = "Jane \"JJ\" Doe"
        content.agent = CallContent.Agent(id: "a-7", name: "Sam Agent", email: "sam@example.com")
        content.tracking.campaignID = "cmp-1"
        content.tracking.campaignName = "Spring Sale"
        content.tracking.source = "google"
        content.tracking.medium = "cpc"
        content.tracking.campaign = "spring"
        content.tracking.content = "ad-a"
        content.tracking.term = "plumber"
        content.tracking.referrer = "https://www.google.com/"
        content.tracking.landingPage = "https://example.com/landing?x=1"
        content.tracking.gclid = "gclid-xyz"
        content.tracking.gaClientID = "123.456"
        content.location = CallContent.Location(city: "Zürich", region: "ZH", country: "CH")
        content.recordingURL = "https://rec.example/1.mp3"
        content.tags = ["new", "vip, gold", "quote\"d"]
        content.firstCall = true
        content.sourceUpdatedAt = may1(10, 5)
        return CallEvent(content: content, channel: .poll, receivedAt: may1(10, 5, 1, millisecond: 500))
    }

    /// Every field set, with text that breaks naive escaping: quotes of both kinds, backslashes,
    /// newlines, tabs, a control character, non-ASCII and an emoji, in fields and in tags.
    public static func awkwardEvent() -> CallEvent {
        let rich = richEvent()
        var content = rich.content
        content.sourceCallID = "CA'123\\x"
        content.callerName = "Jane \"JJ\" O'Doe\\Smith"
        content.agent.name = "Sam\tAgent\nSecond line\r\n"
        content.tracking.campaignName = "Spring Sale \u{1} ✓"
        content.tracking.term = "plumber's \"best\" \\ 🔧"
        content.tracking.landingPage = "https://example.com/landing?x=1&y='2'"
        content.tags = ["new", "vip, gold", "quote\"d", "it's", "back\\slash", "multi\nline\ttab", "日本語", ""]
        return CallEvent(content: content, channel: rich.channel, receivedAt: rich.receivedAt)
    }

    /// Only the required fields: every optional column NULL, no tags, `first_call` false.
    public static func sparseEvent(callID: String = "sparse") -> CallEvent {
        var content = CallContent(source: "callrail", sourceAccountID: "a", sourceCallID: callID)
        content.firstCall = false
        return CallEvent(content: content, channel: .backfill, receivedAt: may1(8))
    }

    /// An entity record of `ctm_accounts` (by default) whose `data` is `{"id":…,"name":…}`.
    public static func record(source: String = "ctm", entity: String = "accounts", id: String = "42", name: String = "Acme",
                       sourceUpdatedAt: Timestamp? = nil, channel: CallEvent.Channel = .poll,
                       receivedAt: Timestamp) -> EntityRecord {
        EntityRecord(source: source, entity: entity, id: id, accountID: "acct-1",
                     data: .object(["id": .string(id), "name": .string(name)]),
                     raw: .object(["Id": .string(id), "Name": .string(name)]),
                     sourceUpdatedAt: sourceUpdatedAt, receivedAt: receivedAt, channel: channel)
    }
}
