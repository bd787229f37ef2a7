import Foundation
import Yams

/// Everything the three executables read from `callfeed.yaml` (docs/configuration.md).
/// Every key is optional; the defaults suit the embedded mode on one machine.
public struct CallFeedConfiguration: Sendable, Equatable {
    public var kafka = KafkaSettings()
    public var ingest = IngestSettings()
    public var load = LoadSettings()
    public var log = LogSettings()
    public var sources = SourceSettings()
    public var poll = PollGlobalSettings()
    public var dev = DevSettings()
    /// Problems worth a warning but not a refusal (a world-readable file with inline secrets),
    /// found by ``load(path:environment:)``; logged at start and shown by `--dry-run`.
    public var warnings: [String] = []

    public init() {}

    public struct KafkaSettings: Sendable, Equatable {
        public init() {}
        public var bootstrapServers = "127.0.0.1:9092"
        public var topicPrefix = "callfeed"
        /// Producer `message.timeout.ms`: a webhook not acknowledged by then is answered 503.
        public var deliveryTimeoutMilliseconds = 10_000
        /// Extra librdkafka properties for every client (security.protocol, sasl.*, ssl.*, ...).
        public var properties: [String: String] = [:]
    }

    public struct IngestSettings: Sendable, Equatable {
        public init() {}
        public var listenHost = "127.0.0.1"
        public var listenPort = 8080
        public var maxBodyBytes = 1_048_576
        public var connectionLimit = 4096
        public var connectionTimeoutSeconds = 30
        /// Allowed clock difference for signed timestamps (CTM `X-CTM-Time`).
        public var signatureToleranceSeconds = 300
        /// Request line plus headers larger than this get 431 (docs/security.md).
        public var maxHeaderBytes = 16_384
        /// Serve HTTPS: PEM certificate (chain) and unencrypted private key files, both or neither.
        public var tlsCertFile: String?
        public var tlsKeyFile: String?
        /// SIGTERM: how long in-flight requests, pollers and the producer flush may take before
        /// what is left is answered 503 and the process exits (docs/operations.md).
        public var shutdownGraceSeconds = 10
        /// Load shedding: while this many messages wait for Kafka's acknowledgement, webhooks are
        /// answered 503 + Retry-After at once and `/readyz` is 503 (0: no bound).
        public var maxOutstandingEvents = 20_000
    }

    public struct LoadSettings: Sendable, Equatable {
        public init() {}
        public var groupID = "callfeed-load"
        public var batchSize = 500
        public var lingerMilliseconds = 100
        /// Warehouse kind: `sqlite`, `postgres`, `clickhouse` or `bigquery` (``sinkKinds``).
        public var sink = "sqlite"
        public var sqlitePath = "./callfeed.db"
        public var postgres = PostgresSettings()
        public var clickhouse = ClickHouseSettings()
        public var bigquery = BigQuerySettings()
        /// `/metrics` and `/healthz` of `callfeed-load`.
        public var metricsHost = "127.0.0.1"
        public var metricsPort = 9091
        /// SIGTERM: how long the batch in hand may take to reach the warehouse and commit its
        /// offsets before the process gives up on it and exits (docs/operations.md).
        public var shutdownGraceSeconds = 30
        /// Test knob: a pause before each batch's warehouse write, to slow the loader on purpose
        /// (the embedded mode's back-pressure test). 0 = none; leave it at 0.
        public var batchDelayMilliseconds = 0
    }

    /// `callfeed dev` only (the embedded mock cluster).
    public struct DevSettings: Sendable, Equatable {
        public init() {}
        /// Most bytes a partition of the calls or entities topic may hold that the loader has not
        /// yet committed to the warehouse (``BacklogGate``). The mock cluster keeps 5 MiB per
        /// partition and deletes the oldest beyond that, read or not; 4 MiB leaves room for the
        /// estimate's slack. Past it webhooks get 503 + Retry-After and pollers wait.
        public var backlogLimitBytes = 4 * 1024 * 1024
    }

    public struct LogSettings: Sendable, Equatable {
        public init() {}
        /// trace, debug, info, notice, warning, error, critical
        public var level = "info"
        /// `json` (one object per line) or `text`.
        public var format = "json"
    }

