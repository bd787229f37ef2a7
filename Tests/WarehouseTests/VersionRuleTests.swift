import CallFeedCore
import CallFeedTestSupport
import Testing
@_spi(Testing) import Warehouse

/// VersionRule (the in-memory rule the set-wise sinks use) against SQLiteSink (the rule applied
/// event by event in SQL): same counts, same final rows, for batches built to be awkward.
@Suite struct VersionRuleTests {
    struct Item { let key: String; let revision: String; let versionKey: String }

    func apply(_ items: [Item], stored: [String: (revision: String, versionKey: String)] = [:]) -> VersionRule.Outcome<Item> {
        VersionRule.apply(items, stored: stored, key: \.key, revision: \.revision, versionKey: \.versionKey)
    }

    @Test func countsEachItemOnceAndKeepsTheWinnerPerKey() {
        let outcome = apply([
            Item(key: "a", revision: "r1", versionKey: "1"),
            Item(key: "b", revision: "r1", versionKey: "5"),
            Item(key: "a", revision: "r1", versionKey: "1"),  // exact re-send
            Item(key: "a", revision: "r2", versionKey: "2"),  // newer
            Item(key: "b", revision: "r0", versionKey: "4"),  // older, out of order
        ])
        #expect(outcome.summary == ApplySummary(inserted: 2, updated: 1, unchanged: 2))
        #expect(outcome.rows.map { "\($0.key)=\($0.revision)" } == ["a=r2", "b=r1"])
    }

    @Test func aKeyLeftAsStoredIsNotWritten() {
        let outcome = apply([Item(key: "a", revision: "r1", versionKey: "9"), Item(key: "b", revision: "r0", versionKey: "1")],
                            stored: ["a": ("r1", "1"), "b": ("r5", "5")])
        // Same revision with a greater key is still the same revision: unchanged.
        #expect(outcome.summary == ApplySummary(unchanged: 2))
        #expect(outcome.rows.isEmpty)
    }

    @Test func revisionAThenBThenAEndsWithTheLastA() {
        let outcome = apply([Item(key: "a", revision: "A", versionKey: "2"), Item(key: "a", revision: "B", versionKey: "3"),
                             Item(key: "a", revision: "A", versionKey: "4")], stored: ["a": ("A", "1")])
        #expect(outcome.summary == ApplySummary(updated: 2, unchanged: 1))
        #expect(outcome.rows.map(\.versionKey) == ["4"])
    }

    @Test func matchesSQLiteOnRandomBatches() throws {
        var generator = SystemRandomNumberGenerator()
        let base = Timestamp(year: 2024, month: 5, day: 1)!
        for round in 0..<20 {
            let sqlite = try SQLiteSink(path: ":memory:")
            try sqlite.prepare()
            var stored: [String: (revision: String, versionKey: String)] = [:]
            for _ in 0..<5 {
                let events = (0..<40).map { _ in
                    var content = CallContent(source: "ctm", sourceAccountID: "a", sourceCallID: "c\(Int.random(in: 0..<8, using: &generator))",
                                              direction: .inbound, status: .answered)
                    content.durationSeconds = Int64.random(in: 0..<3, using: &generator)
                    if Bool.random(using: &generator) {
                        content.sourceUpdatedAt = Timestamp(millisecondsSinceEpoch: base.millisecondsSinceEpoch + Int64.random(in: 0..<4, using: &generator) * 1000)
                    }
                    return CallEvent(content: content, channel: .webhook,
                                     receivedAt: Timestamp(millisecondsSinceEpoch: base.millisecondsSinceEpoch + Int64.random(in: 0..<4, using: &generator) * 1000))
                }
                let outcome = VersionRule.apply(events, stored: stored, key: \.eventID, revision: \.revision, versionKey: \.versionKey)
                var expected = try sqlite.apply(events, loadedAt: base)
                expected.revisionsAdded = 0
                #expect(outcome.summary == expected, "round \(round)")
                for event in outcome.rows { stored[event.eventID] = (event.revision, event.versionKey) }
                let rows = try sqlite._query("SELECT event_id, revision, version_key FROM calls")
                var actual: [String: String] = [:]
                for row in rows {
                    if case .text(let id)? = row["event_id"], case .text(let key)? = row["version_key"] { actual[id] = key }
                }
                #expect(actual == stored.mapValues(\.versionKey), "round \(round)")
            }
        }
    }
}
