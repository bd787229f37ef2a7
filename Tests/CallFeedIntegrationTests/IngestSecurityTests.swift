import CallFeedApp
import CallFeedCore
import CallFeedIngest
import Foundation
import HTTPClient
import HTTPServer
import Kafka
import Logging
import Prometheus
import Synchronization
import Testing

/// Secrets stay out of logs, metrics and dead letters; TLS, limits and Kafka security settings come
/// from the configuration as documented (docs/security.md).
@Suite struct IngestSecurityTests {
    static let tlsFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tls")
    /// TEST-ONLY self-signed certificate for 127.0.0.1 (Tests/Fixtures/tls/README.md).
    static let certificate = tlsFixtures.appendingPathComponent("test-only-localhost.cert.pem").path
    static let key = tlsFixtures.appendingPathComponent("test-only-localhost.key.pem").path

    func reason(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let error as ConfigurationError { return error.reason } catch { return "\(error)" }
    }

    // MARK: Secrets redaction

    /// After good and bad CallKeeper requests (the token in the URL or a header), neither the real
    /// token nor a wrong one appears in any log line (trace level), in `/metrics`, or in the
    /// headers or keys of the raw and dead-letter records.
    @Test func callKeeperTokensAppearInNoLogMetricOrRecordHeader() throws {
        let capture = LogCapture()
        let pipeline = try Pipeline(logger: Logger(label: "secrets-test") { _ in CapturingLogHandler(capture: capture) })
        defer { pipeline.stop() }
        let token = Pipeline.callKeeperToken
        let wrong = "wrong-token-7f3a9c1e"
        let client = HTTPClient()
        let base = pipeline.baseURL
        #expect(try pipeline.postCallKeeper(try Payloads.callKeeper(1)).status == 202)
        #expect(try pipeline.postCallKeeper(Array(#"{"not": "a call"#.utf8)).status == 400)
        #expect(try pipeline.postCallKeeper(try Payloads.callKeeper(2), token: wrong).status == 401)
        #expect(try client.request("POST", base + "/webhooks/callkeeper", headers: [("X-CallFeed-Token", wrong)], body: [1]).status == 401)
        #expect(try client.request("POST", base + "/webhooks/callkeeper", headers: [("X-CallFeed-Token", token)], body: [1]).status == 400)
        #expect(try client.request("POST", base + "/webhooks/nope?token=\(token)", body: [1]).status == 404)
        #expect(try client.request("GET", base + "/webhooks/callkeeper?token=\(token)").status == 405)
        #expect(try pipeline.postCallKeeper([UInt8](repeating: 32, count: 70_000)).status == 413)

        let metrics = try client.request("GET", base + "/metrics").bodyText
        #expect(metrics.contains("callfeed_http_requests_total"))
        let deadLetters = try pipeline.readAll(pipeline.topics.deadLetters, expecting: 2)
        let raw = try pipeline.readAll(pipeline.topics.raw, expecting: 1)
        #expect(deadLetters.count == 2)
        #expect(raw.count == 1)
        let recordText = (deadLetters + raw).map { message in
            String(decoding: message.key ?? [], as: UTF8.self) + " " + message.headers.map { "\($0.name)=\(String(decoding: $0.value, as: UTF8.self))" }.joined(separator: " ")
        }
        let logs = capture.lines
        #expect(logs.contains { $0.contains("webhook refused") })
        for secret in [token, wrong] {
            #expect(!metrics.contains(secret))
            #expect(!logs.contains { $0.contains(secret) }, "a log line holds \(secret)")
            #expect(!recordText.contains { $0.contains(secret) }, "a record header or key holds \(secret)")
        }
    }

    // MARK: TLS and limits from the configuration

