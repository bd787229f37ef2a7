import CallFeedCore
import CallFeedPoll
import CallFeedSQLPoll
import Foundation
import HTTPClient
import Kafka
import Logging
import Prometheus
import Warehouse

/// A rate limiter's history kept in the state store, so a restart within a window honours it.
struct StoredRateLimitHistory: RateLimitHistory {
    let store: StateStore
    let key: String

    func load() -> [Int64] {
        guard let text = try? store.value(for: key) else { return [] }
        return text.split(separator: ",").compactMap { Int64($0) }
    }

    func save(_ times: [Int64]) {
        try? store.set(times.map(String.init).joined(separator: ","), for: key)
    }
}

extension CallFeedConfiguration.PollSource {
    /// Limiter windows from validated `rate_limits`-style texts (`1000/hour`, `100/10s`).
    static func windows(_ texts: [String]) -> [RateLimiter.Window] {
        texts.compactMap { text in parseRateLimit(text).map { RateLimiter.Window(limit: $0.limit, period: .seconds($0.seconds)) } }
    }
}

/// One configured poll source, ready to build its pollers.
public struct ConfiguredPollSource: Sendable {
    /// The operator's name for the source (`--source`, checkpoint keys).
    public var name: String
    /// Vendor key (`ctm`, `hubspot`, `clevertap`, …).
    public var vendor: String
    /// The calls; nil for a source that has none (CleverTap holds profiles only).
    public var source: (any CallSource)?
    /// The non-call lists polled with it (`entities:` in its poll section).
    public var entityStreams: [any EntityStream]
    public var poll: CallFeedConfiguration.PollSource
    public var defaultLimits: [RateLimiter.Window]
    /// The vendor's own backoff, when `max_retries` with the usual 1 s × 2 backoff does not suit it.
    public var retry: RetryPolicy?

    init(source: any CallSource, entityStreams: [any EntityStream], poll: CallFeedConfiguration.PollSource, defaultLimits: [RateLimiter.Window]) {
        self.name = source.name; self.vendor = source.vendor; self.source = source
        self.entityStreams = entityStreams; self.poll = poll; self.defaultLimits = defaultLimits
    }

    /// A source with entity lists only.
    init(name: String, vendor: String, entityStreams: [any EntityStream], poll: CallFeedConfiguration.PollSource, defaultLimits: [RateLimiter.Window]) {
        self.name = name; self.vendor = vendor; self.source = nil
        self.entityStreams = entityStreams; self.poll = poll; self.defaultLimits = defaultLimits
    }
}

/// The non-call lists each vendor offers, and those polled when `entities:` is not set.
enum EntityCatalog {
    static let available: [String: [String]] = [
        "ctm": CTMEntityStream.Kind.allCases.map(\.rawValue),
        "callrail": CallRailEntityStream.Kind.allCases.map(\.rawValue),
        "justcall": JustCallEntityStream.Kind.allCases.map(\.rawValue),
        "callkeeper": [],
        "hubspot": HubSpotEntityStream.standardNames,
        "clevertap": ["profiles"],
        "five9": [],
        "genius": GeniusTables.names,
        "marketsharp": [],
        "salespro": SalesProAthenaStream.defaults.map(\.entity),
        "leadconduit": ["events"],
        "salesrabbit": SalesRabbitStream.Kind.allCases.map(\.rawValue),
        "arrivy": ArrivyStream.Kind.allCases.map(\.rawValue),
    ]
    static let defaults: [String: [String]] = [
        "ctm": ["accounts"],
        "callrail": CallRailEntityStream.Kind.allCases.map(\.rawValue),
        "justcall": JustCallEntityStream.Kind.allCases.map(\.rawValue),
        "callkeeper": [],
        "hubspot": HubSpotEntityStream.standardNames,
        "clevertap": ["profiles"],
        "five9": [],
        "genius": GeniusTables.names,
        "marketsharp": [],
        "salespro": SalesProAthenaStream.defaults.map(\.entity),
        "leadconduit": ["events"],
        "salesrabbit": SalesRabbitStream.Kind.allCases.map(\.rawValue),
        "arrivy": ArrivyStream.Kind.allCases.map(\.rawValue),
    ]

    /// Vendors whose lists also take names outside `available` (HubSpot custom objects).
    /// HubSpot custom objects; Genius tables added under `tables:`.
    /// Google Sheets: the `sheets:` entities.
    static let acceptsCustomObjects: Set<String> = ["hubspot", "genius", "marketsharp", "salespro", "google_sheets"]

    static func names(_ poll: CallFeedConfiguration.PollSource, vendor: String) -> [String] {
        poll.entities ?? defaults[vendor] ?? []
    }
}

