import CRdKafka

/// librdkafka's in-process mock cluster: real Kafka protocol on 127.0.0.1 ephemeral ports.
/// Used by `callfeed dev` (embedded mode) and by the tests. Keep the object alive as long as any
/// client uses it (in -O builds ARC may release it after its last Swift use: hold it in a property
/// or use `withExtendedLifetime`).
///
/// `@unchecked Sendable`: the mock cluster runs on its own librdkafka thread; the handles here are
/// only created and destroyed, and its fault-injection calls are thread-safe.
public final class KafkaMockCluster: @unchecked Sendable {
    private let owner: OpaquePointer
    private let cluster: OpaquePointer
    /// `host:port,...` to pass as `bootstrap.servers`.
    public let bootstrapServers: String
    public let brokerCount: Int32

    public init(brokers: Int32 = 3) throws(KafkaError) {
        // The mock cluster needs a client instance to live in; a producer that never produces will do.
        let conf = try makeConf(["client.id": "callfeed-mock-cluster", "log_level": "3"])
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(code: -1, reason: "cannot create mock cluster owner: \(decodeCString(errstr))")
        }
        guard let mc = rd_kafka_mock_cluster_new(rk, brokers) else {
            rd_kafka_destroy(rk)
            throw KafkaError(code: -1, reason: "cannot create mock cluster")
        }
        owner = rk
        cluster = mc
        brokerCount = brokers
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(mc))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(owner)
    }

    /// Creates a topic (the mock would otherwise auto-create it with default partitions).
    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1) throws(KafkaError) {
        let err = rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "create topic \(name)") }
    }

    /// Takes a broker down (connections closed, requests refused) — fault injection for tests.
    public func setBroker(_ id: Int32, up: Bool) {
        if up { _ = rd_kafka_mock_broker_set_up(cluster, id) } else { _ = rd_kafka_mock_broker_set_down(cluster, id) }
    }

    /// Takes every broker down or brings every one back: "Kafka is down".
    public func setAllBrokers(up: Bool) {
        for id in 1...brokerCount { setBroker(id, up: up) }
    }

    /// Makes the next `errors.count` requests of Kafka API `apiKey` (0 = Produce, 1 = Fetch,
    /// 8 = OffsetCommit, ...) fail with these error codes, in order, on whichever broker gets them.
    /// Codes by name: ``errorCode(named:)``.
    public func pushRequestErrors(apiKey: Int16, _ codes: [Int32]) {
        let errors = codes.map { rd_kafka_resp_err_t(rawValue: $0) }
        errors.withUnsafeBufferPointer { buffer in
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, buffer.count, buffer.baseAddress)
        }
    }

    /// Delays every answer of broker `id` by `milliseconds` (0 restores it): a slow or distant broker.
    public func setBrokerRTT(_ id: Int32, milliseconds: Int32) {
        _ = rd_kafka_mock_broker_set_rtt(cluster, id, milliseconds)
    }

    /// The code of a Kafka error by its protocol name (`NOT_LEADER_FOR_PARTITION`, `REQUEST_TIMED_OUT`,
    /// ...), as librdkafka names it without the `RD_KAFKA_RESP_ERR_` prefix.
    public static func errorCode(named name: String) -> Int32? {
        var descriptions: UnsafePointer<rd_kafka_err_desc>?
        var count = 0
        rd_kafka_get_err_descs(&descriptions, &count)
        guard let descriptions else { return nil }
        for index in 0..<count {
            let entry = descriptions[index]
            if let entryName = entry.name, String(cString: entryName) == name { return entry.code.rawValue }
        }
        return nil
    }
}
