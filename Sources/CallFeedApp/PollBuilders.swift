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

/// One configured poll source, ready to build a poller.
public struct ConfiguredPollSource: Sendable {
    public var source: any CallSource
    public var poll: CallFeedConfiguration.PollSource
    public var credentialName: String
    public var defaultLimits: [RateLimiter.Window]
}

extension Builders {
    /// Every source with a `poll:` section.
    public static func pollSources(_ config: CallFeedConfiguration) -> [ConfiguredPollSource] {
        var result: [ConfiguredPollSource] = []
        for (i, s) in config.sources.ctm.enumerated() {
            guard let p = s.poll else { continue }
            let source = CTMCallSource(name: s.name, baseURL: p.baseURL ?? "https://api.calltrackingmetrics.com", accessKey: p.accessKey,
                                       secretKey: p.secretKey, authScheme: .init(rawValue: p.authScheme) ?? .basic,
                                       callsPath: p.callsPath, accountIDs: p.accounts, defaultCountry: s.defaultCountry)
            // CTM publishes no limit; seed 000 says 1,000 requests/hour.
            result.append(.init(source: source, poll: p, credentialName: "sources.ctm[\(i)].poll.access_key/secret_key",
                                defaultLimits: [.perHour(1000)]))
        }
        for (i, s) in config.sources.callkeeper.enumerated() {
            guard let p = s.poll else { continue }
            let source = CallKeeperCallSource(name: s.name, baseURL: p.baseURL ?? "https://ckct.ru", apiKey: p.apiKey,
                                              method: .init(rawValue: p.method) ?? .get, accountID: s.accountID,
                                              timeZone: s.timezone, defaultCountry: s.defaultCountry)
            // Undocumented: be conservative (vendor note §4).
            result.append(.init(source: source, poll: p, credentialName: "sources.callkeeper[\(i)].poll.api_key",
                                defaultLimits: [.perMinute(60)]))
        }
        return result
    }

    public static func openState(_ config: CallFeedConfiguration) throws(WarehouseError) -> StateStore {
        try StateStore(path: config.poll.statePath)
    }

    /// A poller for `configured`. `producer` nil = dry run.
    public static func makePoller(_ configured: ConfiguredPollSource, config: CallFeedConfiguration, producer: KafkaProducer?,
                                  store: StateStore, registry: PrometheusCollectorRegistry?, logger: Logger) -> CallPoller {
        let p = configured.poll
        let windows = p.rateLimits.isEmpty ? configured.defaultLimits : p.rateLimits.compactMap { text -> RateLimiter.Window? in
            CallFeedConfiguration.PollSource.parseRateLimit(text).map { RateLimiter.Window(limit: $0.limit, period: .seconds($0.seconds)) }
        }
        let history = StoredRateLimitHistory(store: store, key: "ratelimit/\(configured.source.vendor)/\(configured.source.name)")
        let client = VendorClient(http: HTTPClient(connectTimeoutSeconds: p.timeoutSeconds, totalTimeoutSeconds: p.timeoutSeconds),
                                  limiter: RateLimiter(windows: windows, history: history),
                                  retry: RetryPolicy(maxRetries: p.maxRetries))
        let start = p.start.flatMap { Timestamp.parseISO8601($0 + "T00:00:00Z") } ?? Timestamp.now().adding(seconds: -7 * 86_400)
        let settings = PollSettings(lookback: .seconds(Int64(p.lookbackHours) * 3600), initialStart: start)
        return CallPoller(source: configured.source, client: client, producer: producer, topics: Topics(prefix: config.kafka.topicPrefix),
                          store: store, settings: settings, credentialName: configured.credentialName, logger: logger,
                          metrics: registry.map(PollMetrics.init))
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
