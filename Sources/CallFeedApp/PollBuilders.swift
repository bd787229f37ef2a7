import CallFeedCore
import CallFeedPoll
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

/// One configured poll source, ready to build its pollers.
public struct ConfiguredPollSource: Sendable {
    public var source: any CallSource
    /// The non-call lists polled with it (`entities:` in its poll section).
    public var entityStreams: [any EntityStream]
    public var poll: CallFeedConfiguration.PollSource
    public var defaultLimits: [RateLimiter.Window]
}

/// The non-call lists each vendor offers, and those polled when `entities:` is not set.
enum EntityCatalog {
    static let available: [String: [String]] = [
        "ctm": CTMEntityStream.Kind.allCases.map(\.rawValue),
        "callrail": CallRailEntityStream.Kind.allCases.map(\.rawValue),
        "justcall": JustCallEntityStream.Kind.allCases.map(\.rawValue),
        "callkeeper": [],
    ]
    static let defaults: [String: [String]] = [
        "ctm": ["accounts"],
        "callrail": CallRailEntityStream.Kind.allCases.map(\.rawValue),
        "justcall": JustCallEntityStream.Kind.allCases.map(\.rawValue),
        "callkeeper": [],
    ]

    static func names(_ poll: CallFeedConfiguration.PollSource, vendor: String) -> [String] {
        poll.entities ?? defaults[vendor] ?? []
    }
}

extension Builders {
    /// Every source with a `poll:` section.
    public static func pollSources(_ config: CallFeedConfiguration) -> [ConfiguredPollSource] {
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
        return result
    }

    public static func openState(_ config: CallFeedConfiguration) throws(WarehouseError) -> StateStore {
        try StateStore(path: config.poll.statePath)
    }

    /// The source's rate limiter, its history in the state store so a restart within a window honours it.
    /// One per source, shared by its call and entity pollers (the vendor counts them together).
    public static func makeLimiter(_ configured: ConfiguredPollSource, store: StateStore) -> RateLimiter {
        let p = configured.poll
        let windows = p.rateLimits.isEmpty ? configured.defaultLimits : p.rateLimits.compactMap { text -> RateLimiter.Window? in
            CallFeedConfiguration.PollSource.parseRateLimit(text).map { RateLimiter.Window(limit: $0.limit, period: .seconds($0.seconds)) }
        }
        let history = StoredRateLimitHistory(store: store, key: "ratelimit/\(configured.source.vendor)/\(configured.source.name)")
        return RateLimiter(windows: windows, history: history)
    }

    static func makeClient(_ poll: CallFeedConfiguration.PollSource, limiter: RateLimiter) -> VendorClient {
        VendorClient(http: HTTPClient(connectTimeoutSeconds: poll.timeoutSeconds, totalTimeoutSeconds: poll.timeoutSeconds),
                     limiter: limiter, retry: RetryPolicy(maxRetries: poll.maxRetries))
    }

    static func settings(_ poll: CallFeedConfiguration.PollSource) -> PollSettings {
        let start = poll.start.flatMap { Timestamp.parseISO8601($0 + "T00:00:00Z") } ?? Timestamp.now().adding(seconds: -7 * 86_400)
        return PollSettings(lookback: .seconds(Int64(poll.lookbackHours) * 3600), initialStart: start,
                            chunk: .seconds(Int64(poll.chunkDays) * 86_400))
    }

    /// The call poller of `configured`. `producer` nil = dry run.
    public static func makePoller(_ configured: ConfiguredPollSource, config: CallFeedConfiguration, producer: KafkaProducer?,
                                  store: StateStore, limiter: RateLimiter? = nil, registry: PrometheusCollectorRegistry?,
                                  logger: Logger) -> CallPoller {
        let client = makeClient(configured.poll, limiter: limiter ?? makeLimiter(configured, store: store))
        return CallPoller(source: configured.source, client: client, producer: producer, topics: Topics(prefix: config.kafka.topicPrefix),
                          store: store, settings: settings(configured.poll), logger: logger,
                          metrics: registry.map(PollMetrics.init))
    }

    /// The entity poller of `configured`, nil when it polls no entity lists. `producer` nil = dry run.
    public static func makeEntityPoller(_ configured: ConfiguredPollSource, config: CallFeedConfiguration, producer: KafkaProducer?,
                                        store: StateStore, limiter: RateLimiter? = nil, registry: PrometheusCollectorRegistry?,
                                        logger: Logger) -> EntityPoller? {
        guard !configured.entityStreams.isEmpty else { return nil }
        let source = configured.source
        return EntityPoller(name: source.name, streams: configured.entityStreams,
                            accounts: { client throws(PollError) in try source.accounts(client: client) },
                            client: makeClient(configured.poll, limiter: limiter ?? makeLimiter(configured, store: store)),
                            producer: producer, topics: Topics(prefix: config.kafka.topicPrefix), store: store,
                            settings: settings(configured.poll), logger: logger, metrics: registry.map(PollMetrics.init))
    }

    /// The scheduler's jobs for every polled source: calls on the source's schedule, entity lists
    /// on theirs (daily by default), both through one rate limiter.
    public static func pollJobs(_ config: CallFeedConfiguration, producer: KafkaProducer, store: StateStore,
                                registry: PrometheusCollectorRegistry?, logger: Logger) -> [PollScheduler.Job] {
        pollSources(config).flatMap { configured -> [PollScheduler.Job] in
            let limiter = makeLimiter(configured, store: store)
            var jobs = [PollScheduler.Job(poller: makePoller(configured, config: config, producer: producer, store: store, limiter: limiter,
                                                             registry: registry, logger: logger),
                                          schedule: schedule(configured.poll))]
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
    public static func pollSource(named name: String, in config: CallFeedConfiguration) throws(ConfigurationError) -> ConfiguredPollSource {
        let all = pollSources(config)
        guard let found = all.first(where: { $0.source.name == name }) else {
            throw ConfigurationError("no polled source named \(name) (polled sources: \(all.map(\.source.name).joined(separator: ", ")))")
        }
        return found
    }
}
