import CallFeedCore

/// The 1,000-hook scenario of the spine issue as CallEvents, for loading the same events into every
/// warehouse sink and comparing their canonical dumps.
///
/// 1,020 events over 850 calls (CTM and CallKeeper): 850 first revisions, 60 exact re-sends (the
/// same revision again, by webhook retry or by poll), 50 updates (a new recording URL, a later
/// `source_updated_at`), 30 older revisions arriving after the newer one (out of order), and 10
/// calls whose last batch holds revision A, then B, then A again (30 events). Values exercise every column kind:
/// nulls, unicode, quotes, backslashes, tabs, newlines, empty and odd tags. The order is a seeded
/// shuffle, cut into batches of uneven sizes (1 to 300). Deterministic: the same every run.
public struct ConformanceScenario: Sendable {
    /// The batches, in load order.
    public let batches: [[CallEvent]]
    /// The revision each call must end with, by event_id (worked out by the generator from how it
    /// built the events, not by applying any sink's rule).
    public let expectedRevisions: [String: String]

    public var events: [CallEvent] { batches.flatMap { $0 } }

    public init(seed: UInt64 = 20261130) {
        var random = SplitMix64(seed: seed)
        let base = Timestamp(year: 2026, month: 11, day: 1, hour: 8, minute: 0, second: 0, millisecond: 0)!
        func at(_ seconds: Int64, _ millisecond: Int64 = 0) -> Timestamp {
            Timestamp(millisecondsSinceEpoch: base.millisecondsSinceEpoch + seconds * 1000 + millisecond)
        }

        var firsts: [CallEvent] = []
        for n in 0..<850 {
            firsts.append(CallEvent(content: Self.content(n, updatedAt: at(Int64(n), 125), random: &random),
                                    channel: n % 3 == 0 ? .poll : .webhook, receivedAt: at(Int64(n) + 60, Int64(n % 1000))))
        }
        var expected = Dictionary(uniqueKeysWithValues: firsts.map { ($0.eventID, $0.revision) })
        var extra: [CallEvent] = []
        // Exact re-sends: the same revision, received later (a vendor retry, or the poll after the hook).
        for i in 0..<60 {
            let original = firsts[i * 7]
            extra.append(CallEvent(content: original.content, channel: .poll, receivedAt: at(5_000 + Int64(i))))
        }
        // Updates: a new recording URL and a later source time; the newest wins wherever it lands.
        for i in 0..<50 {
            let n = i * 7 + 3
            var content = firsts[n].content
            content.recordingURL = "https://recordings.example/updated/\(n).mp3?v=2&x=\"q\""
            content.sourceUpdatedAt = at(10_000 + Int64(i))
            let update = CallEvent(content: content, channel: .webhook, receivedAt: at(10_100 + Int64(i)))
            extra.append(update)
            expected[update.eventID] = update.revision
        }
        // Out of order: a revision whose source time is older than the first one's arrives later.
        for i in 0..<30 {
            let n = i * 7 + 5
            var content = firsts[n].content
            content.status = .missed
            content.sourceUpdatedAt = at(-3_600 + Int64(i))
            extra.append(CallEvent(content: content, channel: .backfill, receivedAt: at(20_000 + Int64(i))))
        }
        var batches: [[CallEvent]] = []
        // A, B, A in one batch (no source times: receive time orders them), each later than the last.
        var flipFlops: [CallEvent] = []
        for i in 0..<10 {
            let n = i * 7 + 6
            var a = firsts[n].content
            a.sourceUpdatedAt = nil
            var b = a
            b.talkSeconds = (b.talkSeconds ?? 0) + 1
            let first = CallEvent(content: a, channel: .webhook, receivedAt: at(30_000 + Int64(i)))
            let second = CallEvent(content: b, channel: .webhook, receivedAt: at(30_100 + Int64(i)))
            let third = CallEvent(content: a, channel: .poll, receivedAt: at(30_200 + Int64(i)))
            flipFlops += [first, second, third]
            expected[third.eventID] = third.revision
        }
        // 850 + 60 + 50 + 30 = 990 events shuffled; the flip-flop batch comes last. Re-sent (n % 7
        // == 0), updated (3), out-of-order (5) and flip-flop (6) calls are disjoint, so each call's
        // expected revision follows from its own events alone, whatever the shuffle.
        var shuffled = firsts + extra
        random.shuffle(&shuffled)
        let sizes = [1, 2, 300, 37, 100, 250, 5, 64, 128, 200]
        var index = 0
        var sizeIndex = 0
        while index < shuffled.count {
            let size = min(sizes[sizeIndex % sizes.count], shuffled.count - index)
            batches.append(Array(shuffled[index..<index + size]))
            index += size
            sizeIndex += 1
        }
        batches.append(flipFlops)
        self.batches = batches
        self.expectedRevisions = expected
    }

