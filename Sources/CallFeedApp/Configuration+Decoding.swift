import CallFeedCore
import Foundation

/// Reading each section from the substituted YAML tree, with defaults for missing keys.
extension CallFeedConfiguration {
    init(tree: ConfigTree, origin: String) throws(ConfigurationError) {
        self.init()
        let top = try tree.members(allowed: ["kafka", "ingest", "load", "log", "sources", "poll", "dev"])
        if let d = top["dev"] {
            let m = try d.members(allowed: ["backlog_limit_bytes"])
            if let v = m["backlog_limit_bytes"] { dev.backlogLimitBytes = try v.int() }
        }
        if let p = top["poll"] {
            let m = try p.members(allowed: ["state_path"])
            if let v = m["state_path"] { poll.statePath = try v.string() }
        }
        if let k = top["kafka"] {
            let m = try k.members(allowed: ["bootstrap_servers", "topic_prefix", "delivery_timeout_ms", "properties"])
            if let v = m["bootstrap_servers"] { kafka.bootstrapServers = try v.string() }
            if let v = m["topic_prefix"] { kafka.topicPrefix = try v.string() }
            if let v = m["delivery_timeout_ms"] { kafka.deliveryTimeoutMilliseconds = try v.int() }
            if let v = m["properties"] { kafka.properties = try v.stringMap() }
        }
        if let i = top["ingest"] {
            let m = try i.members(allowed: ["listen_host", "listen_port", "max_body_bytes", "connection_limit", "max_outstanding_events",
                                            "connection_timeout_seconds", "signature_tolerance_seconds",
                                            "max_header_bytes", "tls_cert_file", "tls_key_file", "shutdown_grace_seconds"])
            if let v = m["listen_host"] { ingest.listenHost = try v.string() }
            if let v = m["listen_port"] { ingest.listenPort = try v.int() }
            if let v = m["max_body_bytes"] { ingest.maxBodyBytes = try v.int() }
            if let v = m["max_outstanding_events"] { ingest.maxOutstandingEvents = try v.int() }
            if let v = m["connection_limit"] { ingest.connectionLimit = try v.int() }
            if let v = m["connection_timeout_seconds"] { ingest.connectionTimeoutSeconds = try v.int() }
            if let v = m["signature_tolerance_seconds"] { ingest.signatureToleranceSeconds = try v.int() }
            if let v = m["max_header_bytes"] { ingest.maxHeaderBytes = try v.int() }
            if let v = m["tls_cert_file"] { ingest.tlsCertFile = try v.string() }
            if let v = m["tls_key_file"] { ingest.tlsKeyFile = try v.string() }
            if let v = m["shutdown_grace_seconds"] { ingest.shutdownGraceSeconds = try v.int() }
        }
        if let l = top["load"] {
            let m = try l.members(allowed: ["group_id", "batch_size", "linger_ms", "sink", "sqlite_path", "metrics_host", "metrics_port",
                                            "shutdown_grace_seconds", "postgres", "clickhouse", "bigquery", "batch_delay_ms"])
            if let v = m["batch_delay_ms"] { load.batchDelayMilliseconds = try v.int() }
            if let v = m["group_id"] { load.groupID = try v.string() }
            if let v = m["batch_size"] { load.batchSize = try v.int() }
            if let v = m["linger_ms"] { load.lingerMilliseconds = try v.int() }
            if let v = m["sink"] { load.sink = try v.string() }
            if let v = m["sqlite_path"] { load.sqlitePath = try v.string() }
            if let v = m["metrics_host"] { load.metricsHost = try v.string() }
            if let v = m["metrics_port"] { load.metricsPort = try v.int() }
            if let v = m["shutdown_grace_seconds"] { load.shutdownGraceSeconds = try v.int() }
            try decodeWarehouses(m)
        }
        if let l = top["log"] {
            let m = try l.members(allowed: ["level", "format"])
            if let v = m["level"] { log.level = try v.string() }
            if let v = m["format"] { log.format = try v.string() }
        }
        if let s = top["sources"] {
            let m = try s.members(allowed: ["callkeeper", "ctm", "callrail", "justcall", "hubspot", "clevertap", "five9", "genius", "salespro", "leadconduit", "salesrabbit", "arrivy", "google_sheets", "marketsharp"])
            for item in try m["callkeeper"]?.list() ?? [] {
                let f = try item.members(allowed: ["name", "account_id", "token", "tokens", "timezone", "default_country", "poll"])
                var source = CallKeeperSource()
                if let v = f["name"] { source.name = try v.string() }
                if let v = f["account_id"] { source.accountID = try v.string() }
                if let v = f["token"] { source.token = try v.string() }
                if let v = f["tokens"] { source.tokens = try v.strings().filter { !$0.isEmpty } }
                if let v = f["timezone"] { source.timezone = try v.string() }
                if let v = f["default_country"] { source.defaultCountry = try v.string() }
                if let v = f["poll"] { source.poll = try PollSource(tree: v, vendor: "callkeeper") }
                sources.callkeeper.append(source)
            }
            for item in try m["ctm"]?.list() ?? [] {
                let f = try item.members(allowed: ["name", "account_id", "secrets", "webhook_secrets", "default_country", "poll"])
                var source = CTMSource()
                if let v = f["name"] { source.name = try v.string() }
                if let v = f["account_id"] { source.accountID = try v.string() }
                if let v = f["secrets"] { source.secrets = try v.strings().filter { !$0.isEmpty } }
                if let v = f["webhook_secrets"] {
                    guard case .map(let entries, _) = v else { throw ConfigurationError("\(v.path) must map account ids to lists of secrets") }
                    for (account, list) in entries { source.webhookSecrets[account] = try list.strings().filter { !$0.isEmpty } }
                }
                if let v = f["default_country"] { source.defaultCountry = try v.string() }
                if let v = f["poll"] { source.poll = try PollSource(tree: v, vendor: "ctm") }
                sources.ctm.append(source)
            }
            for item in try m["callrail"]?.list() ?? [] {
                let f = try item.members(allowed: ["name", "account_id", "signing_keys", "default_country", "poll"])
                var source = CallRailSource()
                if let v = f["name"] { source.name = try v.string() }
                if let v = f["account_id"] { source.accountID = try v.string() }
                if let v = f["signing_keys"] { source.signingKeys = try v.strings().filter { !$0.isEmpty } }
                if let v = f["default_country"] { source.defaultCountry = try v.string() }
                if let v = f["poll"] { source.poll = try PollSource(tree: v, vendor: "callrail") }
                sources.callrail.append(source)
            }
            for item in try m["justcall"]?.list() ?? [] {
                let f = try item.members(allowed: ["name", "account_id", "secrets", "webhook_url", "default_country", "poll"])
                var source = JustCallSource()
                if let v = f["name"] { source.name = try v.string() }
                if let v = f["account_id"] { source.accountID = try v.string() }
                if let v = f["secrets"] { source.secrets = try v.strings().filter { !$0.isEmpty } }
                if let v = f["webhook_url"] { source.webhookURL = try v.string() }
                if let v = f["default_country"] { source.defaultCountry = try v.string() }
                if let v = f["poll"] { source.poll = try PollSource(tree: v, vendor: "justcall") }
                sources.justcall.append(source)
            }
            try decodeMoreSources(m)
        }
        try validate(origin: origin)
    }