extension Builders {
    /// Every source with a `poll:` section. `store` (the state store) keeps limiter histories that
    /// live inside a source (Five9's runReport limits).
    public static func pollSources(_ config: CallFeedConfiguration, store: StateStore? = nil) -> [ConfiguredPollSource] {
        var result: [ConfiguredPollSource] = []
        for s in config.sources.ctm {
            guard let p = s.poll else { continue }
            let source = CTMCallSource(name: s.name, baseURL: p.baseURL ?? "https://api.calltrackingmetrics.com", accessKey: p.accessKey,
                                       secretKey: p.secretKey, authScheme: .init(rawValue: p.authScheme) ?? .basic,
                                       callsPath: p.callsPath, accountIDs: p.accounts, defaultCountry: s.defaultCountry)
            let streams = EntityCatalog.names(p, vendor: "ctm").compactMap(CTMEntityStream.Kind.init).map { CTMEntityStream(calls: source, kind: $0) }
            // CTM publishes no limit; seed 000 says 1,000 requests/hour.
            result.append(.init(source: source, entityStreams: streams, poll: p, defaultLimits: [.perHour(1000)]))
        }
        for s in config.sources.callkeeper {
            guard let p = s.poll else { continue }
            let source = CallKeeperCallSource(name: s.name, baseURL: p.baseURL ?? "https://ckct.ru", apiKey: p.apiKey,
                                              method: .init(rawValue: p.method) ?? .get, accountID: s.accountID,
                                              timeZone: s.timezone, defaultCountry: s.defaultCountry)
            // Undocumented: be conservative (vendor note §4).
            result.append(.init(source: source, entityStreams: [], poll: p,
                                defaultLimits: [.perMinute(60)]))
        }
        for s in config.sources.callrail {
            guard let p = s.poll else { continue }
            let source = CallRailCallSource(name: s.name, baseURL: p.baseURL ?? "https://api.callrail.com", apiKey: p.apiKey,
                                            accountIDs: p.accounts, defaultCountry: s.defaultCountry,
                                            pagination: .init(rawValue: p.pagination) ?? .numbered)
            let streams = EntityCatalog.names(p, vendor: "callrail").compactMap(CallRailEntityStream.Kind.init)
                .map { CallRailEntityStream(calls: source, kind: $0) }
            // CallRail: 1,000 requests/hour and 10,000/day (vendor note §4; the seed's 60/min is wrong).
            result.append(.init(source: source, entityStreams: streams, poll: p,
                                defaultLimits: [.perHour(1000), .perDay(10_000)]))
        }
        for s in config.sources.justcall {
            guard let p = s.poll else { continue }
            let source = JustCallCallSource(name: s.name, baseURL: p.baseURL ?? "https://api.justcall.io", apiKey: p.apiKey,
                                            apiSecret: p.apiSecret, accountID: s.accountID, userTimeZone: p.userTimeZone,
                                            defaultCountry: s.defaultCountry)
            let streams = EntityCatalog.names(p, vendor: "justcall").compactMap(JustCallEntityStream.Kind.init)
                .map { JustCallEntityStream(calls: source, kind: $0) }
            // JustCall: by plan, 30-90/minute; the lowest unless configured, and its X-Rate-Limit-* headers slow us further.
            result.append(.init(source: source, entityStreams: streams, poll: p, defaultLimits: [.perMinute(30)]))
        }
        return result + morePollSources(config, store: store) + sqlPollSources(config)
    }

    public static func openState(_ config: CallFeedConfiguration) throws(WarehouseError) -> StateStore {
        try StateStore(path: config.poll.statePath)
    }

    /// The source's rate limiter, its history in the state store so a restart within a window honours it.
    /// One per source, shared by its call and entity pollers (the vendor counts them together).
    public static func makeLimiter(_ configured: ConfiguredPollSource, store: StateStore) -> RateLimiter {
        let p = configured.poll
        let windows = p.rateLimits.isEmpty ? configured.defaultLimits : CallFeedConfiguration.PollSource.windows(p.rateLimits)
        let history = StoredRateLimitHistory(store: store, key: "ratelimit/\(configured.vendor)/\(configured.name)")
        return RateLimiter(windows: windows, history: history)
    }

    static func makeClient(_ configured: ConfiguredPollSource, limiter: RateLimiter) -> VendorClient {
        let poll = configured.poll
        return VendorClient(http: HTTPClient(connectTimeoutSeconds: poll.timeoutSeconds, totalTimeoutSeconds: poll.timeoutSeconds),
                            limiter: limiter, retry: configured.retry ?? RetryPolicy(maxRetries: poll.maxRetries))
    }