    public struct PollGlobalSettings: Sendable, Equatable {
        public init() {}
        /// Checkpoints and rate-limiter history (SQLite).
        public var statePath = "./callfeed-state.db"
    }

    /// Polling of one source's API (present = the source is polled).
    public struct PollSource: Sendable, Equatable {
        public init() {}
        /// Override the vendor's API base URL (the sandbox, a proxy).
        public var baseURL: String?
        /// CTM: access key and secret key (HTTP Basic). CallKeeper, CallRail: `api_key`. JustCall:
        /// `api_key` and `api_secret`.
        public var accessKey = ""
        public var secretKey = ""
        public var apiKey = ""
        public var apiSecret = ""
        /// HubSpot: a private-app (or OAuth) access token, sent as `Authorization: Bearer`.
        public var accessToken = ""
        /// Google Sheets: the service account's JSON key file.
        public var credentialsFile = ""
        /// Arrivy's `X-Auth-Key` and `X-Auth-Token`.
        public var authKey = ""
        public var authToken = ""
        /// CleverTap: the account passcode (`X-CleverTap-Passcode`), the account's region (`in1`,
        /// `sg1`, `us1`, `aps3`, `mec1`, `eu1`), the event whose users are exported, the export's
        /// first and last day (`YYYYMMDD`; without `end_date` each run reads from the checkpoint
        /// to today) and the page size.
        public var passcode = ""
        public var region = "eu1"
        public var eventName = ""
        public var startDate: String?
        public var endDate: String?
        public var batchSize = 4991
        /// Five9: an administrator user (HTTP Basic), the data centre (`us`, `uk`, `ca`, `eu`) or a
        /// `base_url`, the web-services version, the report to run and the zone its times are in.
        public var username = ""
        public var password = ""
        public var dataCenter = "us"
        public var apiVersion = "v13"
        public var folderName = "Call Log Reports"
        public var reportName = "Call Log"
        public var reportTimeZone = "America/Los_Angeles"
        /// Five9: the domain's runReport limits (`16/minute`, …); default Five9's 16/min, 120/h, 800/day.
        public var runReportLimits: [String] = []
        /// CallRail: `numbered` (page numbers) or `relative` (CallRail's relative pagination).
        public var pagination = "numbered"
        /// JustCall: the API user's time zone, in which its date filters are read.
        public var userTimeZone = "America/Los_Angeles"
        /// CTM: `basic` (documented) or `token` (the seed's header). CallKeeper: unused.
        public var authScheme = "basic"
        /// CTM: `calls` (documented) or `activities` (the seed's path).
        public var callsPath = "calls"
        /// CallKeeper: `get`, `getByRole` or `getWithRole`.
        public var method = "get"
        /// CTM, CallRail: accounts to poll; empty = every account the key sees.
        public var accounts: [String] = []
        /// Non-call lists to poll as entity records (`accounts`, `users`, `trackers`, ...); nil =
        /// the vendor's default set (docs/pollers.md), `[]` = none.
        public var entities: [String]?
        /// Entity lists run every N seconds when set, else daily at `entities_daily_at` (UTC).
        public var entitiesIntervalSeconds: Int?
        public var entitiesDailyAt = "03:00"
        /// Run every N seconds, or once a day at `daily_at` (UTC `HH:MM`) when set.
        public var intervalSeconds = 300
        public var dailyAt: String?
        /// Re-read this far behind the checkpoint (calls change after they end).
        public var lookbackHours = 24
        /// First run starts here (`YYYY-MM-DD`, UTC); default: 7 days ago.
        public var start: String?
        /// Long ranges (first runs, backfills) are read in windows of this many days; a checkpoint
        /// per window. Larger windows mean fewer requests when a day holds less than a page.
        public var chunkDays = 1
        /// Rate limits, e.g. `["1000/hour"]`; default: the vendor's documented limit.
        public var rateLimits: [String] = []
        public var maxRetries = 3
        public var timeoutSeconds = 30
    }