    /// Allowed `shutdown_grace_seconds`: at least a second, at most ten minutes (an orchestrator
    /// must wait longer than this before it kills the process).
    public static let shutdownGraceRange = 1...600

    /// Checks what the types cannot: ranges, required secrets, known kinds.
    public func validate(origin: String = "config") throws(ConfigurationError) {
        guard (1...65535).contains(ingest.listenPort) || ingest.listenPort == 0 else { throw ConfigurationError("ingest.listen_port out of range") }
        guard ingest.maxBodyBytes > 0 else { throw ConfigurationError("ingest.max_body_bytes must be positive") }
        guard ingest.maxOutstandingEvents >= 0 else { throw ConfigurationError("ingest.max_outstanding_events must be 0 (no bound) or positive") }
        try validateIngestLimits()
        guard load.batchSize > 0 else { throw ConfigurationError("load.batch_size must be positive") }
        guard load.lingerMilliseconds >= 0 else { throw ConfigurationError("load.linger_ms must not be negative") }
        guard load.batchDelayMilliseconds >= 0 else { throw ConfigurationError("load.batch_delay_ms must not be negative") }
        guard dev.backlogLimitBytes >= 65_536 else { throw ConfigurationError("dev.backlog_limit_bytes must be at least 65536") }
        for (key, seconds) in [("ingest", ingest.shutdownGraceSeconds), ("load", load.shutdownGraceSeconds)]
            where !Self.shutdownGraceRange.contains(seconds) {
            throw ConfigurationError("\(key).shutdown_grace_seconds must be between \(Self.shutdownGraceRange.lowerBound) and \(Self.shutdownGraceRange.upperBound)")
        }
        try validateWarehouse()
        guard kafka.deliveryTimeoutMilliseconds > 0 else { throw ConfigurationError("kafka.delivery_timeout_ms must be positive") }
        guard ["json", "text"].contains(log.format) else { throw ConfigurationError("log.format must be json or text") }
        for (i, s) in sources.callkeeper.enumerated() {
            guard !s.accountID.isEmpty else { throw ConfigurationError("sources.callkeeper[\(i)].account_id is required") }
            if let poll = s.poll {
                guard !poll.apiKey.isEmpty else { throw ConfigurationError("sources.callkeeper[\(i)].poll.api_key is required for polling") }
                guard ["get", "getByRole", "getWithRole"].contains(poll.method) else {
                    throw ConfigurationError("sources.callkeeper[\(i)].poll.method must be get, getByRole or getWithRole")
                }
                try poll.validate(path: "sources.callkeeper[\(i)].poll")
                if s.acceptedTokens.isEmpty { continue }  // poll-only source: no webhook token needed
            }
            guard !s.acceptedTokens.isEmpty, s.acceptedTokens.allSatisfy({ $0.count >= 8 }) else {
                throw ConfigurationError("sources.callkeeper[\(i)].token (and every entry of tokens) must be at least 8 characters")
            }
            guard TimeZone(identifier: s.timezone) != nil else { throw ConfigurationError("sources.callkeeper[\(i)].timezone \(s.timezone) is not an IANA time zone") }
        }
        for (i, s) in sources.ctm.enumerated() {
            if let poll = s.poll {
                guard !poll.accessKey.isEmpty, !poll.secretKey.isEmpty else {
                    throw ConfigurationError("sources.ctm[\(i)].poll.access_key and secret_key are required for polling")
                }
                guard ["basic", "token"].contains(poll.authScheme) else { throw ConfigurationError("sources.ctm[\(i)].poll.auth_scheme must be basic or token") }
                try poll.validate(path: "sources.ctm[\(i)].poll")
                if !s.receivesWebhooks { continue }  // poll-only source
            }
            guard s.receivesWebhooks else { throw ConfigurationError("sources.ctm[\(i)].secrets (or webhook_secrets) needs at least one secret") }
            if let empty = s.webhookSecrets.first(where: { $0.value.isEmpty }) {
                throw ConfigurationError("sources.ctm[\(i)].webhook_secrets[\(empty.key)] needs at least one secret")
            }
        }
        try validateCallRailAndJustCall()
        try validateMoreSources()
    }

