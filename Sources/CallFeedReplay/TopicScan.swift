import Kafka

/// Reads fixed offset ranges of one topic's partitions with an assigned (not subscribed) consumer.
/// The consumer needs `enable.partition.eof=true` so the end of a partition is seen at once.
struct TopicScan {
    let consumer: KafkaConsumer
    let topic: String
    /// How long the scan waits without a message before giving up (the broker is gone, or the
    /// range's tail was deleted).
    var idleLimitMilliseconds = 30_000

    /// Calls `visit` for every message in [`from`, `to`) of each partition, in offset order within a
    /// partition. Messages the broker no longer has are skipped (the consumer resets to the oldest kept).
    func read(from: [Int32: Int64], to: [Int32: Int64], visit: (KafkaMessage) throws(ReplayError) -> Void) throws(ReplayError) {
        var remaining = Set(from.keys.filter { (from[$0] ?? 0) < (to[$0] ?? 0) })
        guard !remaining.isEmpty else { return }
        do {
            try consumer.assign(remaining.sorted().map { TopicPartitionOffset(topic: topic, partition: $0, offset: from[$0]!) })
        } catch {
            throw ReplayError("cannot read \(topic): \(error)")
        }
        var idle = 0
        while !remaining.isEmpty {
            let event: KafkaConsumer.Event?
            do {
                event = try consumer.next(timeoutMilliseconds: 200)
            } catch {
                throw ReplayError("reading \(topic) failed: \(error)")
            }
            switch event {
            case nil:
                idle += 200
                if idle >= idleLimitMilliseconds {
                    throw ReplayError("no message from \(topic) partitions \(remaining.sorted()) for \(idleLimitMilliseconds / 1000) s")
                }
            case .partitionEnd(_, let partition, let offset):
                if let end = to[partition], offset >= end { remaining.remove(partition) }
            case .message(let message):
                idle = 0
                guard let end = to[message.partition], remaining.contains(message.partition) else { continue }
                if message.offset < end { try visit(message) }
                if message.offset >= end - 1 { remaining.remove(message.partition) }
            }
        }
    }
}

extension TopicScan {
    /// The low and high watermark of every partition of the topic.
    func bounds() throws(ReplayError) -> (low: [Int32: Int64], high: [Int32: Int64]) {
        do {
            guard let count = try consumer.partitionCount(of: topic) else { throw ReplayError("topic \(topic) does not exist") }
            let marks = try consumer.watermarks(topic: topic, partitions: Array(0..<count))
            return (marks.mapValues(\.low), marks.mapValues(\.high))
        } catch let error as ReplayError {
            throw error
        } catch {
            throw ReplayError("cannot read the offsets of \(topic): \(error)")
        }
    }

    /// The message at `offset` of `partition` (nil when it is gone or past the end).
    func message(partition: Int32, at offset: Int64) throws(ReplayError) -> KafkaMessage? {
        var found: KafkaMessage?
        do {
            try consumer.assign([TopicPartitionOffset(topic: topic, partition: partition, offset: offset)])
            let deadline = ContinuousClock.now + .milliseconds(Int64(idleLimitMilliseconds))
            while ContinuousClock.now < deadline {
                switch try consumer.next(timeoutMilliseconds: 200) {
                case .message(let m)?: found = m
                case .partitionEnd?: return nil
                case nil: continue
                }
                break
            }
        } catch {
            throw ReplayError("cannot read \(topic)/\(partition) at \(offset): \(error)")
        }
        return found
    }

    /// Per partition, the first offset whose message timestamp is at or after `timestampMilliseconds`.
    /// The broker's answer (ListOffsets by time) is checked against the messages around it; where it
    /// is wrong or unsupported (librdkafka's mock cluster answers "end"; tansu 0.6.0's offsets are
    /// wrong, docs/reliability.md) the offset is found by a binary search over the partition,
    /// reading one message per step. Timestamps need not be strictly ordered for the result to be
    /// useful: callers seek earlier than they need and filter by the records' own times.
    func firstOffsets(atOrAfter timestampMilliseconds: Int64, brokerAnswer: [Int32: Int64?],
                      low: [Int32: Int64], high: [Int32: Int64]) throws(ReplayError) -> [Int32: Int64] {
        var result: [Int32: Int64] = [:]
        for (partition, end) in high {
            let start = low[partition] ?? 0
            func isAfter(_ offset: Int64) throws(ReplayError) -> Bool? {
                try message(partition: partition, at: offset).map { ($0.timestampMilliseconds ?? 0) >= timestampMilliseconds }
            }
            // No message at or after the time: the answer is the end.
            if let reply = brokerAnswer[partition], case let answer = reply ?? end, answer >= start, answer <= end {
                var consistent = true
                if answer > start, try isAfter(answer - 1) != false { consistent = false }
                if consistent, answer < end, try isAfter(answer) != true { consistent = false }
                if consistent {
                    result[partition] = answer
                    continue
                }
            }
            var lo = start, hi = end
            while lo < hi {
                let mid = lo + (hi - lo) / 2
                if try isAfter(mid) ?? true { hi = mid } else { lo = mid + 1 }
            }
            result[partition] = lo
        }
        return result
    }
}

/// A replay that could not go on (Kafka unreachable, a publish not acknowledged).
public struct ReplayError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
