import CallFeedCore
import Kafka
import Logging

/// Which raw records a replay re-normalises.
public struct RawSelection: Sendable {
    /// Records accepted at or after this instant (their `received_at`).
    public var since: Timestamp
    /// …and before this one (nil: up to now).
    public var until: Timestamp?
    /// Vendor keys or configured source names (empty: all).
    public var sources: Set<String>
    /// Routes (`/webhooks/ctm`, `poll:ctm-main`; empty: all).
    public var routes: Set<String>
    /// Only these calls (empty: all).
    public var eventIDs: Set<String>

    public init(since: Timestamp, until: Timestamp? = nil, sources: Set<String> = [], routes: Set<String> = [], eventIDs: Set<String> = []) {
        self.since = since; self.until = until; self.sources = sources; self.routes = routes; self.eventIDs = eventIDs
    }

    func matches(_ r: ReplayRecord) -> Bool {
        guard let at = r.acceptedAt, at >= since, until.map({ at < $0 }) ?? true else { return false }
        if !sources.isEmpty, !sources.contains(r.vendor), !(r.sourceName.map { sources.contains($0) } ?? false) { return false }
        if !routes.isEmpty, !routes.contains(r.route) { return false }
        if !eventIDs.isEmpty, !(r.eventID.map { eventIDs.contains($0) } ?? false) { return false }
        return true
    }
}

/// Where a long replay is, for a progress display.
public struct ReplayProgress: Sendable {
    /// `scan` (finding each call's newest copy) or `replay`.
    public var phase: String
    public var done: Int
    public var total: Int
    public var fraction: Double { total > 0 ? min(1, Double(done) / Double(total)) : 1 }
}

/// What happened to one selected raw record (for `--dry-run` listings and logs).
public enum RawReplayOutcome: Sendable {
    /// Re-normalised to a different revision: republished (or would be, in a dry run).
    case republished(ReplayRecord, CallEvent)
    /// The current mapping gives the revision the record was accepted with: nothing to do.
    case unchanged(ReplayRecord, CallEvent)
    /// A newer copy of the call was accepted after the window (or outside the selection): left alone.
    case superseded(ReplayRecord)
    case failed(ReplayRecord, String)
}

public struct RawReplaySummary: Sendable, CustomStringConvertible {
    /// Raw records read in the replay pass.
    public var read = 0
    /// Of those, the ones the selection matched.
    public var selected = 0
    /// Distinct calls among them.
    public var calls = 0
    public var republished = 0
    public var unchanged = 0
    public var superseded = 0
    public var failed = 0
    public var description: String {
        "read \(read), selected \(selected) (\(calls) calls), republished \(republished), unchanged \(unchanged), superseded \(superseded), failed \(failed)"
    }
}

/// `callfeed replay raw`: re-normalises accepted payloads from the raw topic with the **current**
/// mapping and republishes the CallEvents (channel `replay`, same event_id) to the calls topic, and
/// nothing else.
///
/// Per call only its **newest** raw copy is replayed, and only when that copy is itself in the
/// window and selected: a call that was accepted again after `until` (or by a route not selected)
/// is *superseded* and left alone, so a replay never puts an older vendor state over a newer one.
/// The republished event's `received_at` is the moment the replay started: it is newer than the
/// copy it re-maps (so a corrected mapping wins over the faulty revision of the same vendor state by
/// the normal version rule), and older than anything accepted after the replay started. Vendor
/// state order (`source_updated_at`) still comes first. An exact re-send (same revision) is a no-op
/// in every warehouse; a record whose recorded revision equals the new one is not republished.
///
/// Two passes over [first record at `since`, the topic's end when the replay started): the first
/// finds each call's newest copy, the second re-maps and publishes, committing its position to its
/// consumer group after each acknowledged batch (`resume` continues from there).
public final class RawReplay {
    let consumer: KafkaConsumer
    let producer: KafkaProducer?
    let topics: Topics
    let renormaliser: any Renormalising
    let logger: Logger
    let clock: @Sendable () -> Timestamp
    /// Republished events acknowledged before the position is committed.
    public var batchSize = 500

    /// - Parameters:
    ///   - consumer: A consumer of the replay's own group, with `enable.partition.eof=true`.
    ///   - producer: nil for a dry run.
    public init(consumer: KafkaConsumer, producer: KafkaProducer?, topics: Topics, renormaliser: any Renormalising,
                logger: Logger, clock: @escaping @Sendable () -> Timestamp = { .now() }) {
        self.consumer = consumer; self.producer = producer; self.topics = topics
        self.renormaliser = renormaliser; self.logger = logger; self.clock = clock
    }

    private struct Copy { var at: Int64; var partition: Int32; var offset: Int64; var selected: Bool }

