import CallFeedCore
import Kafka
import Logging

/// Which dead letters a redrive retries.
public struct DeadLetterSelection: Sendable {
    /// `ingest`, `poll`, `load` (empty: all).
    public var stages: Set<String>
    /// Only letters whose reason contains this text (case-insensitive).
    public var reasonLike: String?
    /// Only letters written at or after this instant.
    public var since: Timestamp?

    public init(stages: Set<String> = [], reasonLike: String? = nil, since: Timestamp? = nil) {
        self.stages = stages; self.reasonLike = reasonLike; self.since = since
    }

    func matches(_ r: ReplayRecord) -> Bool {
        if !stages.isEmpty, !stages.contains(r.stage ?? "") { return false }
        if let text = reasonLike?.lowercased(), !(r.reason?.lowercased().contains(text) ?? false) { return false }
        if let since, let at = r.acceptedAt, at < since { return false }
        return true
    }
}

public enum RedriveOutcome: Sendable {
    /// Published again: a CallEvent (and its raw record) for `ingest`/`poll` letters, the original
    /// message to its topic for `load` letters.
    case redriven(ReplayRecord, String)
    /// Failed again: back in the dead-letter topic with `attempt` + 1 and the new reason.
    case failedAgain(ReplayRecord, String)
    /// At the max attempts: left alone.
    case exhausted(ReplayRecord)
    /// Cannot be redriven by this command (the reason says what to do instead).
    case skipped(ReplayRecord, String)
}

public struct RedriveSummary: Sendable, CustomStringConvertible {
    public var read = 0
    public var selected = 0
    public var redriven = 0
    public var failedAgain = 0
    public var exhausted = 0
    public var skipped = 0
    public var description: String {
        "read \(read), selected \(selected), redriven \(redriven), failed again \(failedAgain), exhausted \(exhausted), skipped \(skipped)"
    }
}

/// `callfeed replay dlq`: retries dead letters through the path they failed in.
///
/// - `ingest` and `poll` letters (a body or polled record the mapping refused) are re-normalised
///   with the current mapping. One that maps now is published like an accepted record: its
///   CallEvent (channel `replay`, `received_at` = when it was first received, so it orders among the
///   call's other revisions where it would have) and its raw record. One that fails again is
///   dead-lettered again with `attempt` + 1.
/// - `load` letters (a message the loader or the warehouse refused) go back to the topic they came
///   from (`origin`) with their `attempt`; the loader dead-letters a renewed refusal with `attempt` + 1.
/// - A letter at `maxAttempts` is not retried: a poison record cannot loop.
/// - Entity dead letters are skipped (the next poll of the list reads the object again).
///
/// It reads from its consumer group's position (the topic's start the first time) to the end the
/// redrive started with, and commits after each acknowledged batch: a second run does not retry the
/// same letters again (its own re-dead-lettered copies are new letters, with a higher attempt).
public final class DeadLetterRedrive {
    let consumer: KafkaConsumer
    let producer: KafkaProducer?
    let topics: Topics
    let renormaliser: any Renormalising
    let logger: Logger
    public var maxAttempts = 3
    public var batchSize = 500

    /// - Parameters:
    ///   - consumer: A consumer of the redrive's own group, with `enable.partition.eof=true`.
    ///   - producer: nil for a dry run (nothing published, no position saved).
    public init(consumer: KafkaConsumer, producer: KafkaProducer?, topics: Topics, renormaliser: any Renormalising, logger: Logger) {
        self.consumer = consumer; self.producer = producer; self.topics = topics; self.renormaliser = renormaliser; self.logger = logger
    }