    static func settings(_ poll: CallFeedConfiguration.PollSource) -> PollSettings {
        let start = poll.start.flatMap { Timestamp.parseISO8601($0 + "T00:00:00Z") } ?? Timestamp.now().adding(seconds: -7 * 86_400)
        return PollSettings(lookback: .seconds(Int64(poll.lookbackHours) * 3600), initialStart: start,
                            chunk: .seconds(Int64(poll.chunkDays) * 86_400))
    }

    /// The call poller of `configured`, nil for a source without calls. `producer` nil = dry run.
    public static func makePoller(_ configured: ConfiguredPollSource, config: CallFeedConfiguration, producer: KafkaProducer?,
                                  store: StateStore, limiter: RateLimiter? = nil, registry: PrometheusCollectorRegistry?,
                                  logger: Logger) -> CallPoller? {
        guard let source = configured.source else { return nil }
        let client = makeClient(configured, limiter: limiter ?? makeLimiter(configured, store: store))
        return CallPoller(source: source, client: client, producer: producer, topics: Topics(prefix: config.kafka.topicPrefix),
                          store: store, settings: settings(configured.poll), logger: logger,
                          metrics: registry.map(PollMetrics.init))
    }

    /// The entity poller of `configured`, nil when it polls no entity lists. `producer` nil = dry run.
    public static func makeEntityPoller(_ configured: ConfiguredPollSource, config: CallFeedConfiguration, producer: KafkaProducer?,
                                        store: StateStore, limiter: RateLimiter? = nil, registry: PrometheusCollectorRegistry?,
                                        logger: Logger) -> EntityPoller? {
        guard !configured.entityStreams.isEmpty else { return nil }
        let source = configured.source
        // Per-account lists read the call source's accounts; a source without calls has only per-source lists.
        return EntityPoller(name: configured.name, streams: configured.entityStreams,
                            accounts: { client throws(PollError) in try source?.accounts(client: client) ?? [] },
                            client: makeClient(configured, limiter: limiter ?? makeLimiter(configured, store: store)),
                            producer: producer, topics: Topics(prefix: config.kafka.topicPrefix), store: store,
                            settings: settings(configured.poll), logger: logger, metrics: registry.map(PollMetrics.init))
    }

    /// The scheduler's jobs for every polled source: calls on the source's schedule, entity lists
    /// on theirs (daily by default), both through one rate limiter.
    public static func pollJobs(_ config: CallFeedConfiguration, producer: KafkaProducer, store: StateStore,
                                registry: PrometheusCollectorRegistry?, logger: Logger) -> [PollScheduler.Job] {
        pollSources(config, store: store).flatMap { configured -> [PollScheduler.Job] in
            let limiter = makeLimiter(configured, store: store)
            var jobs: [PollScheduler.Job] = []
            if let calls = makePoller(configured, config: config, producer: producer, store: store, limiter: limiter, registry: registry, logger: logger) {
                jobs.append(PollScheduler.Job(poller: calls, schedule: schedule(configured.poll)))
            }
            if let entities = makeEntityPoller(configured, config: config, producer: producer, store: store, limiter: limiter,
                                               registry: registry, logger: logger) {
                jobs.append(PollScheduler.Job(poller: entities, schedule: entitySchedule(configured.poll)))
            }
            return jobs
        }
    }

    public static func entitySchedule(_ poll: CallFeedConfiguration.PollSource) -> PollSchedule {
        if let seconds = poll.entitiesIntervalSeconds { return .every(.seconds(Int64(seconds))) }
        return .dailyAt(minutesUTC: CallFeedConfiguration.PollSource.parseDailyAt(poll.entitiesDailyAt) ?? 180)
    }

    public static func schedule(_ poll: CallFeedConfiguration.PollSource) -> PollSchedule {
        if let daily = poll.dailyAt, let minutes = CallFeedConfiguration.PollSource.parseDailyAt(daily) { return .dailyAt(minutesUTC: minutes) }
        return .every(.seconds(Int64(poll.intervalSeconds)))
    }

    /// Finds a poll source by name (for `callfeed poll|backfill|check --source`).
    public static func pollSource(named name: String, in config: CallFeedConfiguration, store: StateStore? = nil) throws(ConfigurationError) -> ConfiguredPollSource {
        let all = pollSources(config, store: store)
        guard let found = all.first(where: { $0.name == name }) else {
            throw ConfigurationError("no polled source named \(name) (polled sources: \(all.map(\.name).joined(separator: ", ")))")
        }
        return found
    }
}