    private func validateCallRailAndJustCall() throws(ConfigurationError) {
        for (i, s) in sources.callrail.enumerated() {
            if let poll = s.poll {
                guard !poll.apiKey.isEmpty else { throw ConfigurationError("sources.callrail[\(i)].poll.api_key is required for polling") }
                try poll.validate(path: "sources.callrail[\(i)].poll")
                if s.signingKeys.isEmpty { continue }  // poll-only source
            }
            guard !s.signingKeys.isEmpty else { throw ConfigurationError("sources.callrail[\(i)].signing_keys needs at least one key") }
            guard !s.accountID.isEmpty else {
                throw ConfigurationError("sources.callrail[\(i)].account_id is required for webhooks (CallRail payloads name no account)")
            }
        }
        for (i, s) in sources.justcall.enumerated() {
            guard !s.accountID.isEmpty else { throw ConfigurationError("sources.justcall[\(i)].account_id is required") }
            if let poll = s.poll {
                guard !poll.apiKey.isEmpty, !poll.apiSecret.isEmpty else {
                    throw ConfigurationError("sources.justcall[\(i)].poll.api_key and api_secret are required for polling")
                }
                guard TimeZone(identifier: poll.userTimeZone) != nil else {
                    throw ConfigurationError("sources.justcall[\(i)].poll.user_time_zone \(poll.userTimeZone) is not an IANA time zone")
                }
                try poll.validate(path: "sources.justcall[\(i)].poll")
                if s.secrets.isEmpty { continue }  // poll-only source
            }
            guard !s.secrets.isEmpty else { throw ConfigurationError("sources.justcall[\(i)].secrets needs at least one secret") }
            guard s.webhookURL.hasPrefix("http://") || s.webhookURL.hasPrefix("https://") else {
                throw ConfigurationError("sources.justcall[\(i)].webhook_url must be the full URL configured at JustCall (it is signed)")
            }
        }
    }

