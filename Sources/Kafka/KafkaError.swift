import CRdKafka
import Foundation

/// A librdkafka error: its numeric code (`rd_kafka_resp_err_t`) and a readable reason.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    public var code: Int32
    public var reason: String

    public init(code: Int32, reason: String) {
        self.code = code
        self.reason = reason
    }

    init(_ err: rd_kafka_resp_err_t, context: String) {
        self.code = err.rawValue
        self.reason = "\(context): \(String(cString: rd_kafka_err2str(err)))"
    }

    /// The delivery did not finish within `message.timeout.ms`.
    public var isTimeout: Bool { code == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue }

    /// No room to queue the message: librdkafka's queue is full, or a ``BacklogGate`` refused it.
    /// A webhook answers 503 with `Retry-After` at once (load shedding).
    public var isQueueFull: Bool { code == RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue }

    public var description: String { "kafka error \(code): \(reason)" }
}

/// Builds an `rd_kafka_conf_t` from string properties, naming the property librdkafka rejects but
/// never its value (librdkafka quotes invalid values, and a secret may sit under the wrong key).
func makeConf(_ properties: [String: String]) throws(KafkaError) -> OpaquePointer {
    guard let conf = rd_kafka_conf_new() else { throw KafkaError(code: -1, reason: "rd_kafka_conf_new failed") }
    var errstr = [CChar](repeating: 0, count: 512)
    for (name, value) in properties.sorted(by: { $0.key < $1.key }) {
        if rd_kafka_conf_set(conf, name, value, &errstr, errstr.count) != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(code: -1, reason: "invalid Kafka property \(name): \(redacting([value], in: decodeCString(errstr)))")
        }
    }
    return conf
}

/// Secret librdkafka properties: never printed or logged.
public enum KafkaSecrets {
    /// Whether a property holds a secret (`sasl.password`, `ssl.key.password`, `ssl.key.pem`,
    /// `sasl.oauthbearer.client.secret`, `sasl.oauthbearer.config`, ...).
    public static func isSecret(property name: String) -> Bool {
        let lower = name.lowercased()
        return ["password", "secret", "pem", "jaas", "oauthbearer.config", "token"].contains { lower.contains($0) }
    }

    /// The values of the secret properties among `properties`.
    static func values(in properties: [String: String]) -> [String] {
        properties.filter { isSecret(property: $0.key) }.map(\.value)
    }
}

/// `text` with every non-empty one of `values` replaced by `***`.
func redacting(_ values: [String], in text: String) -> String {
    values.filter { !$0.isEmpty }.reduce(text) { $0.replacingOccurrences(of: $1, with: "***") }
}

/// Decodes a NUL-terminated buffer (`String(cString: [CChar])` is deprecated).
func decodeCString(_ buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}

/// A librdkafka handle handed to a thread. `@unchecked Sendable`: librdkafka handles are
/// thread-safe for the calls made through them (poll, produce, flush).
struct SendableHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}
