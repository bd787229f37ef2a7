import CallFeedCore
import CallFeedVendors
import Foundation
import Testing

@Suite("CleverTap mapping")
struct CleverTapMappingTests {
    private func profile(_ index: Int) throws -> JSONValue {
        try Fixture.element(index, of: "clevertap.profiles.page.sample", under: "records")
    }

    private func rejection(_ record: JSONValue) -> String? {
        do throws(MappingError) {
            let mapped = try CleverTapMapping.profile(from: record, defaultCountry: "US")
            Issue.record("expected a MappingError, got profile \(mapped.id)")
            return nil
        } catch {
            return error.reason
        }
    }

    @Test("the sample profile maps to objectId, phone_e164 and its latest last_seen")
    func sampleProfile() throws {
        let raw = try profile(0)
        let mapped = try CleverTapMapping.profile(from: raw, defaultCountry: "US")
        #expect(mapped.id == "__f3c9a2d4b5e64a1f9c0d7e8b2a1c3d4e")
        #expect(mapped.data["phone_e164"] == .string("+15555550123"))
        // App Launched 1715711400 beats Quote Requested 1715700000.
        #expect(mapped.lastSeen == Timestamp(secondsSinceEpoch: 1_715_711_400))
        // Everything CleverTap sent is kept, only phone_e164 is added.
        #expect(mapped.data.setting("phone_e164", nil) == raw)
        #expect(mapped.data[path: "profileData", "customer_type"] == .string("homeowner"))
    }

    @Test("a profile with one event and empty identity still maps")
    func anonymousProfile() throws {
        let mapped = try CleverTapMapping.profile(from: profile(1), defaultCountry: "US")
        #expect(mapped.id == "__0a1b2c3d4e5f60718293a4b5c6d7e8f9")
        #expect(mapped.data["phone_e164"] == .string("+15555550145"))
        #expect(mapped.lastSeen == Timestamp(secondsSinceEpoch: 1_715_690_000))
    }

    @Test("national and garbage phones: E.164 with the default country, else null")
    func phones() throws {
        let raw = try profile(0)
        let national = try CleverTapMapping.profile(from: raw.setting("phone", .string("(410) 555-0123")), defaultCountry: "US")
        #expect(national.data["phone_e164"] == .string("+14105550123"))
        let garbage = try CleverTapMapping.profile(from: raw.setting("phone", .string("call-me-maybe")), defaultCountry: "US")
        #expect(garbage.data["phone_e164"] == .null)
        #expect(garbage.data["phone"] == .string("call-me-maybe"))
        let none = try CleverTapMapping.profile(from: raw.setting("phone", nil), defaultCountry: "US")
        #expect(none.data["phone_e164"] == .null)
    }

    @Test("no events, or last_seen that is not epoch seconds: no source time")
    func noEvents() throws {
        let raw = try profile(0)
        #expect(try CleverTapMapping.profile(from: raw.setting("events", nil), defaultCountry: "US").lastSeen == nil)
        let odd = raw.setting("events", .object(["App Launched": .object(["last_seen": .string("yesterday")])]))
        #expect(try CleverTapMapping.profile(from: odd, defaultCountry: "US").lastSeen == nil)
    }

    @Test("a profile without objectId, or not an object, is refused")
    func refused() throws {
        #expect(rejection(try profile(0).setting("objectId", nil)) == "profile has no id (objectId)")
        #expect(rejection(try profile(0).setting("objectId", .string(""))) == "profile has no id (objectId)")
        #expect(rejection(.array([])) == "CleverTap profile is not an object")
    }

    @Test("the samples' envelopes: step 1 has a cursor, a page has next_cursor, the last page none")
    func envelopes() throws {
        #expect(try Fixture.json("clevertap.profiles.cursor.sample")["cursor"]?.text != nil)
        let page = try Fixture.json("clevertap.profiles.page.sample")
        #expect(page["next_cursor"]?.text != nil && page["records"]?.arrayValue?.count == 2)
        let end = try Fixture.json("clevertap.profiles.end-and-error.sample")
        #expect(end[path: "_last_page", "next_cursor"] == nil)
        #expect(end[path: "_error_429", "error"] == .string("Too many concurrent requests"))
    }
}
