import Foundation
import HTTPServer
import Kafka
import Logging
import Yams

/// Hostile-input limits, TLS and secrets in the configuration (docs/security.md).
extension CallFeedConfiguration {
    /// Allowed `ingest.max_header_bytes`: a vendor's headers fit in 2 KiB; more than 1 MiB only
    /// costs memory per connection.
    public static let maxHeaderBytesRange = 2_048...1_048_576

    /// The webhook listener's TLS files, when both are set (an empty value counts as unset, so
    /// `${TLS_CERT:-}` turns TLS off).
    public var ingestTLS: HTTPServerTLS? {
        guard let cert = ingest.tlsCertFile, !cert.isEmpty, let key = ingest.tlsKeyFile, !key.isEmpty else { return nil }
        return HTTPServerTLS(certificateFile: cert, keyFile: key)
    }

    func validateIngestLimits() throws(ConfigurationError) {
        guard ingest.connectionLimit > 0 else { throw ConfigurationError("ingest.connection_limit must be positive") }
        guard ingest.connectionTimeoutSeconds >= 0 else { throw ConfigurationError("ingest.connection_timeout_seconds must not be negative") }
        guard Self.maxHeaderBytesRange.contains(ingest.maxHeaderBytes) else {
            throw ConfigurationError("ingest.max_header_bytes must be between \(Self.maxHeaderBytesRange.lowerBound) and \(Self.maxHeaderBytesRange.upperBound)")
        }
        let hasCert = !(ingest.tlsCertFile ?? "").isEmpty
        let hasKey = !(ingest.tlsKeyFile ?? "").isEmpty
        guard hasCert == hasKey else {
            throw ConfigurationError("ingest.tls_cert_file and ingest.tls_key_file must be set together (\(hasCert ? "tls_key_file" : "tls_cert_file") is missing)")
        }
    }

    /// Whether a librdkafka property holds a secret (`sasl.password`, `ssl.key.password`,
    /// `ssl.key.pem`, `sasl.oauthbearer.client.secret`, ...): never printed or logged.
    public static func isSecretKafkaProperty(_ name: String) -> Bool { KafkaSecrets.isSecret(property: name) }

    /// `kafka.properties` for `--dry-run`: values shown, secret ones as `***`.
    var redactedKafkaProperties: String {
        let items = kafka.properties.sorted { $0.key < $1.key }
            .map { "\($0.key)=\(Self.isSecretKafkaProperty($0.key) ? "***" : $0.value)" }
        return "{" + items.joined(separator: ", ") + "}"
    }

    /// Installs the process-wide log handler (``LogSettings/bootstrap(label:)``) and logs the
    /// configuration's ``warnings`` once.
    public func bootstrapLogging(label: String) -> Logger {
        let logger = log.bootstrap(label: label)
        for warning in warnings { logger.warning("\(warning)") }
        return logger
    }
}

/// Finds secrets written in a config file itself instead of coming from `${ENV}`.
enum InlineSecrets {
    /// Keys whose values are secrets (any position in the tree).
    static let secretKeys: Set<String> = ["token", "tokens", "secrets", "signing_keys", "access_key", "secret_key", "api_key",
                                          "api_secret", "password"]

    /// The warning for a file that every user may read while it holds inline secrets, or nil.
    static func permissionWarning(path: String, yaml: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o004 != 0 else { return nil }
        let keys = paths(in: yaml)
        guard !keys.isEmpty else { return nil }
        return "config file \(path) is readable by every user (mode \(String(mode, radix: 8))) and holds secrets inline: "
            + keys.joined(separator: ", ") + "; move them to ${ENV} variables or chmod o-r the file"
    }

    /// Key paths (`sources.callkeeper[0].token`) of non-empty secret values that use no `${...}`.
    static func paths(in yaml: String) -> [String] {
        guard let node = try? Yams.compose(yaml: yaml) else { return [] }
        var found: [String] = []
        visit(node, path: "", secret: false, found: &found)
        return found
    }

    private static func visit(_ node: Node, path: String, secret: Bool, found: inout [String]) {
        switch node {
        case .scalar(let scalar):
            if secret, !scalar.string.isEmpty, !scalar.string.contains("${") { found.append(path) }
        case .mapping(let mapping):
            for (key, value) in mapping {
                let name = key.string ?? ""
                let child = path.isEmpty ? name : "\(path).\(name)"
                let isSecret = secretKeys.contains(name)
                    || (path.hasSuffix("kafka.properties") && CallFeedConfiguration.isSecretKafkaProperty(name))
                    || (path.hasSuffix("postgres") && name == "url" && holdsPassword(value.string ?? ""))
                visit(value, path: child, secret: isSecret, found: &found)
            }
        case .sequence(let items):
            for (i, item) in items.enumerated() { visit(item, path: "\(path)[\(i)]", secret: secret, found: &found) }
        }
    }

    /// A libpq URI with `user:password@` or a connection string with `password=`.
    private static func holdsPassword(_ url: String) -> Bool {
        if url.contains("password=") { return true }
        guard let scheme = url.firstRange(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else { return false }
        return url[scheme.upperBound..<at].contains(":")
    }
}