    /// - Parameter fromStart: Read the whole topic, ignoring the group's saved position.
    public func run(_ selection: DeadLetterSelection, fromStart: Bool = false,
                    progress: (ReplayProgress) -> Void = { _ in },
                    outcome: (RedriveOutcome) -> Void = { _ in }) throws(ReplayError) -> RedriveSummary {
        let topic = topics.deadLetters
        var (start, end) = try TopicScan(consumer: consumer, topic: topic).bounds()
        if !fromStart {
            let committed: [Int32: Int64]
            do {
                committed = try consumer.committed(topic: topic, partitions: Array(end.keys))
            } catch {
                throw ReplayError("cannot read the redrive's position in \(topic): \(error)")
            }
            for (p, offset) in committed where offset >= 0 {
                start[p] = max(start[p] ?? 0, min(offset, end[p] ?? offset))
            }
        }
        let total = start.keys.reduce(0) { $0 + Int(max(0, end[$1]! - start[$1]!)) }
        var summary = RedriveSummary()
        var position: [Int32: Int64] = [:]
        var pending = 0
        let acks = Acknowledgements()
        try TopicScan(consumer: consumer, topic: topic).read(from: start, to: end) { message throws(ReplayError) in
            summary.read += 1
            position[message.partition] = message.offset + 1
            if summary.read % 1000 == 0 { progress(ReplayProgress(phase: "redrive", done: summary.read, total: total)) }
            let record = ReplayRecord(message)
            guard selection.matches(record) else { return }
            summary.selected += 1
            guard record.attempt < maxAttempts else {
                summary.exhausted += 1
                outcome(.exhausted(record))
                return
            }
            let sent = redrive(record, acks: acks)
            switch sent {
            case .redriven: summary.redriven += 1
            case .failedAgain: summary.failedAgain += 1
            case .skipped: summary.skipped += 1
            case .exhausted: summary.exhausted += 1
            }
            outcome(sent)
            if producer != nil {
                pending += 1
                if pending >= batchSize {
                    try consumer.commit(after: acks, topic: topic, position, logger: logger)
                    pending = 0
                }
            }
        }
        if producer != nil { try consumer.commit(after: acks, topic: topic, end, logger: logger) }
        progress(ReplayProgress(phase: "redrive", done: summary.read, total: total))
        return summary
    }

    /// Publishes one letter again (unless a dry run) and says what became of it.
    private func redrive(_ record: ReplayRecord, acks: Acknowledgements) -> RedriveOutcome {
        let message = record.message
        switch record.stage {
        case "load":
            let origin = record.message.header(RecordHeader.origin)?.split(separator: "/").first.map(String.init)
            guard let origin, origin == topics.calls || origin == topics.entities else {
                return .skipped(record, "origin topic \(origin ?? "unknown") is not one the loader reads")
            }
            if let producer {
                var headers = message.headers.filter { ![RecordHeader.reason, RecordHeader.stage, RecordHeader.origin, RecordHeader.attempt].contains($0.name) }
                    .map { ($0.name, String(decoding: $0.value, as: UTF8.self)) }
                headers.append((RecordHeader.attempt, String(record.attempt)))
                acks.produce(producer, topic: origin, key: message.key, value: message.value, headers: headers)
            }
            return .redriven(record, "to \(origin)")
        case "ingest", "poll":
            if let entity = record.entity {
                return .skipped(record, "an entity record (\(entity)): the next poll of the list reads it again")
            }
            switch renormaliser.content(of: record) {
            case .failure(let failure):
                if let producer {
                    var headers = message.headers.filter { ![RecordHeader.reason, RecordHeader.attempt].contains($0.name) }
                        .map { ($0.name, String(decoding: $0.value, as: UTF8.self)) }
                    headers.append((RecordHeader.reason, failure.reason))
                    headers.append((RecordHeader.attempt, String(record.attempt + 1)))
                    acks.produce(producer, topic: topics.deadLetters, key: message.key, value: message.value, headers: headers)
                }
                return .failedAgain(record, failure.reason)
            case .success(let content):
                let event = CallEvent(content: content, channel: .replay, receivedAt: record.acceptedAt ?? .now())
                if let producer {
                    let key = Array(event.eventID.utf8)
                    acks.produce(producer, topic: topics.calls, key: key, value: event.jsonBytes(), headers: [(RecordHeader.source, content.source)])
                    let provenance = [(RecordHeader.sourceName, record.sourceName), (RecordHeader.account, record.account)]
                        .compactMap { name, value in value.map { (name, $0) } }
                    acks.produce(producer, topic: topics.raw, key: key, value: message.value,
                                 headers: RecordHeader.raw(for: event, route: record.route, provenance: provenance))
                }
                return .redriven(record, "event \(event.eventID) revision \(event.revision.prefix(12))")
            }
        default:
            return .skipped(record, "unknown stage \(record.stage ?? "(none)")")
        }
    }
}
