import CallFeedCore
import CallFeedPoll
import Foundation

/// `sources.hubspot`, `clevertap`, `five9`, `leadconduit`, `salesrabbit` and `arrivy`: decoding, validation and the
/// redacted summary (docs/configuration.md).
extension CallFeedConfiguration {
    mutating func decodeMoreSources(_ m: [String: ConfigTree]) throws(ConfigurationError) {
        for item in try m["hubspot"]?.list() ?? [] {
            let f = try item.members(allowed: ["name", "portal_id", "default_country", "poll", "webhook_url", "client_secrets"])
            var source = HubSpotSource()
            if let v = f["name"] { source.name = try v.string() }
            if let v = f["portal_id"] { source.portalID = try v.string() }
            if let v = f["default_country"] { source.defaultCountry = try v.string() }
            if let v = f["webhook_url"] { source.webhookURL = try v.string() }
            if let v = f["client_secrets"] { source.clientSecrets = try v.strings().filter { !$0.isEmpty } }
            if let v = f["poll"] { source.poll = try PollSource(tree: v, vendor: "hubspot") }
            sources.hubspot.append(source)
        }
        for item in try m["clevertap"]?.list() ?? [] {
            let f = try item.members(allowed: ["name", "account_id", "default_country", "poll"])
            var source = CleverTapSource()
            if let v = f["name"] { source.name = try v.string() }
            if let v = f["account_id"] { source.accountID = try v.string() }
            if let v = f["default_country"] { source.defaultCountry = try v.string() }
            if let v = f["poll"] { source.poll = try PollSource(tree: v, vendor: "clevertap") }
            sources.clevertap.append(source)
        }
        for item in try m["five9"]?.list() ?? [] {
            let f = try item.members(allowed: ["name", "domain", "default_country", "poll"])
            var source = Five9Source()
            if let v = f["name"] { source.name = try v.string() }
            if let v = f["domain"] { source.domain = try v.string() }
            if let v = f["default_country"] { source.defaultCountry = try v.string() }
            if let v = f["poll"] { source.poll = try PollSource(tree: v, vendor: "five9") }
            sources.five9.append(source)
        }
        for item in try m["leadconduit"]?.list() ?? [] {
            let f = try item.members(allowed: ["name", "poll"])
            var source = LeadConduitSource()
            if let v = f["name"] { source.name = try v.string() }
            if let v = f["poll"] { source.poll = try PollSource(tree: v, vendor: "leadconduit") }
            sources.leadconduit.append(source)
        }
        for item in try m["salesrabbit"]?.list() ?? [] {
            let f = try item.members(allowed: ["name", "poll"])
            var source = SalesRabbitSource()
            if let v = f["name"] { source.name = try v.string() }
            if let v = f["poll"] { source.poll = try PollSource(tree: v, vendor: "salesrabbit") }
            sources.salesrabbit.append(source)
        }
        for item in try m["arrivy"]?.list() ?? [] {
            let f = try item.members(allowed: ["name", "tasks_past_days", "tasks_future_days", "poll"])
            var source = ArrivySource()
            if let v = f["name"] { source.name = try v.string() }
            if let v = f["tasks_past_days"] { source.tasksPastDays = try v.int() }
            if let v = f["tasks_future_days"] { source.tasksFutureDays = try v.int() }
            if let v = f["poll"] { source.poll = try PollSource(tree: v, vendor: "arrivy") }
            sources.arrivy.append(source)
        }
        try decodeSQLSources(m)
    }

    /// Five9's data centres (vendors/five9.md §1).
    public static let five9DataCenters = ["us": "https://api.five9.com", "uk": "https://api.five9.eu", "ca": "https://api.five9.ca",
                                          "eu": "https://api.eu.five9.com"]

