import Foundation

/// Reading each section from the substituted YAML tree, with defaults for missing keys.
extension CallFeedConfiguration {
    init(tree: ConfigTree, origin: String) throws(ConfigurationError) {
        self.init()
        let top = try tree.members(allowed: ["kafka", "ingest", "load", "log", "sources"])
        if let k = top["kafka"] {
            let m = try k.members(allowed: ["bootstrap_servers", "topic_prefix", "delivery_timeout_ms", "properties"])
            if let v = m["bootstrap_servers"] { kafka.bootstrapServers = try v.string() }
            if let v = m["topic_prefix"] { kafka.topicPrefix = try v.string() }
            if let v = m["delivery_timeout_ms"] { kafka.deliveryTimeoutMilliseconds = try v.int() }
            if let v = m["properties"] { kafka.properties = try v.stringMap() }
        }
        if let i = top["ingest"] {
            let m = try i.members(allowed: ["listen_host", "listen_port", "max_body_bytes", "connection_limit",
                                            "connection_timeout_seconds", "signature_tolerance_seconds"])
            if let v = m["listen_host"] { ingest.listenHost = try v.string() }
            if let v = m["listen_port"] { ingest.listenPort = try v.int() }
            if let v = m["max_body_bytes"] { ingest.maxBodyBytes = try v.int() }
            if let v = m["connection_limit"] { ingest.connectionLimit = try v.int() }
            if let v = m["connection_timeout_seconds"] { ingest.connectionTimeoutSeconds = try v.int() }
            if let v = m["signature_tolerance_seconds"] { ingest.signatureToleranceSeconds = try v.int() }
        }
        if let l = top["load"] {
            let m = try l.members(allowed: ["group_id", "batch_size", "linger_ms", "sink", "sqlite_path", "metrics_host", "metrics_port"])
            if let v = m["group_id"] { load.groupID = try v.string() }
            if let v = m["batch_size"] { load.batchSize = try v.int() }
            if let v = m["linger_ms"] { load.lingerMilliseconds = try v.int() }
            if let v = m["sink"] { load.sink = try v.string() }
            if let v = m["sqlite_path"] { load.sqlitePath = try v.string() }
            if let v = m["metrics_host"] { load.metricsHost = try v.string() }
            if let v = m["metrics_port"] { load.metricsPort = try v.int() }
        }
        if let l = top["log"] {
            let m = try l.members(allowed: ["level", "format"])
            if let v = m["level"] { log.level = try v.string() }
            if let v = m["format"] { log.format = try v.string() }
        }
        if let s = top["sources"] {
            let m = try s.members(allowed: ["callkeeper", "ctm"])
            for item in try m["callkeeper"]?.list() ?? [] {
                let f = try item.members(allowed: ["name", "account_id", "token", "timezone", "default_country"])
                var source = CallKeeperSource()
                if let v = f["name"] { source.name = try v.string() }
                if let v = f["account_id"] { source.accountID = try v.string() }
                if let v = f["token"] { source.token = try v.string() }
                if let v = f["timezone"] { source.timezone = try v.string() }
                if let v = f["default_country"] { source.defaultCountry = try v.string() }
                sources.callkeeper.append(source)
            }
            for item in try m["ctm"]?.list() ?? [] {
                let f = try item.members(allowed: ["name", "account_id", "secrets", "default_country"])
                var source = CTMSource()
                if let v = f["name"] { source.name = try v.string() }
                if let v = f["account_id"] { source.accountID = try v.string() }
                if let v = f["secrets"] {
                    for s in try v.list() { source.secrets.append(try s.string()) }
                    source.secrets.removeAll { $0.isEmpty }
                }
                if let v = f["default_country"] { source.defaultCountry = try v.string() }
                sources.ctm.append(source)
            }
        }
        try validate(origin: origin)
    }

    /// Checks what the types cannot: ranges, required secrets, known kinds.
    public func validate(origin: String = "config") throws(ConfigurationError) {
        guard (1...65535).contains(ingest.listenPort) || ingest.listenPort == 0 else { throw ConfigurationError("ingest.listen_port out of range") }
        guard ingest.maxBodyBytes > 0 else { throw ConfigurationError("ingest.max_body_bytes must be positive") }
        guard load.batchSize > 0 else { throw ConfigurationError("load.batch_size must be positive") }
        guard load.lingerMilliseconds >= 0 else { throw ConfigurationError("load.linger_ms must not be negative") }
        guard load.sink == "sqlite" else { throw ConfigurationError("load.sink \(load.sink) is not available in this build (sqlite)") }
        guard kafka.deliveryTimeoutMilliseconds > 0 else { throw ConfigurationError("kafka.delivery_timeout_ms must be positive") }
        guard ["json", "text"].contains(log.format) else { throw ConfigurationError("log.format must be json or text") }
        for (i, s) in sources.callkeeper.enumerated() {
            guard !s.accountID.isEmpty else { throw ConfigurationError("sources.callkeeper[\(i)].account_id is required") }
            guard s.token.count >= 8 else { throw ConfigurationError("sources.callkeeper[\(i)].token must be at least 8 characters") }
            guard TimeZone(identifier: s.timezone) != nil else { throw ConfigurationError("sources.callkeeper[\(i)].timezone \(s.timezone) is not an IANA time zone") }
        }
        for (i, s) in sources.ctm.enumerated() {
            guard !s.secrets.isEmpty else { throw ConfigurationError("sources.ctm[\(i)].secrets needs at least one secret") }
        }
    }

    /// The configuration as an operator may see it (`--dry-run`): secrets replaced by `***`.
    public var redactedSummary: String {
        var lines: [String] = []
        lines.append("kafka: bootstrap_servers=\(kafka.bootstrapServers) topic_prefix=\(kafka.topicPrefix) delivery_timeout_ms=\(kafka.deliveryTimeoutMilliseconds) properties=\(kafka.properties.keys.sorted())")
        lines.append("ingest: listen=\(ingest.listenHost):\(ingest.listenPort) max_body_bytes=\(ingest.maxBodyBytes) connection_limit=\(ingest.connectionLimit)")
        lines.append("load: group_id=\(load.groupID) batch_size=\(load.batchSize) linger_ms=\(load.lingerMilliseconds) sink=\(load.sink) sqlite_path=\(load.sqlitePath) metrics=\(load.metricsHost):\(load.metricsPort)")
        for s in sources.callkeeper {
            lines.append("source callkeeper \(s.name): account_id=\(s.accountID) token=*** timezone=\(s.timezone) default_country=\(s.defaultCountry)")
        }
        for s in sources.ctm {
            lines.append("source ctm \(s.name): account_id=\(s.accountID) secrets=\(s.secrets.count)x*** default_country=\(s.defaultCountry)")
        }
        return lines.joined(separator: "\n")
    }
}