    public func run(_ selection: RawSelection, resume: Bool = false,
                    progress: (ReplayProgress) -> Void = { _ in },
                    outcome: (RawReplayOutcome) -> Void = { _ in }) throws(ReplayError) -> RawReplaySummary {
        let replayedAt = clock()
        let topic = topics.raw
        let (start, end) = try range(topic, since: selection.since)
        let total = start.keys.reduce(0) { $0 + Int(max(0, end[$1]! - start[$1]!)) }
        let scan = TopicScan(consumer: consumer, topic: topic)

        // Pass 1: each call's newest copy, over the whole rest of the topic (not only the window).
        var newest: [String: Copy] = [:]
        var scanned = 0
        try scan.read(from: start, to: end) { message throws(ReplayError) in
            scanned += 1
            if scanned % 1000 == 0 { progress(ReplayProgress(phase: "scan", done: scanned, total: total)) }
            let record = ReplayRecord(message)
            guard let id = record.eventID else { return }
            let copy = Copy(at: record.acceptedAt?.millisecondsSinceEpoch ?? 0, partition: message.partition,
                            offset: message.offset, selected: selection.matches(record))
            if let known = newest[id], (known.at, known.partition, known.offset) > (copy.at, copy.partition, copy.offset) { return }
            newest[id] = copy
        }

        // Pass 2: re-map and republish each selected call's newest copy.
        var from = start
        if resume {
            let committed = (try? consumer.committed(topic: topic, partitions: Array(start.keys))) ?? [:]
            for (p, offset) in committed where offset > (from[p] ?? 0) { from[p] = min(offset, end[p] ?? offset) }
        }
        var summary = RawReplaySummary()
        var counted = Set<String>()
        var position: [Int32: Int64] = [:]
        var pending = 0
        let acks = Acknowledgements()
        try scan.read(from: from, to: end) { message throws(ReplayError) in
            summary.read += 1
            position[message.partition] = message.offset + 1
            if summary.read % 1000 == 0 { progress(ReplayProgress(phase: "replay", done: summary.read, total: total)) }
            let record = ReplayRecord(message)
            guard selection.matches(record) else { return }
            summary.selected += 1
            guard let id = record.eventID else {
                summary.failed += 1
                outcome(.failed(record, "no event_id header"))
                return
            }
            if counted.insert(id).inserted { summary.calls += 1 }
            guard let copy = newest[id], copy.partition == message.partition, copy.offset == message.offset else {
                // An older copy: the newest one is replayed if it is selected, else the call is superseded.
                if newest[id]?.selected == false, counted.insert("superseded/" + id).inserted {
                    summary.superseded += 1
                    outcome(.superseded(record))
                }
                return
            }
            switch renormaliser.content(of: record) {
            case .failure(let failure):
                summary.failed += 1
                logger.warning("raw record not re-normalised", metadata: ["event_id": "\(id)", "route": "\(record.route)", "reason": "\(failure.reason)"])
                outcome(.failed(record, failure.reason))
            case .success(let content):
                let event = CallEvent(content: content, channel: .replay, receivedAt: replayedAt)
                guard event.eventID == id else {
                    summary.failed += 1
                    outcome(.failed(record, "the current mapping gives event_id \(event.eventID), the record was accepted as \(id)"))
                    return
                }
                if record.revision == event.revision {
                    summary.unchanged += 1
                    outcome(.unchanged(record, event))
                    return
                }
                summary.republished += 1
                outcome(.republished(record, event))
                guard let producer else { return }
                acks.produce(producer, topic: topics.calls, key: Array(id.utf8), value: event.jsonBytes(),
                             headers: [(RecordHeader.source, content.source)])
                pending += 1
                if pending >= batchSize {
                    try consumer.commit(after: acks, topic: topic, position, logger: logger)
                    pending = 0
                }
            }
        }
        if producer != nil {
            // Everything read: the position is the end the replay started with.
            try consumer.commit(after: acks, topic: topic, end, logger: logger)
        }
        progress(ReplayProgress(phase: "replay", done: summary.read, total: total))
        return summary
    }

    /// How much earlier than `since` the replay starts reading.
    static let seekMarginMilliseconds: Int64 = 300_000

    /// First offset at `since` and the end, per partition.
    func range(_ topic: String, since: Timestamp) throws(ReplayError) -> (start: [Int32: Int64], end: [Int32: Int64]) {
        let scan = TopicScan(consumer: consumer, topic: topic)
        let (low, end) = try scan.bounds()
        // Seek a little earlier than asked: producers' clocks differ, and the records are
        // selected by their own received_at anyway.
        let seek = since.millisecondsSinceEpoch - Self.seekMarginMilliseconds
        let answer: [Int32: Int64?]
        do {
            answer = try consumer.offsets(topic: topic, partitions: Array(end.keys), atOrAfter: seek)
        } catch {
            answer = [:]  // no answer: the search below finds it
        }
        return (try scan.firstOffsets(atOrAfter: seek, brokerAnswer: answer, low: low, high: end), end)
    }
}
