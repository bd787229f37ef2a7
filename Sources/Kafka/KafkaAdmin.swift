import CRdKafka

/// Topic administration through the Kafka Admin API (CreateTopics), on any broker that speaks it:
/// Apache Kafka, tansu, librdkafka's mock cluster. Used by the tests and by whoever must create the
/// topics before the services start (docs/deploy.md).
///
/// `@unchecked Sendable`: one librdkafka client handle, thread-safe for the admin calls made here.
public final class KafkaAdmin: @unchecked Sendable {
    private let handle: OpaquePointer

    /// - Parameter properties: librdkafka properties (`bootstrap.servers`, security settings).
    public init(properties: [String: String]) throws(KafkaError) {
        let conf = try makeConf(properties)
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(code: -1, reason: "cannot create admin client: \(redacting(KafkaSecrets.values(in: properties), in: decodeCString(errstr)))")
        }
        handle = rk
    }

    deinit { rd_kafka_destroy(handle) }

    /// Creates each topic with `partitions` partitions. A topic that already exists is left as it
    /// is (not an error), so the call can be repeated; any other per-topic error throws, naming it.
    public func createTopics(_ names: [String], partitions: Int32, replicationFactor: Int32 = 1,
                             timeoutMilliseconds: Int32 = 10_000) throws(KafkaError) {
        guard !names.isEmpty else { return }
        var errstr = [CChar](repeating: 0, count: 512)
        var specs: [OpaquePointer?] = []
        defer { for spec in specs { rd_kafka_NewTopic_destroy(spec) } }
        for name in names {
            guard let spec = rd_kafka_NewTopic_new(name, partitions, replicationFactor, &errstr, errstr.count) else {
                throw KafkaError(code: -1, reason: "invalid topic \(name): \(decodeCString(errstr))")
            }
            specs.append(spec)
        }
        guard let queue = rd_kafka_queue_new(handle) else { throw KafkaError(code: -1, reason: "rd_kafka_queue_new failed") }
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMilliseconds, &errstr, errstr.count)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeoutMilliseconds, &errstr, errstr.count)
        specs.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_CreateTopics(handle, buffer.baseAddress, buffer.count, options, queue)
        }
        guard let event = rd_kafka_queue_poll(queue, timeoutMilliseconds + 2_000) else {
            throw KafkaError(code: RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue, reason: "CreateTopics: no answer within \(timeoutMilliseconds) ms")
        }
        defer { rd_kafka_event_destroy(event) }
        let err = rd_kafka_event_error(event)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: err.rawValue, reason: "CreateTopics: \(String(cString: rd_kafka_event_error_string(event)))")
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw KafkaError(code: -1, reason: "CreateTopics: unexpected event type")
        }
        var count = 0
        guard let topics = rd_kafka_CreateTopics_result_topics(result, &count) else { return }
        for i in 0..<count {
            let topic = topics[i]
            let code = rd_kafka_topic_result_error(topic)
            if code == RD_KAFKA_RESP_ERR_NO_ERROR || code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS { continue }
            let name = String(cString: rd_kafka_topic_result_name(topic))
            let message = rd_kafka_topic_result_error_string(topic).map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(code))
            throw KafkaError(code: code.rawValue, reason: "cannot create topic \(name): \(message)")
        }
    }

    /// Partition count of each of `names` that exists (metadata request).
    public func partitionCounts(_ names: [String], timeoutMilliseconds: Int32 = 5_000) throws(KafkaError) -> [String: Int] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 1, nil, &metadata, timeoutMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw KafkaError(err, context: "metadata") }
        defer { rd_kafka_metadata_destroy(metadata) }
        var result: [String: Int] = [:]
        let wanted = Set(names)
        for i in 0..<Int(metadata.pointee.topic_cnt) {
            let topic = metadata.pointee.topics[i]
            let name = String(cString: topic.topic)
            if wanted.contains(name), topic.err == RD_KAFKA_RESP_ERR_NO_ERROR { result[name] = Int(topic.partition_cnt) }
        }
        return result
    }
}