    public struct SourceSettings: Sendable, Equatable {
        public init() {}
        public var callkeeper: [CallKeeperSource] = []
        public var ctm: [CTMSource] = []
        public var callrail: [CallRailSource] = []
        public var justcall: [JustCallSource] = []
        public var hubspot: [HubSpotSource] = []
        public var clevertap: [CleverTapSource] = []
        public var five9: [Five9Source] = []
        public var genius: [GeniusSource] = []
        public var marketsharp: [MarketSharpSource] = []
        public var salespro: [SalesProSource] = []
        public var leadconduit: [LeadConduitSource] = []
        public var salesrabbit: [SalesRabbitSource] = []
        public var arrivy: [ArrivySource] = []
        public var googleSheets: [GoogleSheetsSource] = []
    }

    /// HubSpot (vendors/hubspot.md): calls through the CRM search API, CRM objects as entity lists.
    public struct HubSpotSource: Sendable, Equatable {
        public init() {}
        public var name = "hubspot"
        /// The portal (hub) id: the events' `source_account_id`.
        public var portalID = ""
        public var defaultCountry = "US"
        public var poll: PollSource?
        /// The webhook URL exactly as registered in the HubSpot app (it is part of the v3
        /// signature). Empty: no `/webhooks/hubspot` route for this portal.
        public var webhookURL = ""
        /// The app's client secrets (they sign webhooks); list two while rotating.
        public var clientSecrets: [String] = []
    }

    /// CleverTap (seed 002, vendors/clevertap.md): user profiles only, no calls.
    public struct CleverTapSource: Sendable, Equatable {
        public init() {}
        public var name = "clevertap"
        /// The project id (`X-CleverTap-Account-Id`).
        public var accountID = ""
        /// Country assumed for profile phone numbers without a country code.
        public var defaultCountry = "US"
        public var poll: PollSource?
    }

    /// LeadConduit (seed 001; docs/research/leadconduit.md): lead events, polled only.
    public struct LeadConduitSource: Sendable, Equatable {
        public init() {}
        public var name = "leadconduit"
        public var poll: PollSource?
    }

    /// SalesRabbit (seed 001; docs/research/salesrabbit.md): leads, users and lead statuses, polled
    /// through the REST API (`poll.api_key` is the API token).
    public struct SalesRabbitSource: Sendable, Equatable {
        public init() {}
        public var name = "salesrabbit"
        public var poll: PollSource?
    }

    /// Arrivy (seed 001; docs/research/arrivy.md): tasks, crew entities and groups, polled.
    public struct ArrivySource: Sendable, Equatable {
        public init() {}
        public var name = "arrivy"
        /// Tasks are found by their scheduled time: each run reads from this many days before it…
        public var tasksPastDays = 30
        /// …to this many days after it (and every unscheduled task).
        public var tasksFutureDays = 90
        public var poll: PollSource?
    }

    /// Google Sheets (seed 001; docs/research/google-sheets.md): configured ranges of spreadsheets
    /// (marketing leads, marketing spend), each an entity table `google_sheets_<entity>`.
    public struct GoogleSheetsSource: Sendable, Equatable {
        public init() {}
        public var name = "google_sheets"
        public var sheets: [Sheet] = []
        public var poll: PollSource?

        /// One range read as one entity list.
        public struct Sheet: Sendable, Equatable {
            public init() {}
            /// `marketing_leads`: the table is `google_sheets_marketing_leads`.
            public var entity = ""
            /// From the sheet's URL: `https://docs.google.com/spreadsheets/d/<id>/edit`.
            public var spreadsheetID = ""
            /// A1 notation, header row first: `'Marketing Leads'!A1:H`, or a tab name for the whole tab.
            public var range = ""
            /// Header names whose values identify a row; empty: the row number (which shifts when rows are inserted).
            public var key: [String] = []
            /// Header names of date and date-time columns (serial numbers become dates).
            public var dateColumns: [String] = []
            /// A date-time column saying when the row last changed (`source_updated_at`).
            public var modifiedColumn: String?
            /// IANA zone of the sheet's date-times; nil: the spreadsheet's own setting.
            public var timeZone: String?
        }
    }