    func validateMoreSources() throws(ConfigurationError) {
        for (i, s) in sources.hubspot.enumerated() {
            let path = "sources.hubspot[\(i)]"
            guard !s.portalID.isEmpty else { throw ConfigurationError("\(path).portal_id is required (the portal's hub id, the calls' account)") }
            guard let poll = s.poll else { throw ConfigurationError("\(path).poll is required: HubSpot calls are polled (webhooks only notify)") }
            guard !poll.accessToken.isEmpty else {
                throw ConfigurationError("\(path).poll.access_token is required (a private-app token; HubSpot API keys were retired in 2022)")
            }
            try poll.validate(path: "\(path).poll")
            // The optional webhook route: both keys or neither.
            if !s.webhookURL.isEmpty {
                guard s.webhookURL.hasPrefix("http://") || s.webhookURL.hasPrefix("https://") else {
                    throw ConfigurationError("\(path).webhook_url must be the full http(s):// URL registered at HubSpot (it is signed)")
                }
                guard !s.clientSecrets.isEmpty else {
                    throw ConfigurationError("\(path).client_secrets needs at least one secret (the app's client secret signs webhooks)")
                }
            } else if !s.clientSecrets.isEmpty {
                throw ConfigurationError("\(path).client_secrets is set but webhook_url is not (the URL is part of the signature)")
            }
        }
        for (i, s) in sources.clevertap.enumerated() {
            let path = "sources.clevertap[\(i)]"
            guard let poll = s.poll else { throw ConfigurationError("\(path).poll is required: CleverTap profiles are polled") }
            do {
                try Builders.cleverTapStream(s, poll: poll).validate()
            } catch {
                throw ConfigurationError("\(path): \(error.reason)")
            }
            try poll.validate(path: "\(path).poll")
        }
        for (i, s) in sources.five9.enumerated() {
            let path = "sources.five9[\(i)]"
            guard !s.domain.isEmpty else { throw ConfigurationError("\(path).domain is required (the Five9 domain, the calls' account)") }
            guard let poll = s.poll else { throw ConfigurationError("\(path).poll is required: Five9 call logs are polled reports") }
            guard !poll.username.isEmpty, !poll.password.isEmpty else {
                throw ConfigurationError("\(path).poll.username and password are required (an administrator user with reporting rights)")
            }
            guard poll.baseURL != nil || Self.five9DataCenters[poll.dataCenter] != nil else {
                throw ConfigurationError("\(path).poll.data_center must be one of \(Self.five9DataCenters.keys.sorted().joined(separator: ", ")) (or set base_url)")
            }
            guard TimeZone(identifier: poll.reportTimeZone) != nil else {
                throw ConfigurationError("\(path).poll.report_time_zone \(poll.reportTimeZone) is not an IANA time zone")
            }
            for limit in poll.runReportLimits where PollSource.parseRateLimit(limit) == nil {
                throw ConfigurationError("\(path).poll.run_report_limits entry \(limit) must look like 16/minute")
            }
            try poll.validate(path: "\(path).poll")
        }
        for (i, s) in sources.leadconduit.enumerated() {
            let path = "sources.leadconduit[\(i)]"
            guard let poll = s.poll else { throw ConfigurationError("\(path).poll is required: LeadConduit events are polled") }
            guard !poll.apiKey.isEmpty else {
                throw ConfigurationError("\(path).poll.api_key is required (a LeadConduit API key, sent as the HTTP Basic password; use ${LEADCONDUIT_API_KEY})")
            }
            try poll.validate(path: "\(path).poll")
        }
        for (i, s) in sources.salesrabbit.enumerated() {
            let path = "sources.salesrabbit[\(i)]"
            guard let poll = s.poll else { throw ConfigurationError("\(path).poll is required: SalesRabbit leads are polled") }
            guard !poll.apiKey.isEmpty else {
                throw ConfigurationError("\(path).poll.api_key is required (the API token from SalesRabbit's Integrations > API page; use ${SALESRABBIT_API_TOKEN})")
            }
            try poll.validate(path: "\(path).poll")
        }
        for (i, s) in sources.arrivy.enumerated() {
            let path = "sources.arrivy[\(i)]"
            guard let poll = s.poll else { throw ConfigurationError("\(path).poll is required: Arrivy tasks are polled") }
            guard !poll.authKey.isEmpty, !poll.authToken.isEmpty else {
                throw ConfigurationError("\(path).poll.auth_key and auth_token are required (both from Arrivy's API page; use ${ARRIVY_AUTH_KEY} and ${ARRIVY_AUTH_TOKEN})")
            }
            guard (0...3650).contains(s.tasksPastDays), (0...3650).contains(s.tasksFutureDays) else {
                throw ConfigurationError("\(path).tasks_past_days and tasks_future_days must be 0 to 3650")
            }
            try poll.validate(path: "\(path).poll")
        }
        try validateSQLSources()
    }

    var moreSourcesSummary: [String] {
        var lines: [String] = []
        for s in sources.hubspot {
            lines.append("source hubspot \(s.name): portal_id=\(s.portalID) default_country=\(s.defaultCountry)")
            if let p = s.poll { lines.append("  poll: \(p.summary) access_token=*** entities=\(p.entities?.joined(separator: ",") ?? "default")") }
            if !s.webhookURL.isEmpty { lines.append("  webhook: url=\(s.webhookURL) client_secrets=\(s.clientSecrets.count)x***") }
        }
        for s in sources.clevertap {
            lines.append("source clevertap \(s.name): account_id=\(s.accountID) default_country=\(s.defaultCountry)")
            if let p = s.poll {
                lines.append("  poll: \(p.summary) passcode=*** region=\(p.region) event_name=\(p.eventName) dates=\(p.startDate ?? "start")..\(p.endDate ?? "today") batch_size=\(p.batchSize)")
            }
        }
        lines += sqlSourcesSummary
        for s in sources.leadconduit {
            lines.append("source leadconduit \(s.name)")
            if let p = s.poll { lines.append("  poll: \(p.summary) api_key=***") }
        }
        for s in sources.salesrabbit {
            lines.append("source salesrabbit \(s.name)")
            if let p = s.poll { lines.append("  poll: \(p.summary) api_key=*** entities=\(p.entities?.joined(separator: ",") ?? "default")") }
        }
        for s in sources.arrivy {
            lines.append("source arrivy \(s.name): tasks_window=-\(s.tasksPastDays)d..+\(s.tasksFutureDays)d")
            if let p = s.poll { lines.append("  poll: \(p.summary) auth_key=*** auth_token=*** entities=\(p.entities?.joined(separator: ",") ?? "default")") }
        }
        for s in sources.five9 {
            lines.append("source five9 \(s.name): domain=\(s.domain) default_country=\(s.defaultCountry)")
            if let p = s.poll {
                lines.append("  poll: \(p.summary) username=\(p.username) password=*** data_center=\(p.dataCenter) api_version=\(p.apiVersion) report=\(p.folderName)/\(p.reportName) report_time_zone=\(p.reportTimeZone)")
            }
        }
        return lines
    }
}
