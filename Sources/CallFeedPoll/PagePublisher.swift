import CallFeedCore
import Foundation
import Kafka
import Synchronization

/// Publishes one page's results and waits until Kafka acknowledged all of them: CallEvents to the
/// calls topic (key event_id), each record as the vendor sent it to the raw topic, and records
/// that could not be mapped to the dead-letter topic with the reason.
struct PagePublisher: Sendable {
    let producer: KafkaProducer
    let topics: Topics

    struct Rejected: Sendable {
        var record: [UInt8]
        var reason: String
    }

    func publish(events: [(event: CallEvent, raw: [UInt8])], rejected: [Rejected], vendor: String, route: String) throws(PollError) {
        let total = events.count * 2 + rejected.count
        guard total > 0 else { return }
        let remaining = Mutex((left: total, firstError: String?.none))
        let done = DispatchSemaphore(value: 0)
        let completion: @Sendable (Result<DeliveryReport, KafkaError>) -> Void = { result in
            let finished = remaining.withLock { state -> Bool in
                if case .failure(let error) = result, state.firstError == nil { state.firstError = error.description }
                state.left -= 1
                return state.left == 0
            }
            if finished { done.signal() }
        }
        var enqueueError: KafkaError?
        func produce(_ topic: String, key: [UInt8]?, value: [UInt8], headers: [(String, String)]) {
            do {
                try producer.produce(topic: topic, key: key, value: value, headers: headers, completion: completion)
            } catch {
                enqueueError = enqueueError ?? error
                completion(.failure(error))
            }
        }
        for (event, raw) in events {
            let key = Array(event.eventID.utf8)
            produce(topics.calls, key: key, value: event.jsonBytes(), headers: [(RecordHeader.source, vendor)])
            produce(topics.raw, key: key, value: raw, headers: [
                (RecordHeader.source, vendor), (RecordHeader.route, route),
                (RecordHeader.receivedAt, event.receivedAt.rfc3339), (RecordHeader.eventID, event.eventID),
            ])
        }
        for r in rejected {
            produce(topics.deadLetters, key: nil, value: r.record, headers: [
                (RecordHeader.source, vendor), (RecordHeader.route, route), (RecordHeader.reason, r.reason),
                (RecordHeader.stage, "poll"), (RecordHeader.receivedAt, Timestamp.now().rfc3339),
            ])
        }
        done.wait()
        if let error = remaining.withLock({ $0.firstError }) {
            throw PollError(.publish, "Kafka did not acknowledge the page: \(error)")
        }
    }
}
