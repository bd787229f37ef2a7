import Foundation

/// Back-pressure for a broker whose retention is smaller than a loader's backlog can grow: the
/// embedded mode's librdkafka mock cluster keeps at most 5 MiB per partition and silently drops
/// the oldest messages beyond that, read or not (docs/reliability.md, "Brokers").
///
/// The gate counts, for each partition of the topics a loader consumes, the bytes Kafka has
/// acknowledged and the loader has not yet committed to the warehouse, plus the bytes enqueued and
/// not yet acknowledged (their partition is not known until then, so they count against every
/// partition). A message is admitted only while that stays within ``limitBytes``, so a partition's
/// unloaded data never exceeds the limit and the broker never deletes what the loader has not read.
///
/// - The producer calls ``admit(topic:bytes:waiting:)`` before it enqueues, then ``delivered(_:bytes:)``
///   or ``undelivered(bytes:)`` from the delivery report (``KafkaProducer/init(properties:gate:)``).
/// - The loader calls ``loaded(_:)`` after each warehouse commit.
///
/// Webhooks are refused at once (`503` + `Retry-After`); pollers wait for room.
public final class BacklogGate: @unchecked Sendable {
    /// Most unloaded bytes per partition (acknowledged and enqueued together).
    public let limitBytes: Int
    /// The topics counted (those the loader consumes); every other topic passes freely.
    public let topics: Set<String>

    /// Bytes the broker stores for one message beyond its key, value and headers, counted as if
    /// every message were a batch of its own (record batch header 61 bytes, record varints and
    /// header lengths): an upper bound, so the estimate never undercounts.
    public static let overheadBytes = 100

    private struct PartitionKey: Hashable {
        var topic: String
        var partition: Int32
    }

    /// One partition's acknowledged, unloaded messages in offset order.
    private struct Ledger {
        var entries: [(offset: Int64, bytes: Int)] = []
        var head = 0
        var bytes = 0

        mutating func append(offset: Int64, bytes size: Int) {
            entries.append((offset, size))
            bytes += size
        }

        /// Drops the messages before `next` (loaded). Delivery reports of one partition arrive in
        /// offset order (idempotent producer), so the loaded ones are a prefix.
        mutating func release(before next: Int64) {
            while head < entries.count, entries[head].offset < next {
                bytes -= entries[head].bytes
                head += 1
            }
            if head > 1024 && head * 2 > entries.count {
                entries.removeFirst(head)
                head = 0
            }
        }
    }

    private let condition = NSCondition()
    private var pending = 0
    private var ledgers: [PartitionKey: Ledger] = [:]
    private var refusedCount = 0
    private var waitedCount = 0

    public init(limitBytes: Int, topics: Set<String>) {
        self.limitBytes = limitBytes
        self.topics = topics
    }

    /// What the broker stores for a message, at most (``overheadBytes`` included).
    public static func size(key: [UInt8]?, value: [UInt8], headers: [(String, String)]) -> Int {
        (key?.count ?? 0) + value.count + headers.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count } + overheadBytes
    }

    /// Reserves room for a message of `bytes` on `topic`. Returns false when there is none: at once,
    /// or, with `waiting`, after waiting that long for the loader to make room. A gate with nothing
    /// outstanding always admits, so a message larger than the limit cannot block forever.
    public func admit(topic: String, bytes: Int, waiting: Duration? = nil) -> Bool {
        guard topics.contains(topic) else { return true }
        condition.lock()
        defer { condition.unlock() }
        if !fits(bytes), let waiting {
            waitedCount += 1
            let deadline = Date().addingTimeInterval(waiting / .seconds(1))
            while !fits(bytes) && condition.wait(until: deadline) {}
        }
        guard fits(bytes) else {
            refusedCount += 1
            return false
        }
        pending += bytes
        return true
    }

    /// Caller holds the lock.
    private func fits(_ bytes: Int) -> Bool {
        let largest = ledgers.values.lazy.map(\.bytes).max() ?? 0
        return pending + largest == 0 || pending + largest + bytes <= limitBytes
    }

    /// An admitted message was acknowledged at `report`'s partition and offset.
    public func delivered(_ report: DeliveryReport, bytes: Int) {
        guard topics.contains(report.topic) else { return }
        condition.lock()
        pending -= bytes
        ledgers[PartitionKey(topic: report.topic, partition: report.partition), default: Ledger()]
            .append(offset: report.offset, bytes: bytes)
        condition.unlock()
    }

    /// An admitted message was not stored (enqueue or delivery failed): its room is free again.
    public func undelivered(topic: String, bytes: Int) {
        guard topics.contains(topic) else { return }
        condition.lock()
        pending -= bytes
        condition.broadcast()
        condition.unlock()
    }

    /// The loader committed these partitions up to (not including) each offset to the warehouse.
    public func loaded(_ next: [TopicPartitionOffset]) {
        condition.lock()
        for position in next where topics.contains(position.topic) {
            ledgers[PartitionKey(topic: position.topic, partition: position.partition)]?.release(before: position.offset)
        }
        condition.broadcast()
        condition.unlock()
    }

    /// Figures for `/metrics`.
    public struct Snapshot: Sendable, Equatable {
        /// Enqueued, not yet acknowledged.
        public var pendingBytes: Int
        /// The fullest partition's acknowledged, unloaded bytes.
        public var largestPartitionBytes: Int
        /// Messages refused (webhooks answered 503, or a poller that waited in vain).
        public var refused: Int
        /// Admissions that had to wait for the loader.
        public var waited: Int

        public init(pendingBytes: Int, largestPartitionBytes: Int, refused: Int, waited: Int) {
            self.pendingBytes = pendingBytes; self.largestPartitionBytes = largestPartitionBytes
            self.refused = refused; self.waited = waited
        }
    }

    public var snapshot: Snapshot {
        condition.lock()
        defer { condition.unlock() }
        return Snapshot(pendingBytes: pending, largestPartitionBytes: ledgers.values.map(\.bytes).max() ?? 0,
                        refused: refusedCount, waited: waitedCount)
    }
}