    /// The configuration as an operator may see it (`--dry-run`): secrets replaced by `***`.
    public var redactedSummary: String {
        var lines: [String] = []
        lines.append("kafka: bootstrap_servers=\(kafka.bootstrapServers) topic_prefix=\(kafka.topicPrefix) delivery_timeout_ms=\(kafka.deliveryTimeoutMilliseconds) properties=\(redactedKafkaProperties)")
        lines.append("ingest: listen=\(ingest.listenHost):\(ingest.listenPort) max_body_bytes=\(ingest.maxBodyBytes) connection_limit=\(ingest.connectionLimit) max_header_bytes=\(ingest.maxHeaderBytes) tls=\(ingest.tlsCertFile.map { "cert \($0) key \(ingest.tlsKeyFile ?? "")" } ?? "off") shutdown_grace_seconds=\(ingest.shutdownGraceSeconds)")
        lines.append("poll: state_path=\(poll.statePath)")
        lines.append("load: group_id=\(load.groupID) batch_size=\(load.batchSize) linger_ms=\(load.lingerMilliseconds) sink=\(load.sink) metrics=\(load.metricsHost):\(load.metricsPort) shutdown_grace_seconds=\(load.shutdownGraceSeconds)"
                     + (load.batchDelayMilliseconds > 0 ? " batch_delay_ms=\(load.batchDelayMilliseconds) (test knob: loader slowed)" : ""))
        lines.append(warehouseSummary)
        for s in sources.callkeeper {
            lines.append("source callkeeper \(s.name): account_id=\(s.accountID) token=\(s.acceptedTokens.isEmpty ? "(none: poll only)" : s.acceptedTokens.count > 1 ? "*** (+\(s.acceptedTokens.count - 1) during rotation)" : "***") timezone=\(s.timezone) default_country=\(s.defaultCountry)")
            if let p = s.poll { lines.append("  poll: \(p.summary) api_key=*** method=\(p.method)") }
        }
        for s in sources.ctm {
            lines.append("source ctm \(s.name): account_id=\(s.accountID) secrets=\(s.secrets.count)x*** default_country=\(s.defaultCountry)"
                         + (s.webhookSecrets.isEmpty ? "" : " webhook_secrets=" + s.webhookSecrets.keys.sorted().map { "\($0):\(s.webhookSecrets[$0]?.count ?? 0)x***" }.joined(separator: ",")))
            if let p = s.poll { lines.append("  poll: \(p.summary) access_key=*** secret_key=*** accounts=\(p.accounts.isEmpty ? "all" : p.accounts.joined(separator: ","))") }
        }
        for s in sources.callrail {
            lines.append("source callrail \(s.name): account_id=\(s.accountID) signing_keys=\(s.signingKeys.count)x*** default_country=\(s.defaultCountry)")
            if let p = s.poll { lines.append("  poll: \(p.summary) api_key=*** accounts=\(p.accounts.isEmpty ? "all" : p.accounts.joined(separator: ","))") }
        }
        for s in sources.justcall {
            lines.append("source justcall \(s.name): account_id=\(s.accountID) secrets=\(s.secrets.count)x*** webhook_url=\(s.webhookURL)")
            if let p = s.poll { lines.append("  poll: \(p.summary) api_key=*** api_secret=*** user_time_zone=\(p.userTimeZone)") }
        }
        lines += moreSourcesSummary
        lines += warnings.map { "warning: \($0)" }
        return lines.joined(separator: "\n")
    }
}

