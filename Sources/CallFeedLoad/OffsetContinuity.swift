import Kafka

/// A stretch of a partition the loader never read: offsets `first ..< next` are gone (retention
/// deleted them before the group read them, or the broker lost them). The warehouse is missing
/// whatever they held, and only a vendor backfill of their time window can bring it back
/// (docs/operations.md, "Offsets lost").
public struct OffsetGap: Sendable, Equatable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    /// The first offset that was never read: the group's committed offset, or the one after the
    /// last message this loader read.
    public var first: Int64
    /// The offset actually read next.
    public var next: Int64

    /// Messages lost.
    public var count: Int64 { next - first }

    public var description: String { "\(topic)/\(partition) offsets \(first)...\(next - 1) (\(count) messages)" }
}

/// Checks that the loader reads every offset of each partition, in order, from where the group
/// left off.
///
/// The loader's topics are written by idempotent, non-transactional producers and are not
/// compacted, so consecutive messages of a partition have consecutive offsets. An offset beyond
/// the expected one is therefore data that nobody loaded: the committed offset had fallen below
/// the partition's low watermark (`auto.offset.reset=earliest` then silently restarted the group at
/// the oldest message still kept) or a broker lost acknowledged messages. Moving *backwards* is
/// normal (a batch re-read after a crash or a failed commit) and resets the expectation.
///
/// The expectation is kept per partition from the last message read. On the first message of a
/// partition and on every forward jump, the group's committed offset is asked for as well: after a
/// rebalance another member may have loaded and committed the stretch in between, and then the
/// jump is no loss. Only the loader thread calls this.
struct OffsetContinuity {
    private struct PartitionKey: Hashable {
        var topic: String
        var partition: Int32
    }

    private var expected: [PartitionKey: Int64] = [:]

    /// Records `message` as read and returns the gap in front of it, if any.
    /// - Parameter committed: The group's committed offset for the message's partition; nil when
    ///   none is committed (a new group: nothing to compare with) or it could not be read.
    mutating func check(_ message: KafkaMessage, committed: () -> Int64?) -> OffsetGap? {
        let key = PartitionKey(topic: message.topic, partition: message.partition)
        let known = expected[key]
        expected[key] = message.offset + 1
        if let known, message.offset <= known { return nil }  // in order, or re-read
        let baseline = [known, committed()].compactMap { $0 }.max()
        guard let baseline, message.offset > baseline else { return nil }
        return OffsetGap(topic: message.topic, partition: message.partition, first: baseline, next: message.offset)
    }
}