    /// Call `n`: CTM for odd `n`, CallKeeper for even, with every kind of value somewhere.
    private static func content(_ n: Int, updatedAt: Timestamp, random: inout SplitMix64) -> CallContent {
        let ctm = n % 2 == 1
        var content = CallContent(source: ctm ? "ctm" : "callkeeper", sourceAccountID: ctm ? "acct-\(n % 4)" : "ck-1",
                                  sourceCallID: String(91_000_000 + n),
                                  direction: n % 5 == 0 ? .outbound : .inbound,
                                  status: [.answered, .missed, .voicemail, .busy][n % 4])
        content.startedAt = Timestamp(millisecondsSinceEpoch: updatedAt.millisecondsSinceEpoch - 600_000 - Int64(n % 997))
        if n % 4 != 1 { content.endedAt = Timestamp(millisecondsSinceEpoch: content.startedAt!.millisecondsSinceEpoch + 95_250) }
        content.durationSeconds = n % 9 == 0 ? nil : Int64(random.next() % 3_600)
        content.talkSeconds = n % 4 == 1 ? 0 : Int64(random.next() % 600)
        content.ringSeconds = n % 6 == 0 ? nil : Int64(n % 30)
        content.callerNumber = n % 10 == 0 ? nil : "+1555\(1_000_000 + n)"
        content.dialedNumber = "+18005550\(100 + n % 50)"
        content.destinationNumber = n % 3 == 0 ? nil : "+7495123\(4000 + n % 1000)"
        let names = ["Zoë \"Z\" Ångström", "O'Brien\\Co", "line\nbreak\ttab", "日本語 名前", "", "plain", "emoji 📞"]
        content.callerName = n % 8 == 7 ? nil : names[n % names.count]
        if n % 2 == 0 {
            content.agent = CallContent.Agent(id: "a-\(n % 13)", name: n % 4 == 0 ? "Агент \(n % 13)" : nil,
                                              email: n % 6 == 0 ? "agent\(n % 13)@example.com" : nil)
        }
        if ctm {
            content.tracking.source = ["google", "bing", "direct"][n % 3]
            content.tracking.medium = n % 3 == 2 ? nil : "cpc"
            content.tracking.landingPage = "https://example.com/landing?q=\(n)&utm=a%20b"
            content.tracking.gclid = n % 5 == 0 ? "gclid-\(n)" : nil
        }
        content.location = CallContent.Location(city: n % 3 == 0 ? "São Paulo" : nil, region: nil, country: n % 2 == 0 ? "RU" : "US")
        content.recordingURL = n % 4 == 1 ? nil : "https://recordings.example/\(n).mp3"
        let tagSets: [[String]] = [[], ["new"], ["vip, gold", "quote\"d", "back\\slash"], ["tab\there", " spaced "], ["ü", "ß", "中"]]
        content.tags = tagSets[n % tagSets.count]
        content.firstCall = n % 3 == 0 ? nil : n % 3 == 1
        content.sourceUpdatedAt = ctm ? updatedAt : nil
        return content
    }
}

/// A small seeded generator (SplitMix64), so the scenario is the same on every machine.
public struct SplitMix64 {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Fisher–Yates.
    mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            items.swapAt(i, j)
        }
    }
}