extension CallFeedConfiguration.PollSource {
    init(tree: ConfigTree, vendor: String) throws(ConfigurationError) {
        self.init()
        let common = ["base_url", "interval_seconds", "daily_at", "lookback_hours", "start", "rate_limits", "max_retries", "timeout_seconds",
                      "entities", "entities_interval_seconds", "entities_daily_at", "chunk_days"]
        let specific: [String]
        switch vendor {
        case "ctm": specific = ["access_key", "secret_key", "auth_scheme", "calls_path", "accounts"]
        case "callrail": specific = ["api_key", "accounts", "pagination"]
        case "justcall": specific = ["api_key", "api_secret", "user_time_zone"]
        case "hubspot": specific = ["access_token"]
        case "clevertap": specific = ["passcode", "region", "event_name", "start_date", "end_date", "batch_size"]
        case "genius", "salespro", "marketsharp": specific = []
        case "leadconduit", "salesrabbit": specific = ["api_key"]
        case "arrivy": specific = ["auth_key", "auth_token"]
        case "google_sheets": specific = ["credentials_file"]
        case "five9": specific = ["username", "password", "data_center", "api_version", "folder_name", "report_name", "report_time_zone",
                                  "run_report_limits"]
        default: specific = ["api_key", "method"]
        }
        let m = try tree.members(allowed: Set(common + specific))
        if let v = m["base_url"] { baseURL = try v.string() }
        if let v = m["access_key"] { accessKey = try v.string() }
        if let v = m["secret_key"] { secretKey = try v.string() }
        if let v = m["api_key"] { apiKey = try v.string() }
        if let v = m["api_secret"] { apiSecret = try v.string() }
        if let v = m["user_time_zone"] { userTimeZone = try v.string() }
        if let v = m["access_token"] { accessToken = try v.string() }
        if let v = m["auth_key"] { authKey = try v.string() }
        if let v = m["credentials_file"] { credentialsFile = try v.string() }
        if let v = m["auth_token"] { authToken = try v.string() }
        if let v = m["passcode"] { passcode = try v.string() }
        if let v = m["region"] { region = try v.string() }
        if let v = m["event_name"] { eventName = try v.string() }
        if let v = m["start_date"] { startDate = try v.string() }
        if let v = m["end_date"] { endDate = try v.string() }
        if let v = m["batch_size"] { batchSize = try v.int() }
        if let v = m["username"] { username = try v.string() }
        if let v = m["password"] { password = try v.string() }
        if let v = m["data_center"] { dataCenter = try v.string() }
        if let v = m["api_version"] { apiVersion = try v.string() }
        if let v = m["folder_name"] { folderName = try v.string() }
        if let v = m["report_name"] { reportName = try v.string() }
        if let v = m["report_time_zone"] { reportTimeZone = try v.string() }
        if let v = m["run_report_limits"] { runReportLimits = try v.strings() }
        if let v = m["pagination"] {
            pagination = try v.string()
            guard ["numbered", "relative"].contains(pagination) else { throw ConfigurationError("\(v.path) must be numbered or relative") }
        }
        if let v = m["entities"] {
            let names = try v.strings()
            let known = EntityCatalog.available[vendor] ?? []
            // HubSpot: any other name is a custom object (`genius_users`).
            if !EntityCatalog.acceptsCustomObjects.contains(vendor), let unknown = names.first(where: { !known.contains($0) }) {
                throw ConfigurationError("\(v.path): \(vendor) has no entity list \(unknown) (available: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
            }
            entities = names
        }
        if let v = m["entities_interval_seconds"] { entitiesIntervalSeconds = try v.int() }
        if let v = m["entities_daily_at"] { entitiesDailyAt = try v.string() }
        if let v = m["auth_scheme"] { authScheme = try v.string() }
        if let v = m["calls_path"] { callsPath = try v.string() }
        if let v = m["method"] { method = try v.string() }
        if let v = m["accounts"] { accounts = try v.strings() }
        if let v = m["interval_seconds"] { intervalSeconds = try v.int() }
        if let v = m["daily_at"] { dailyAt = try v.string() }
        if let v = m["lookback_hours"] { lookbackHours = try v.int() }
        if let v = m["start"] { start = try v.string() }
        if let v = m["chunk_days"] { chunkDays = try v.int() }
        if let v = m["rate_limits"] { rateLimits = try v.strings() }
        if let v = m["max_retries"] { maxRetries = try v.int() }
        if let v = m["timeout_seconds"] { timeoutSeconds = try v.int() }
    }

    func validate(path: String) throws(ConfigurationError) {
        guard intervalSeconds > 0 else { throw ConfigurationError("\(path).interval_seconds must be positive") }
        guard lookbackHours >= 0 else { throw ConfigurationError("\(path).lookback_hours must not be negative") }
        guard (1...366).contains(chunkDays) else { throw ConfigurationError("\(path).chunk_days must be 1 to 366") }
        if let dailyAt, Self.parseDailyAt(dailyAt) == nil { throw ConfigurationError("\(path).daily_at must be HH:MM (UTC)") }
        if Self.parseDailyAt(entitiesDailyAt) == nil { throw ConfigurationError("\(path).entities_daily_at must be HH:MM (UTC)") }
        if let n = entitiesIntervalSeconds, n <= 0 { throw ConfigurationError("\(path).entities_interval_seconds must be positive") }
        if let start, Timestamp.parseISO8601(start + "T00:00:00Z") == nil { throw ConfigurationError("\(path).start must be YYYY-MM-DD") }
        for limit in rateLimits where Self.parseRateLimit(limit) == nil {
            throw ConfigurationError("\(path).rate_limits entry \(limit) must look like 1000/hour or 100/10s (per second, minute, hour or day)")
        }
    }

    var summary: String {
        let when = dailyAt.map { "daily at \($0) UTC" } ?? "every \(intervalSeconds)s"
        return "\(when) lookback=\(lookbackHours)h start=\(start ?? "7 days ago") rate_limits=\(rateLimits.isEmpty ? "vendor default" : rateLimits.joined(separator: ",")) base_url=\(baseURL ?? "vendor")"
    }

    /// `"1000/hour"` -> (1000, 3600 s); a count before the unit multiplies it (`"100/10s"` ->
    /// (100, 10 s), HubSpot's rolling window).
    static func parseRateLimit(_ text: String) -> (limit: Int, seconds: Int64)? {
        let parts = text.split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let n = Int(parts[0]), n > 0 else { return nil }
        let digits = parts[1].prefix { $0.isNumber }
        if !digits.isEmpty {
            guard let k = Int64(digits), k > 0, let unit = parseRateLimit("\(n)/\(parts[1].dropFirst(digits.count))") else { return nil }
            return (n, unit.seconds * k)
        }
        switch parts[1] {
        case "second", "s": return (n, 1)
        case "minute", "min", "m": return (n, 60)
        case "hour", "h": return (n, 3600)
        case "day", "d": return (n, 86_400)
        default: return nil
        }
    }

    /// `"02:30"` -> minutes after midnight UTC.
    static func parseDailyAt(_ text: String) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0..<24).contains(h), (0..<60).contains(m) else { return nil }
        return h * 60 + m
    }
}
