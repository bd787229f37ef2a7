import CRdKafka

/// Reading a topic by position instead of by group assignment: what `callfeed replay` needs to
/// read a time range of the raw topic or the dead-letter topic from the start to a fixed end.
extension KafkaConsumer {
    /// What ``next(timeoutMilliseconds:)`` returned.
    public enum Event: Sendable {
        case message(KafkaMessage)
        /// The end of a partition was reached (only with `enable.partition.eof=true`).
        case partitionEnd(topic: String, partition: Int32, offset: Int64)
    }

    /// Reads exactly these partitions from these offsets (no group rebalancing; the group id is
    /// still used by ``commit(_:)``).
    public func assign(_ positions: [TopicPartitionOffset]) throws(KafkaError) {
        let list = rd_kafka_topic_partition_list_new(Int32(positions.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for p in positions {
            rd_kafka_topic_partition_list_add(list, p.topic, p.partition)?.pointee.offset = p.offset
        }
        let err = rd_kafka_assign(handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "assign partitions") }
    }

    /// The next message or partition end, nil when nothing arrived within the timeout.
    public func next(timeoutMilliseconds: Int32) throws(KafkaError) -> Event? {
        guard let m = rd_kafka_consumer_poll(handle, timeoutMilliseconds) else { return nil }
        defer { rd_kafka_message_destroy(m) }
        let err = m.pointee.err
        if err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
            let topic = m.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
            return .partitionEnd(topic: topic, partition: m.pointee.partition, offset: m.pointee.offset)
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "consume") }
        return .message(KafkaMessage(copying: m))
    }

    /// Number of partitions of `topic` (a metadata request); nil when the topic does not exist.
    public func partitionCount(of topic: String, timeoutMilliseconds: Int32 = 5_000) throws(KafkaError) -> Int32? {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 1, nil, &metadata, timeoutMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw KafkaError(err, context: "metadata") }
        defer { rd_kafka_metadata_destroy(metadata) }
        for i in 0..<Int(metadata.pointee.topic_cnt) {
            let t = metadata.pointee.topics[i]
            if String(cString: t.topic) == topic, t.err == RD_KAFKA_RESP_ERR_NO_ERROR, t.partition_cnt > 0 {
                return t.partition_cnt
            }
        }
        return nil
    }

    /// For each of `partitions`, the offset of the first message whose timestamp is at or after
    /// `timestampMilliseconds` (ListOffsets by time); nil when the broker says there is none.
    public func offsets(topic: String, partitions: [Int32], atOrAfter timestampMilliseconds: Int64,
                        timeoutMilliseconds: Int32 = 5_000) throws(KafkaError) -> [Int32: Int64?] {
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for p in partitions { rd_kafka_topic_partition_list_add(list, topic, p)?.pointee.offset = timestampMilliseconds }
        let err = rd_kafka_offsets_for_times(handle, list, timeoutMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { throw KafkaError(err, context: "offsets for times of \(topic)") }
        var result: [Int32: Int64?] = [:]
        for i in 0..<Int(list.pointee.cnt) {
            let e = list.pointee.elems[i]
            guard e.err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(e.err, context: "offset for time of \(topic)/\(e.partition)") }
            // -1 (RD_KAFKA_OFFSET_END): no message at or after the time.
            result[e.partition] = e.offset >= 0 ? e.offset : nil
        }
        return result
    }
}
