import CRdKafka

/// A message read from a topic, copied out of librdkafka's buffers.
public struct KafkaMessage: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [(name: String, value: [UInt8])]
    /// Message timestamp (ms since epoch) when the broker or producer set one.
    public var timestampMilliseconds: Int64?

    public init(topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8],
                headers: [(name: String, value: [UInt8])] = [], timestampMilliseconds: Int64? = nil) {
        self.topic = topic; self.partition = partition; self.offset = offset
        self.key = key; self.value = value; self.headers = headers
        self.timestampMilliseconds = timestampMilliseconds
    }

    /// The first header with `name`, as UTF-8 text.
    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }.map { String(decoding: $0.value, as: UTF8.self) }
    }

    init(copying m: UnsafePointer<rd_kafka_message_t>) {
        let msg = m.pointee
        topic = msg.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        partition = msg.partition
        offset = msg.offset
        key = msg.key.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.key_len)) }
        value = msg.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.len)) } ?? []
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ts = rd_kafka_message_timestamp(m, &type)
        timestampMilliseconds = ts >= 0 ? ts : nil
        headers = []
        var hdrs: OpaquePointer?
        if rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs {
            var index = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(hdrs, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                headers.append((name.map { String(cString: $0) } ?? "", bytes))
                index += 1
            }
        }
    }
}

/// A position to commit: the offset of the *next* message to read in `topic`/`partition`.
public struct TopicPartitionOffset: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic; self.partition = partition; self.offset = offset
    }
}
