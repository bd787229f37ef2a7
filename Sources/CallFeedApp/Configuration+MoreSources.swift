import CallFeedCore
import CallFeedPoll
import CallFeedVendors
import Foundation

/// `sources.hubspot`, `clevertap`, `five9`, `leadconduit`, `salesrabbit`, `arrivy` and `google_sheets`: decoding, validation and the
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
        for item in try m["google_sheets"]?.list() ?? [] {
            let f = try item.members(allowed: ["name", "sheets", "poll"])
            var source = GoogleSheetsSource()
            if let v = f["name"] { source.name = try v.string() }
            for sheetTree in try f["sheets"]?.list() ?? [] {
                let g = try sheetTree.members(allowed: ["entity", "spreadsheet_id", "range", "key", "date_columns", "modified_column", "time_zone"])
                var sheet = GoogleSheetsSource.Sheet()
                if let v = g["entity"] { sheet.entity = try v.string() }
                if let v = g["spreadsheet_id"] { sheet.spreadsheetID = try v.string() }
                if let v = g["range"] { sheet.range = try v.string() }
                if let v = g["key"] { sheet.key = try v.strings() }
                if let v = g["date_columns"] { sheet.dateColumns = try v.strings() }
                if let v = g["modified_column"] { sheet.modifiedColumn = try v.string() }
                if let v = g["time_zone"] { sheet.timeZone = try v.string() }
                source.sheets.append(sheet)
            }
            if let v = f["poll"] { source.poll = try PollSource(tree: v, vendor: "google_sheets") }
            sources.googleSheets.append(source)
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
        try validateGoogleSheets()
        try validateSQLSources()
    }

    func validateGoogleSheets() throws(ConfigurationError) {
        for (i, s) in sources.googleSheets.enumerated() {
            let path = "sources.google_sheets[\(i)]"
            guard let poll = s.poll else { throw ConfigurationError("\(path).poll is required: sheets are polled") }
            guard !poll.credentialsFile.isEmpty else {
                throw ConfigurationError("\(path).poll.credentials_file is required (a service account's JSON key; share each sheet with its client_email)")
            }
            guard !s.sheets.isEmpty else { throw ConfigurationError("\(path).sheets needs at least one sheet (entity, spreadsheet_id, range)") }
            var entities: Set<String> = []
            for (j, sheet) in s.sheets.enumerated() {
                let at = "\(path).sheets[\(j)]"
                guard sheet.entity.range(of: "^[a-z][a-z0-9_]{0,62}$", options: .regularExpression) != nil else {
                    throw ConfigurationError("\(at).entity must be a lower-case name such as marketing_leads (it names the table google_sheets_<entity>)")
                }
                guard entities.insert(sheet.entity).inserted else { throw ConfigurationError("\(at).entity \(sheet.entity) is used twice") }
                guard !sheet.spreadsheetID.isEmpty, !sheet.range.isEmpty else {
                    throw ConfigurationError("\(at).spreadsheet_id and range are required (the id from the sheet's URL; a range like 'Leads'!A1:H)")
                }
                if let zone = sheet.timeZone, TimeZone(identifier: zone) == nil {
                    throw ConfigurationError("\(at).time_zone \(zone) is not an IANA time zone")
                }
                if let unnamed = (sheet.key + sheet.dateColumns + [sheet.modifiedColumn].compactMap { $0 }).first(where: { GoogleSheetsMapping.columnName($0).isEmpty }) {
                    throw ConfigurationError("\(at): column \(jsonStringLiteral(unnamed)) has no letters or digits (name columns by their header text)")
                }
            }
            if let unknown = poll.entities?.first(where: { !entities.contains($0) }) {
                throw ConfigurationError("\(path).poll.entities names \(unknown), which is not one of its sheets (\(entities.sorted().joined(separator: ", ")))")
            }
            try poll.validate(path: "\(path).poll")
        }
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
        for s in sources.googleSheets {
            lines.append("source google_sheets \(s.name): sheets=" + s.sheets.map { "\($0.entity)=\($0.spreadsheetID)/\($0.range)" }.joined(separator: ","))
            if let p = s.poll { lines.append("  poll: \(p.summary) credentials_file=\(p.credentialsFile)") }
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
