import CRdKafka
import CShims
import Foundation
import Synchronization

/// Where Kafka put an acknowledged message.
public struct DeliveryReport: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic; self.partition = partition; self.offset = offset
    }
}

/// Carries one message's completion through librdkafka's per-message opaque.
private final class DeliveryBox: Sendable {
    let completion: @Sendable (Result<DeliveryReport, KafkaError>) -> Void
    init(_ completion: @escaping @Sendable (Result<DeliveryReport, KafkaError>) -> Void) { self.completion = completion }
}

private let deliveryReportCallback: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?,
                                                    UnsafeMutableRawPointer?) -> Void = { _, message, _ in
    guard let message, let opaque = message.pointee._private else { return }
    let box = Unmanaged<DeliveryBox>.fromOpaque(opaque).takeRetainedValue()
    let msg = message.pointee
    if msg.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        let topic = msg.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        box.completion(.success(DeliveryReport(topic: topic, partition: msg.partition, offset: msg.offset)))
    } else {
        box.completion(.failure(KafkaError(msg.err, context: "delivery failed")))
    }
}

/// An idempotent (`enable.idempotence=true`, `acks=all`) librdkafka producer whose delivery reports
/// arrive as Swift completions.
///
/// A dedicated thread serves `rd_kafka_poll`, so completions run there, never on the cooperative
/// pool: keep them short (resume a connection, resume a continuation).
///
/// `@unchecked Sendable`: the only mutable state is the `rd_kafka_t` handle, which librdkafka
/// documents as thread-safe for produce/poll/flush, and an atomic run flag.
public final class KafkaProducer: @unchecked Sendable {
    private let handle: OpaquePointer
    private let poller = PollLoop()
    private let closed = Atomic<Bool>(false)
    /// Bounds the unloaded bytes per partition (the embedded mode's back-pressure), if set.
    public let gate: BacklogGate?

    /// What ``produce(topic:key:value:headers:whenFull:completion:)`` does when the gate has no room.
    public enum WhenFull: Sendable {
        /// Throw at once (``KafkaError/isQueueFull``): a webhook answers 503 + `Retry-After`.
        case refuse
        /// Block the calling thread up to this long for the loader to make room, then throw.
        case wait(Duration)
    }

    /// Properties always set (the durability contract); `properties` may add to them but not weaken them.
    public static let enforced: [String: String] = ["enable.idempotence": "true", "acks": "all"]

