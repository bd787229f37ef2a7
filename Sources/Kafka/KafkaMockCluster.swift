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
}
