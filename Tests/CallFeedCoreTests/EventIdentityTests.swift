import CallFeedCore
import CallFeedVendors
import Testing

@Suite("Event id and revision")
struct EventIdentityTests {
    let receivedAt = Timestamp(secondsSinceEpoch: 1_715_700_000)

    private func event(_ content: CallContent, _ channel: CallEvent.Channel = .webhook) -> CallEvent {
        CallEvent(content: content, channel: channel, receivedAt: receivedAt)
    }

    @Test("The same CallKeeper call by webhook and by poll has the same event_id")
    func callKeeperWebhookAndPollAgree() throws {
        let context = Fixture.callKeeper
        let pushed = try CallKeeperMapping.content(from: Fixture.json("callkeeper.webhook.after-call-finish.sample"),
                                                   context: context)
        let polled = try CallKeeperMapping.content(from: Fixture.element(1, of: "callkeeper.calls.page.sample"),
                                                   context: context)
        #expect(pushed.sourceCallID == polled.sourceCallID)
        #expect(event(pushed, .webhook).eventID == event(polled, .poll).eventID)
        // The samples disagree on the outcome (answered vs missed), so the revisions differ: the
        // loader keeps whichever it judges newer, under one id.
        #expect(event(pushed).revision != event(polled).revision)

        let other = try CallKeeperMapping.content(from: Fixture.json("callkeeper.call.sample"), context: context)
        #expect(event(other).eventID != event(polled).eventID)
    }

    @Test("Another account gives another event_id for the same vendor call id")
    func accountSeparatesIDs() throws {
        let payload = try Fixture.json("callkeeper.webhook.after-call-finish.sample")
        let a = try CallKeeperMapping.content(from: payload, context: Fixture.callKeeper)
        let b = try CallKeeperMapping.content(
            from: payload, context: MappingContext(accountID: "ck-tenant-2", timeZone: "UTC", defaultCountry: "RU"))
        #expect(a.sourceCallID == b.sourceCallID)
        #expect(event(a).eventID != event(b).eventID)

        // CTM names the account itself, so the context's account does not matter when it does.
        let ctm = try Fixture.json("ctm.call.sample")
        let viaA = try CTMMapping.content(from: ctm, context: Fixture.ctm)
        let viaB = try CTMMapping.content(
            from: ctm, context: MappingContext(accountID: "someone-else", timeZone: "UTC", defaultCountry: "US"))
        #expect(event(viaA).eventID == event(viaB).eventID)
        let otherAccount = try CTMMapping.content(from: ctm.setting("account_id", .int(67890)), context: Fixture.ctm)
        #expect(event(otherAccount).eventID != event(viaA).eventID)
    }

    @Test("Sources do not collide: same account and call id under two vendors")
    func sourceSeparatesIDs() {
        var ck = CallContent(source: "callkeeper", sourceAccountID: "1", sourceCallID: "42")
        var ctm = ck
        ctm.source = "ctm"
        ck.status = .answered
        ctm.status = .answered
        #expect(event(ck).eventID != event(ctm).eventID)
    }

    @Test("The CTM call from its list page and from the webhook share an event_id")
    func ctmPageAndWebhookAgree() throws {
        let page = try CTMMapping.content(from: Fixture.element(0, of: "ctm.calls.page.sample", under: "calls"),
                                          context: Fixture.ctm)
        let webhook = try CTMMapping.content(from: Fixture.json("ctm.call.sample"), context: Fixture.ctm)
        #expect(event(page, .poll).eventID == event(webhook, .webhook).eventID)
    }

    @Test("Mapping the same payload twice gives the same revision", arguments: [
        "callkeeper.call.sample", "callkeeper.webhook.after-call-finish.sample", "ctm.call.sample",
    ])
    func revisionIsStable(fixture: String) throws {
        let payload = try Fixture.json(fixture)
        let map: (JSONValue) throws -> CallContent = fixture.hasPrefix("ctm")
            ? { try CTMMapping.content(from: $0, context: Fixture.ctm) }
            : { try CallKeeperMapping.content(from: $0, context: Fixture.callKeeper) }
        let first = event(try map(payload))
        let second = event(try map(payload))
        #expect(first.revision == second.revision)
        #expect(first.revision.count == 64)

        // Reparsing the payload from its own bytes (key order may change) changes nothing either.
        let reparsed = try JSONValue.parse(try payload.bytes())
        #expect(event(try map(reparsed)).revision == first.revision)
    }

    @Test("A changed recording URL changes the revision, not the event_id")
    func recordingURLChangesRevision() throws {
        let payload = try Fixture.json("callkeeper.call.sample")
        let before = event(try CallKeeperMapping.content(from: payload, context: Fixture.callKeeper))
        let after = event(try CallKeeperMapping.content(
            from: payload.setting("recordUrl", .string("https://ckct.ru/records/fake/other.mp3")), context: Fixture.callKeeper))
        #expect(after.revision != before.revision)
        #expect(after.eventID == before.eventID)

        let ctm = try Fixture.json("ctm.call.sample")
        let ctmBefore = event(try CTMMapping.content(from: ctm, context: Fixture.ctm))
        let ctmAfter = event(try CTMMapping.content(from: ctm.setting("audio", nil), context: Fixture.ctm))
        #expect(ctmAfter.revision != ctmBefore.revision)
    }

    @Test("Tag order in the payload does not change the revision")
    func tagOrderIgnored() throws {
        let payload = try Fixture.json("ctm.call.sample")
        let a = try CTMMapping.content(from: payload.setting("tag_list", .array([.string("a"), .string("b")])), context: Fixture.ctm)
        let b = try CTMMapping.content(from: payload.setting("tag_list", .array([.string("b"), .string("a"), .string("b")])), context: Fixture.ctm)
        #expect(event(a).revision == event(b).revision)
    }

    @Test("Channel and received_at are not part of the revision")
    func metadataOutsideRevision() throws {
        let content = try CTMMapping.content(from: Fixture.json("ctm.call.sample"), context: Fixture.ctm)
        let pushed = CallEvent(content: content, channel: .webhook, receivedAt: Timestamp(secondsSinceEpoch: 1_715_711_530))
        let polled = CallEvent(content: content, channel: .poll, receivedAt: Timestamp(millisecondsSinceEpoch: 1_715_800_000_250))
        let backfilled = CallEvent(content: content, channel: .backfill, receivedAt: Timestamp(secondsSinceEpoch: 1_800_000_000))
        #expect(pushed.revision == polled.revision)
        #expect(pushed.revision == backfilled.revision)
        #expect(pushed.eventID == polled.eventID)
        #expect(pushed.jsonBytes() != polled.jsonBytes())  // but they are different records
    }
}
