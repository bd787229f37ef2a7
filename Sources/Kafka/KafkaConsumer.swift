import CRdKafka
import Foundation

/// A consumer-group member with manual offset commits (`enable.auto.commit=false`).
///
/// Not thread-safe by design: one loader thread owns it and calls ``poll(timeoutMilliseconds:)``
/// and ``commit(_:)`` in turn. `@unchecked Sendable` only so that owner can be moved onto its thread.
public final class KafkaConsumer: @unchecked Sendable {
    let handle: OpaquePointer
    private var closed = false

    public static let enforced: [String: String] = [
        "enable.auto.commit": "false",
        "enable.auto.offset.store": "false",
    ]

    /// - Parameters:
    ///   - groupID: the consumer group; loaders in one group share the partitions.
    ///   - properties: librdkafka properties (`bootstrap.servers`, ...). `auto.offset.reset`
    ///     defaults to `earliest` so a new group loads the topic from the start.
    public init(groupID: String, properties: [String: String]) throws(KafkaError) {
        var all = ["auto.offset.reset": "earliest"].merging(properties) { _, new in new }
        all["group.id"] = groupID
        for (k, v) in Self.enforced { all[k] = v }
        let conf = try makeConf(all)
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(code: -1, reason: "cannot create consumer: \(redacting(KafkaSecrets.values(in: all), in: decodeCString(errstr)))")
        }
        handle = rk
        rd_kafka_poll_set_consumer(rk)
    }

    deinit { close() }

    public func subscribe(_ topics: [String]) throws(KafkaError) {
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
        let err = rd_kafka_subscribe(handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "subscribe \(topics)") }
    }

    /// The next message, or nil when none arrived within the timeout. Consumer-level events that
    /// are not errors of the data (partition EOF) are skipped; others throw.
    public func poll(timeoutMilliseconds: Int32) throws(KafkaError) -> KafkaMessage? {
        guard let m = rd_kafka_consumer_poll(handle, timeoutMilliseconds) else { return nil }
        defer { rd_kafka_message_destroy(m) }
        let err = m.pointee.err
        if err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return nil }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "consume") }
        return KafkaMessage(copying: m)
    }

    /// Synchronously commits `offsets` (each the next offset to read) for this group.
    public func commit(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for o in offsets {
            rd_kafka_topic_partition_list_add(list, o.topic, o.partition)?.pointee.offset = o.offset
        }
        let err = rd_kafka_commit(handle, list, 0)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "commit offsets") }
    }

    /// The group's committed offsets for `partitions` of `topic` (-1001 = none committed).
    public func committed(topic: String, partitions: [Int32], timeoutMilliseconds: Int32 = 5_000) throws(KafkaError) -> [Int32: Int64] {
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for p in partitions { rd_kafka_topic_partition_list_add(list, topic, p) }
        let err = rd_kafka_committed(handle, list, timeoutMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { throw KafkaError(err, context: "read committed offsets") }
        var result: [Int32: Int64] = [:]
        for i in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[i]
            result[element.partition] = element.offset
        }
        return result
    }

    /// The end offset (high watermark: the offset the next message will get) of each of
    /// `partitions` of `topic`, asked of the partition leaders.
    public func endOffsets(topic: String, partitions: [Int32], timeoutMilliseconds: Int32 = 5_000) throws(KafkaError) -> [Int32: Int64] {
        try watermarks(topic: topic, partitions: partitions, timeoutMilliseconds: timeoutMilliseconds).mapValues(\.high)
    }

    /// The low (oldest kept) and high (next to be written) offsets of each of `partitions`.
    public func watermarks(topic: String, partitions: [Int32],
                           timeoutMilliseconds: Int32 = 5_000) throws(KafkaError) -> [Int32: (low: Int64, high: Int64)] {
        var result: [Int32: (low: Int64, high: Int64)] = [:]
        for partition in partitions {
            var low: Int64 = 0, high: Int64 = 0
            let err = rd_kafka_query_watermark_offsets(handle, topic, partition, &low, &high, timeoutMilliseconds)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "watermarks of \(topic)/\(partition)") }
            result[partition] = (low, high)
        }
        return result
    }

    /// Partitions currently assigned to this member (0 until the group join completes).
    /// Safe to call from another thread than the polling one.
    public func assignedPartitionCount() -> Int {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(handle, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return 0 }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return Int(list.pointee.cnt)
    }

    /// The partitions currently assigned to this member, with the position of each (the offset of
    /// the next message `poll` will return; nil before the first fetch of that partition).
    public func assignment() -> [(topic: String, partition: Int32, position: Int64?)] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(handle, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        _ = rd_kafka_position(handle, list)
        return (0..<Int(list.pointee.cnt)).map { index in
            let element = list.pointee.elems[index]
            return (String(cString: element.topic), element.partition, element.offset >= 0 ? element.offset : nil)
        }
    }

    /// The low and high watermarks librdkafka last saw for a partition in its fetch responses (no
    /// request to the broker: cheap enough to call after every batch); nil until a fetch returned them.
    public func cachedWatermarks(topic: String, partition: Int32) -> (low: Int64, high: Int64)? {
        var low: Int64 = -1, high: Int64 = -1
        guard rd_kafka_get_watermark_offsets(handle, topic, partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
              high >= 0 else { return nil }
        return (max(low, 0), high)
    }

    /// Leaves the group cleanly (revokes partitions) and destroys the handle. Idempotent.
    public func close() {
        guard !closed else { return }
        closed = true
        rd_kafka_consumer_close(handle)
        rd_kafka_destroy(handle)
    }
}
