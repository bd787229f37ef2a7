import Dispatch
import Kafka
import Logging
import Synchronization

/// Counts produced messages until their delivery reports arrive; ``wait()`` blocks until all have.
final class Acknowledgements: Sendable {
    private let state = Mutex((outstanding: 0, firstError: String?.none))
    private let drained = DispatchSemaphore(value: 0)

    /// Produces through `producer`, counting the message.
    func produce(_ producer: KafkaProducer, topic: String, key: [UInt8]?, value: [UInt8], headers: [(String, String)]) {
        state.withLock { $0.outstanding += 1 }
        do {
            try producer.produce(topic: topic, key: key, value: value, headers: headers, whenFull: .wait(.seconds(120))) { [self] result in
                finish(result)
            }
        } catch {
            finish(.failure(error))
        }
    }

    private func finish(_ result: Result<DeliveryReport, KafkaError>) {
        let empty = state.withLock { s -> Bool in
            if case .failure(let error) = result, s.firstError == nil { s.firstError = error.description }
            s.outstanding -= 1
            return s.outstanding == 0
        }
        if empty { drained.signal() }
    }

    /// Waits for every outstanding report; the first failure, if any.
    func wait() -> String? {
        // A signal is sent each time the count reaches zero, so a stale one may wake us early: re-check.
        while state.withLock({ $0.outstanding }) > 0 { drained.wait() }
        return state.withLock { s in
            let error = s.firstError
            s.firstError = nil
            return error
        }
    }
}

extension KafkaConsumer {
    /// Waits for every republished record of `acks`, then saves `position` of `topic` in the group.
    /// A failed acknowledgement throws (the position stays where it was); a failed commit only warns
    /// (a rerun repeats some records, which changes nothing).
    func commit(after acks: Acknowledgements, topic: String, _ position: [Int32: Int64], logger: Logger) throws(ReplayError) {
        if let error = acks.wait() { throw ReplayError("a republished record was not acknowledged: \(error)") }
        do {
            try commit(position.map { TopicPartitionOffset(topic: topic, partition: $0.key, offset: $0.value) })
        } catch {
            logger.warning("could not save the position in \(topic) (a rerun would repeat some records)", metadata: ["error": "\(error)"])
        }
    }
}