    /// - Parameters:
    ///   - properties: librdkafka properties (`bootstrap.servers`, `message.timeout.ms`, ...).
    ///   - gate: Back-pressure for a broker with bounded retention (``BacklogGate``).
    public init(properties: [String: String], gate: BacklogGate? = nil) throws(KafkaError) {
        self.gate = gate
        var all = properties
        for (k, v) in Self.enforced { all[k] = v }
        let conf = try makeConf(all)
        rd_kafka_conf_set_dr_msg_cb(conf, deliveryReportCallback)
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(code: -1, reason: "cannot create producer: \(redacting(KafkaSecrets.values(in: all), in: decodeCString(errstr)))")
        }
        handle = rk
        poller.start(SendableHandle(pointer: rk), name: "kafka-producer-poll")
    }

    deinit { close() }

    /// Enqueues a message; `completion` runs once Kafka acknowledged it (all in-sync replicas) or
    /// gave up (`message.timeout.ms`). Throws without calling `completion` if it cannot be queued,
    /// or if the ``gate`` has no room for it (``KafkaError/isQueueFull``; see `whenFull`).
    public func produce(topic: String, key: [UInt8]?, value: [UInt8], headers: [(String, String)] = [],
                        whenFull: WhenFull = .refuse,
                        completion: @escaping @Sendable (Result<DeliveryReport, KafkaError>) -> Void) throws(KafkaError) {
        var completion = completion
        if let gate, gate.topics.contains(topic) {
            let size = BacklogGate.size(key: key, value: value, headers: headers)
            let waiting: Duration? = if case .wait(let patience) = whenFull { patience } else { nil }
            guard gate.admit(topic: topic, bytes: size, waiting: waiting) else {
                throw KafkaError(code: RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue,
                                 reason: "\(topic): the loader is \(gate.limitBytes) bytes behind (embedded back-pressure); retry later")
            }
            let inner = completion
            completion = { result in
                switch result {
                case .success(let report): gate.delivered(report, bytes: size)
                case .failure: gate.undelivered(topic: topic, bytes: size)
                }
                inner(result)
            }
        }
        var hdrs: OpaquePointer? = nil
        if !headers.isEmpty {
            hdrs = rd_kafka_headers_new(headers.count)
            for (name, value) in headers {
                _ = rd_kafka_header_add(hdrs, name, -1, value, -1)
            }
        }
        let opaque = Unmanaged.passRetained(DeliveryBox(completion)).toOpaque()
        let err = value.withUnsafeBytes { v in
            if let key {
                return key.withUnsafeBytes { k in
                    cshim_rd_kafka_produce(handle, topic, RD_KAFKA_PARTITION_UA, k.baseAddress, k.count,
                                           v.baseAddress, v.count, hdrs, opaque)
                }
            }
            return cshim_rd_kafka_produce(handle, topic, RD_KAFKA_PARTITION_UA, nil, 0, v.baseAddress, v.count, hdrs, opaque)
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            if let gate { gate.undelivered(topic: topic, bytes: BacklogGate.size(key: key, value: value, headers: headers)) }
            Unmanaged<DeliveryBox>.fromOpaque(opaque).release()
            if let hdrs { rd_kafka_headers_destroy(hdrs) }
            throw KafkaError(err, context: "cannot enqueue message for \(topic)")
        }
    }

    /// Produces and waits for the delivery report.
    public func send(topic: String, key: [UInt8]?, value: [UInt8], headers: [(String, String)] = []) async throws(KafkaError) -> DeliveryReport {
        let result: Result<DeliveryReport, KafkaError> = await withCheckedContinuation { continuation in
            do throws(KafkaError) {
                try produce(topic: topic, key: key, value: value, headers: headers) { continuation.resume(returning: $0) }
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }

    /// Produces and blocks the calling thread until delivered (for loader threads, never the pool).
    public func sendBlocking(topic: String, key: [UInt8]?, value: [UInt8], headers: [(String, String)] = []) throws(KafkaError) -> DeliveryReport {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<DeliveryReport, KafkaError>?>(nil)
        try produce(topic: topic, key: key, value: value, headers: headers) { result in
            box.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return try box.withLock { $0! }.get()
    }

    /// Messages produced and not yet delivered or failed (librdkafka's out-queue, requests included).
    public var outstandingMessages: Int { Int(rd_kafka_outq_len(handle)) }

    /// Whether a broker answers a metadata request within `timeoutMilliseconds` (blocking).
    public func brokersReachable(timeoutMilliseconds: Int32) -> Bool {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 0, nil, &metadata, timeoutMilliseconds)
        if let metadata { rd_kafka_metadata_destroy(metadata) }
        return err == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    /// Messages in `topic` (sum over `partitions` of high minus low watermark), asked of the brokers.
    public func messageCount(topic: String, partitions: [Int32], timeoutMilliseconds: Int32 = 5_000) throws(KafkaError) -> Int64 {
        try watermarks(topic: topic, partitions: partitions, timeoutMilliseconds: timeoutMilliseconds).reduce(0) { $0 + $1.high - $1.low }
    }

    /// Low (oldest kept) and high (next to be written) offsets of each partition, asked of the brokers.
    public func watermarks(topic: String, partitions: [Int32],
                           timeoutMilliseconds: Int32 = 5_000) throws(KafkaError) -> [(low: Int64, high: Int64)] {
        var result: [(low: Int64, high: Int64)] = []
        for partition in partitions {
            var low: Int64 = 0
            var high: Int64 = 0
            let err = rd_kafka_query_watermark_offsets(handle, topic, partition, &low, &high, timeoutMilliseconds)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, context: "watermarks of \(topic)/\(partition)") }
            result.append((low, high))
        }
        return result
    }

    /// Messages queued or in flight (not yet acknowledged).
    public var outstanding: Int { Int(rd_kafka_outq_len(handle)) }

    /// Waits until every queued message is acknowledged or failed, up to `timeoutMilliseconds`.
    /// Returns false if messages were still outstanding at the deadline.
    @discardableResult
    public func flush(timeoutMilliseconds: Int32) -> Bool {
        rd_kafka_flush(handle, timeoutMilliseconds) == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    /// Flushes (up to 10 s), stops the poll thread and destroys the handle. Idempotent.
    public func close(flushTimeoutMilliseconds: Int32 = 10_000) {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        rd_kafka_flush(handle, flushTimeoutMilliseconds)
        poller.stop()
        // Undelivered messages get their reports (purged) during destroy, releasing their boxes.
        rd_kafka_purge(handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
        rd_kafka_poll(handle, 0)
        rd_kafka_destroy(handle)
    }
}

/// The thread that serves a handle's callbacks with `rd_kafka_poll` until stopped.
final class PollLoop: Sendable {
    private let running = Atomic<Bool>(true)
    private let done = DispatchSemaphore(value: 0)

    func start(_ handle: SendableHandle, name: String) {
        let thread = Thread { [self] in
            while running.load(ordering: .acquiring) { rd_kafka_poll(handle.pointer, 50) }
            done.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Stops the loop and waits for the thread to leave `rd_kafka_poll`.
    func stop() {
        running.store(false, ordering: .releasing)
        done.wait()
    }
}