    @Test(.enabled(if: HTTPServerTLS.isSupported))
    func webhookListenerServesHTTPSFromTheConfiguredFiles() throws {
        var config = try CallFeedConfiguration.parse("""
        kafka: {bootstrap_servers: "127.0.0.1:1"}
        ingest: {listen_port: 0, tls_cert_file: "\(Self.certificate)", tls_key_file: "\(Self.key)"}
        sources:
          callkeeper: [{account_id: a, token: "a-long-token-1"}]
        """, environment: [:])
        let producer = try Builders.makeProducer(config, clientID: "tls-test")
        defer { producer.close(flushTimeoutMilliseconds: 0) }
        let receiver = Builders.makeReceiver(config, producer: producer, registry: PrometheusCollectorRegistry(), logger: Logger(label: "tls-test"))
        let server = Builders.makeServer(config, receiver: receiver)
        try server.start()
        defer { server.stop(grace: .zero) }
        let client = HTTPClient(connectTimeoutSeconds: 5, totalTimeoutSeconds: 5)
        client.caCertificateFile = Self.certificate
        #expect(try client.request("GET", "https://127.0.0.1:\(server.port)/healthz").status == 200)
        #expect(try client.request("POST", "https://127.0.0.1:\(server.port)/webhooks/callkeeper?token=wrong-token", body: [1]).status == 401)
        #expect(throws: HTTPClientError.self) { try HTTPClient(totalTimeoutSeconds: 5).request("GET", "http://127.0.0.1:\(server.port)/healthz") }

        // An unreadable file is a start-up error naming it.
        config.ingest.tlsKeyFile = "/nonexistent/webhook.key"
        let broken = Builders.makeServer(config, receiver: receiver)
        #expect(throws: HTTPServerError.self) { try broken.start() }
        do { try broken.start() } catch { #expect(error.reason.contains("/nonexistent/webhook.key")) }
    }

    @Test func tlsKeysComeTogetherAndLimitsAreChecked() {
        #expect(reason { _ = try CallFeedConfiguration.parse("ingest: {tls_cert_file: /etc/cert.pem}", environment: [:]) }
            == "ingest.tls_cert_file and ingest.tls_key_file must be set together (tls_key_file is missing)")
        #expect(reason { _ = try CallFeedConfiguration.parse("ingest: {tls_key_file: /etc/key.pem}", environment: [:]) }
            == "ingest.tls_cert_file and ingest.tls_key_file must be set together (tls_cert_file is missing)")
        // `${VAR:-}` left empty turns TLS off.
        #expect((try? CallFeedConfiguration.parse("ingest: {tls_cert_file: '${C:-}', tls_key_file: '${K:-}'}", environment: [:]))?.ingestTLS == nil)
        #expect(reason { _ = try CallFeedConfiguration.parse("ingest: {max_header_bytes: 100}", environment: [:]) }
            == "ingest.max_header_bytes must be between 2048 and 1048576")
        #expect(reason { _ = try CallFeedConfiguration.parse("ingest: {connection_limit: 0}", environment: [:]) }
            == "ingest.connection_limit must be positive")
        let config = try? CallFeedConfiguration.parse("ingest: {max_header_bytes: 8192, tls_cert_file: /c.pem, tls_key_file: /k.pem}", environment: [:])
        #expect(config?.ingest.maxHeaderBytes == 8192)
        #expect(config?.ingestTLS == HTTPServerTLS(certificateFile: "/c.pem", keyFile: "/k.pem"))
        #expect(config?.redactedSummary.contains("max_header_bytes=8192 tls=cert /c.pem key /k.pem") == true)
    }

    // MARK: Config file permissions

    /// A world-readable file with inline secrets gets a warning naming the file and the keys (never
    /// the values); `0600`, or secrets from `${ENV}`, get none.
    @Test func worldReadableConfigWithInlineSecretsIsWarnedAbout() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callfeed-perm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("callfeed.yaml").path
        func write(_ yaml: String, mode: Int) throws -> CallFeedConfiguration {
            FileManager.default.createFile(atPath: path, contents: Data(yaml.utf8))
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
            return try CallFeedConfiguration.load(path: path, environment: ["CK_TOKEN": "env-token-123456", "KAFKA_PASSWORD": "env-pw"])
        }
        let inline = """
        kafka:
          properties: {sasl.username: feed, sasl.password: kafka-pw-inline}
        sources:
          callkeeper: [{account_id: a, token: inline-token-123456}]
          ctm: [{secrets: ["${CTM_SECRET:-}", ctm-inline-secret]}]
        """
        let warned = try write(inline, mode: 0o644)
        #expect(warned.warnings.count == 1)
        let warning = warned.warnings.first ?? ""
        #expect(warning.contains(path))
        #expect(warning.contains("mode 644"))
        #expect(warning.contains("kafka.properties.sasl.password"))
        #expect(warning.contains("sources.callkeeper[0].token"))
        #expect(warning.contains("sources.ctm[0].secrets[1]"))
        #expect(!warning.contains("secrets[0]") && !warning.contains("sasl.username"))
        for secret in ["kafka-pw-inline", "inline-token-123456", "ctm-inline-secret"] {
            #expect(!warning.contains(secret))
            #expect(!warned.redactedSummary.contains(secret))
        }
        #expect(warned.redactedSummary.contains("warning: config file \(path) is readable by every user"))
        #expect(try write(inline, mode: 0o600).warnings.isEmpty)
        let fromEnvironment = """
        kafka:
          properties: {sasl.password: "${KAFKA_PASSWORD}"}
        sources:
          callkeeper: [{account_id: a, token: "${CK_TOKEN}"}]
        """
        #expect(try write(fromEnvironment, mode: 0o644).warnings.isEmpty)
    }

    // MARK: Kafka SASL/SSL

    static let saslYAML = """
    kafka:
      bootstrap_servers: 127.0.0.1:1
      properties:
        security.protocol: SASL_SSL
        sasl.mechanisms: PLAIN
        sasl.username: callfeed
        sasl.password: ${KAFKA_PASSWORD}
        ssl.key.password: ssl-key-pw-8d1e
    """

    /// SASL_SSL settings reach librdkafka, which accepts them for producers and consumers; the
    /// summary `--dry-run` prints shows them with the passwords hidden.
    @Test func saslSSLPropertiesBuildClientsAndAreRedacted() throws {
        let config = try CallFeedConfiguration.parse(Self.saslYAML, environment: ["KAFKA_PASSWORD": "kafka-pw-51c2"])
        #expect(config.kafka.properties["sasl.password"] == "kafka-pw-51c2")
        let producer = try Builders.makeProducer(config, clientID: "sasl-test")
        producer.close(flushTimeoutMilliseconds: 0)
        let consumer = try KafkaConsumer(groupID: "sasl-test", properties: Builders.kafkaProperties(config, clientID: "sasl-test"))
        consumer.close()
        let summary = config.redactedSummary
        #expect(summary.contains("security.protocol=SASL_SSL"))
        #expect(summary.contains("sasl.username=callfeed"))
        #expect(summary.contains("sasl.password=***"))
        #expect(summary.contains("ssl.key.password=***"))
        #expect(!summary.contains("kafka-pw-51c2") && !summary.contains("ssl-key-pw-8d1e"))
    }

    /// A property librdkafka does not know, or a value it refuses, fails naming the key and never
    /// the value (which may be a password under a mistyped key).
    @Test func badKafkaPropertiesNameTheKeyButNotTheValue() throws {
        func creationError(_ properties: String) throws -> String {
            let config = try CallFeedConfiguration.parse("kafka:\n  properties: {\(properties)}\n", environment: [:])
            do {
                let producer = try Builders.makeProducer(config, clientID: "bad-property-test")
                producer.close(flushTimeoutMilliseconds: 0)
                return "created"
            } catch {
                return error.description
            }
        }
        let unknown = try creationError("sasl.pasword: hunter2-9f8e7d")
        #expect(unknown.contains("sasl.pasword"))
        #expect(!unknown.contains("hunter2-9f8e7d"))
        let invalid = try creationError("security.protocol: hunter2-9f8e7d")
        #expect(invalid.contains("security.protocol"))
        #expect(!invalid.contains("hunter2-9f8e7d"))
    }
}

/// Log lines kept in memory: level, message and metadata, as a handler would print them.
final class LogCapture: Sendable {
    private let stored = Mutex<[String]>([])
    var lines: [String] { stored.withLock { $0 } }
    func append(_ line: String) { stored.withLock { $0.append(line) } }
}

struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { _, new in new }
        capture.append("\(event.level) \(event.message) \(all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })")
    }
}
