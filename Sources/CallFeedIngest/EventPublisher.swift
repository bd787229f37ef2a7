import CallFeedCore
import Kafka
import Synchronization

/// Publishes what the webhook receiver accepts or rejects, and reports when Kafka has it.
public struct EventPublisher: Sendable {
    public let producer: KafkaProducer
    public let topics: Topics

    public init(producer: KafkaProducer, topics: Topics) {
        self.producer = producer
        self.topics = topics
    }

    /// Publishes the raw body (unmodified, to the raw topic) and the CallEvent (to the calls topic,
    /// key = event_id). `completion` runs once, after both are acknowledged, or with the first error.
    /// `sourceName`: the configured source it came from (header `source_name`, what a replay maps with).
    public func publishAccepted(raw: [UInt8], event: CallEvent, route: String, sourceName: String,
                                completion: @escaping @Sendable (Result<Void, KafkaError>) -> Void) {
        let headers = RecordHeader.raw(for: event, route: route, provenance: [(RecordHeader.sourceName, sourceName)])
        let key = Array(event.eventID.utf8)
        let join = Join(parts: 2, completion: completion)
        // The CallEvent first: if it cannot be queued (a full producer queue, or the embedded
        // mode's back-pressure), the raw body is not sent either, so a refused webhook leaves no copy.
        do {
            try producer.produce(topic: topics.calls, key: key, value: event.jsonBytes(),
                                 headers: [(RecordHeader.source, event.content.source)]) { join.finish($0) }
        } catch {
            join.finish(.failure(error))
            return
        }
        do {
            try producer.produce(topic: topics.raw, key: key, value: raw, headers: headers) { join.finish($0) }
        } catch {
            join.finish(.failure(error))
        }
    }

    /// Publishes a rejected body, unmodified, to the dead-letter topic with the reason in headers.
    /// `attempt`: how many times the record has now failed (1 unless a redrive failed it again).
    public func publishDeadLetter(raw: [UInt8], reason: String, source: String, route: String, sourceName: String,
                                  receivedAt: Timestamp, attempt: Int = 1,
                                  completion: @escaping @Sendable (Result<Void, KafkaError>) -> Void) {
        var headers = [
            (RecordHeader.source, source), (RecordHeader.route, route), (RecordHeader.receivedAt, receivedAt.rfc3339),
            (RecordHeader.reason, reason), (RecordHeader.stage, "ingest"), (RecordHeader.sourceName, sourceName),
        ]
        if attempt > 1 { headers.append((RecordHeader.attempt, String(attempt))) }
        do {
            try producer.produce(topic: topics.deadLetters, key: nil, value: raw, headers: headers) { result in
                completion(result.map { _ in () })
            }
        } catch {
            completion(.failure(error))
        }
    }
}

/// Calls `completion` once: after `parts` successes, or at the first failure.
private final class Join: Sendable {
    private let state: Mutex<(remaining: Int, done: Bool)>
    private let completion: @Sendable (Result<Void, KafkaError>) -> Void

    init(parts: Int, completion: @escaping @Sendable (Result<Void, KafkaError>) -> Void) {
        state = Mutex((parts, false))
        self.completion = completion
    }

    func finish(_ result: Result<DeliveryReport, KafkaError>) {
        let fire: Result<Void, KafkaError>? = state.withLock { s in
            guard !s.done else { return nil }
            switch result {
            case .failure(let error):
                s.done = true
                return .failure(error)
            case .success:
                s.remaining -= 1
                if s.remaining == 0 { s.done = true; return .success(()) }
                return nil
            }
        }
        if let fire { completion(fire) }
    }
}
