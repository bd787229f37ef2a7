import CallFeedCore
import Foundation
import Kafka
import Synchronization

/// Publishes one page's results and waits until Kafka acknowledged all of them: CallEvents to the
/// calls topic (key event_id) with each record as the vendor sent it on the raw topic, or entity
/// records to the entities topic (key source/entity/id); records that could not be mapped go to
/// the dead-letter topic with the reason.
struct PagePublisher: Sendable {
    let producer: KafkaProducer
    let topics: Topics
    /// How long a page waits for room when the producer's ``BacklogGate`` is full (the embedded
    /// mode's loader is behind). Past it the run fails without moving the checkpoint, and the next
    /// run fetches the page again.
    static let backlogPatience: Duration = .seconds(120)

    struct Rejected: Sendable {
        var record: [UInt8]
        var reason: String
    }

    private struct Message {
        var topic: String
        var key: [UInt8]?
        var value: [UInt8]
        var headers: [(String, String)]
    }

    /// `provenance`: headers naming the configured source and account the page was read for, on
    /// its raw records and dead letters (what `callfeed replay` maps them with again).
    func publish(events: [(event: CallEvent, raw: [UInt8])], rejected: [Rejected], vendor: String, route: String,
                 provenance: [(String, String)] = []) throws(PollError) {
        var messages: [Message] = []
        for (event, raw) in events {
            let key = Array(event.eventID.utf8)
            messages.append(Message(topic: topics.calls, key: key, value: event.jsonBytes(), headers: [(RecordHeader.source, vendor)]))
            messages.append(Message(topic: topics.raw, key: key, value: raw,
                                    headers: RecordHeader.raw(for: event, route: route, provenance: provenance)))
        }
        try send(messages + deadLetters(rejected, vendor: vendor, route: route, provenance: provenance))
    }

    func publish(entities: [EntityRecord], rejected: [Rejected], vendor: String, route: String,
                 provenance: [(String, String)] = []) throws(PollError) {
        let messages = entities.map { record in
            Message(topic: topics.entities, key: Array(record.key.utf8), value: record.jsonBytes(), headers: [(RecordHeader.source, vendor)])
        }
        try send(messages + deadLetters(rejected, vendor: vendor, route: route, provenance: provenance))
    }

    private func deadLetters(_ rejected: [Rejected], vendor: String, route: String, provenance: [(String, String)]) -> [Message] {
        rejected.map { r in
            Message(topic: topics.deadLetters, key: nil, value: r.record, headers: [
                (RecordHeader.source, vendor), (RecordHeader.route, route), (RecordHeader.reason, r.reason),
                (RecordHeader.stage, "poll"), (RecordHeader.receivedAt, Timestamp.now().rfc3339),
            ] + provenance)
        }
    }

    /// Produces every message and blocks until each has its delivery report.
    private func send(_ messages: [Message]) throws(PollError) {
        guard !messages.isEmpty else { return }
        let remaining = Mutex((left: messages.count, firstError: String?.none))
        let done = DispatchSemaphore(value: 0)
        let completion: @Sendable (Result<DeliveryReport, KafkaError>) -> Void = { result in
            let finished = remaining.withLock { state -> Bool in
                if case .failure(let error) = result, state.firstError == nil { state.firstError = error.description }
                state.left -= 1
                return state.left == 0
            }
            if finished { done.signal() }
        }
        for m in messages {
            do {
                try producer.produce(topic: m.topic, key: m.key, value: m.value, headers: m.headers,
                                     whenFull: .wait(Self.backlogPatience), completion: completion)
            } catch {
                completion(.failure(error))
            }
        }
        done.wait()
        if let error = remaining.withLock({ $0.firstError }) {
            throw PollError(.publish, "Kafka did not acknowledge the page: \(error)")
        }
    }
}