    /// Five9 (vendors/five9.md): call-log reports through the SOAP Configuration Web Services.
    public struct Five9Source: Sendable, Equatable {
        public init() {}
        public var name = "five9"
        /// The Five9 domain: the events' `source_account_id`.
        public var domain = ""
        public var defaultCountry = "US"
        public var poll: PollSource?
    }

    public struct CallRailSource: Sendable, Equatable {
        public init() {}
        public var name = "callrail"
        /// The account webhooks belong to (CallRail payloads name none); the numeric id polls use.
        public var accountID = ""
        /// Webhook signing keys (company settings); list two while rotating.
        public var signingKeys: [String] = []
        public var defaultCountry = "US"
        public var poll: PollSource?
    }

    public struct JustCallSource: Sendable, Equatable {
        public init() {}
        public var name = "justcall"
        /// The team the key pair belongs to: the events' `source_account_id`.
        public var accountID = ""
        /// API secrets that sign webhooks; list two while rotating.
        public var secrets: [String] = []
        /// The webhook URL exactly as configured at JustCall (it is part of the signature).
        public var webhookURL = ""
        public var defaultCountry = "US"
        public var poll: PollSource?
    }

    public struct CallKeeperSource: Sendable, Equatable {
        public init() {}
        public init(name: String, accountID: String, token: String, timezone: String = "UTC", defaultCountry: String = "RU") {
            self.name = name; self.accountID = accountID; self.token = token
            self.timezone = timezone; self.defaultCountry = defaultCountry
        }
        public var name = "callkeeper"
        public var accountID = ""
        /// Secret that webhook URLs must carry as `?token=`.
        public var token = ""
        /// More accepted tokens (rotation: list the next one here, switch the hook URLs at
        /// CallKeeper, then make it `token` and drop the old one).
        public var tokens: [String] = []
        /// Every token a webhook may carry.
        public var acceptedTokens: [String] { ([token] + tokens).filter { !$0.isEmpty } }
        /// Zone of CallKeeper's zone-less `callTime` (IANA name). See docs/call-event.md.
        public var timezone = "UTC"
        public var defaultCountry = "RU"
        public var poll: PollSource?
    }

    public struct CTMSource: Sendable, Equatable {
        public init() {}
        public init(name: String, accountID: String, secrets: [String], defaultCountry: String = "US") {
            self.name = name; self.accountID = accountID; self.secrets = secrets; self.defaultCountry = defaultCountry
        }
        public var name = "ctm"
        public var accountID = ""
        /// Webhook signing secrets; list two while rotating.
        public var secrets: [String] = []
        /// Per-account signing secrets (CTM signs each account's webhooks with that account's
        /// secret): account id → secrets. A hook signed with one of them is that account's call;
        /// ``secrets`` stays the fallback for ``accountID``.
        public var webhookSecrets: [String: [String]] = [:]
        public var defaultCountry = "US"
        public var poll: PollSource?

        /// Whether this source receives webhooks.
        public var receivesWebhooks: Bool { !secrets.isEmpty || webhookSecrets.values.contains { !$0.isEmpty } }

        /// The accounts whose hooks this source verifies, each with its secrets: ``webhookSecrets``
        /// sorted by account, then ``accountID`` with ``secrets``.
        public var webhookAccounts: [(accountID: String, secrets: [String])] {
            let mapped = webhookSecrets.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { (accountID: $0.key, secrets: $0.value) }
            return mapped + (secrets.isEmpty ? [] : [(accountID: accountID, secrets: secrets)])
        }
    }
}

/// A configuration problem, naming the key or variable to fix.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

extension CallFeedConfiguration {
    /// Reads a YAML file, substituting `${VAR}` / `${VAR:-default}` from `environment` in values.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> CallFeedConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("cannot read config file \(path)")
        }
        let yaml = String(decoding: data, as: UTF8.self)
        var config = try parse(yaml, environment: environment, origin: path)
        if let warning = InlineSecrets.permissionWarning(path: path, yaml: yaml) { config.warnings.append(warning) }
        return config
    }

    public static func parse(_ yaml: String, environment: [String: String], origin: String = "config") throws(ConfigurationError) -> CallFeedConfiguration {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigurationError("\(origin) is not valid YAML: \(error)")
        }
        guard let node else { return CallFeedConfiguration() }
        let tree = try ConfigTree(node: node, path: "", environment: environment)
        return try CallFeedConfiguration(tree: tree, origin: origin)
    }
}

/// The YAML after `${...}` substitution, as plain values; reads report the full key path.
indirect enum ConfigTree: Sendable {
    case scalar(String, path: String)
    case map([String: ConfigTree], path: String)
    case list([ConfigTree], path: String)

    init(node: Node, path: String, environment: [String: String]) throws(ConfigurationError) {
        switch node {
        case .scalar(let s):
            self = .scalar(try substitute(s.string, environment: environment, path: path), path: path)
        case .mapping(let m):
            var members: [String: ConfigTree] = [:]
            for (k, v) in m {
                let key = k.string ?? ""
                members[key] = try ConfigTree(node: v, path: path.isEmpty ? key : "\(path).\(key)", environment: environment)
            }
            self = .map(members, path: path)
        case .sequence(let items):
            var list: [ConfigTree] = []
            for (i, item) in items.enumerated() {
                list.append(try ConfigTree(node: item, path: "\(path)[\(i)]", environment: environment))
            }
            self = .list(list, path: path)
        }
    }

    var path: String {
        switch self {
        case .scalar(_, let p), .map(_, let p), .list(_, let p): return p
        }
    }

    /// Reads a map, refusing keys it does not know (a typo must not be silently ignored).
    func members(allowed: Set<String>) throws(ConfigurationError) -> [String: ConfigTree] {
        guard case .map(let m, _) = self else { throw ConfigurationError("\(path.isEmpty ? "top level" : path) must be a mapping") }
        if let unknown = m.keys.sorted().first(where: { !allowed.contains($0) }) {
            let full = path.isEmpty ? unknown : "\(path).\(unknown)"
            throw ConfigurationError("unknown configuration key \(full) (known: \(allowed.sorted().joined(separator: ", ")))")
        }
        return m
    }

    func string() throws(ConfigurationError) -> String {
        guard case .scalar(let s, _) = self else { throw ConfigurationError("\(path) must be a single value") }
        return s
    }

    func int() throws(ConfigurationError) -> Int {
        guard let i = Int(try string().trimmingCharacters(in: .whitespaces)) else { throw ConfigurationError("\(path) must be an integer") }
        return i
    }

    func list() throws(ConfigurationError) -> [ConfigTree] {
        if case .list(let items, _) = self { return items }
        if case .scalar(let s, _) = self, s.isEmpty { return [] }
        throw ConfigurationError("\(path) must be a list")
    }

    func strings() throws(ConfigurationError) -> [String] {
        var result: [String] = []
        for item in try list() { result.append(try item.string()) }
        return result
    }

    func stringMap() throws(ConfigurationError) -> [String: String] {
        if case .scalar(let s, _) = self, s.isEmpty { return [:] }
        guard case .map(let m, _) = self else { throw ConfigurationError("\(path) must be a mapping") }
        var result: [String: String] = [:]
        for (k, v) in m { result[k] = try v.string() }
        return result
    }
}

/// Replaces `${NAME}` (required) and `${NAME:-default}` in a configuration value.
func substitute(_ text: String, environment: [String: String], path: String) throws(ConfigurationError) -> String {
    var output = ""
    var rest = Substring(text)
    while let start = rest.range(of: "${") {
        output += rest[..<start.lowerBound]
        guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
            throw ConfigurationError("\(path): unterminated ${ in value")
        }
        let expression = rest[start.upperBound..<end]
        let name: Substring
        let fallback: Substring?
        if let sep = expression.range(of: ":-") {
            name = expression[..<sep.lowerBound]
            fallback = expression[sep.upperBound...]
        } else {
            name = expression
            fallback = nil
        }
        if let value = environment[String(name)], !(value.isEmpty && fallback != nil) {
            output += value
        } else if let fallback {
            output += fallback
        } else {
            throw ConfigurationError("\(path) needs environment variable \(name), which is not set")
        }
        rest = rest[rest.index(after: end)...]
    }
    return output + rest
}
