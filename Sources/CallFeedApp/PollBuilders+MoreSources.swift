import CallFeedCore
import CallFeedPoll
import CallFeedVendors
import HTTPClient
import Warehouse

extension Builders {
    /// HubSpot, CleverTap and Five9 sources with a `poll:` section. `store` keeps Five9's runReport
    /// limiter history across restarts (in memory without one).
    static func morePollSources(_ config: CallFeedConfiguration, store: StateStore?) -> [ConfiguredPollSource] {
        var result: [ConfiguredPollSource] = []
        for s in config.sources.hubspot {
            guard let p = s.poll else { continue }
            let source = HubSpotCallSource(name: s.name, baseURL: p.baseURL ?? "https://api.hubapi.com", accessToken: p.accessToken,
                                           portalID: s.portalID, defaultCountry: s.defaultCountry)
            let streams = HubSpotEntityStream.streams(calls: source, names: EntityCatalog.names(p, vendor: "hubspot"))
            // Free/Starter private app: 100 per rolling 10 s (vendors/hubspot.md §4). The search API's own
            // 4/s is paced by the source itself (per token, shared by its call and entity jobs); the
            // X-HubSpot-RateLimit-* headers slow us further.
            result.append(.init(source: source, entityStreams: streams, poll: p,
                                defaultLimits: [RateLimiter.Window(limit: 100, period: .seconds(10))]))
        }
        for s in config.sources.clevertap {
            guard let p = s.poll else { continue }
            let stream = cleverTapStream(s, poll: p)
            // Concurrency-limited, not rate-limited (vendors/clevertap.md §4): one request at a time, gently,
            // and a 429 is waited out in minutes, not seconds.
            var configured = ConfiguredPollSource(name: s.name, vendor: "clevertap", entityStreams: [stream], poll: p, defaultLimits: [.perMinute(60)])
            configured.retry = RetryPolicy(maxRetries: max(p.maxRetries, 5), initialDelay: .seconds(5), factor: 3, maxDelay: .seconds(600))
            result.append(configured)
        }
        for s in config.sources.five9 {
            guard let p = s.poll else { continue }
            let limits = CallFeedConfiguration.PollSource.windows(p.runReportLimits)
            let source = Five9CallSource(name: s.name, baseURL: p.baseURL ?? CallFeedConfiguration.five9DataCenters[p.dataCenter] ?? "https://api.five9.com",
                                         apiVersion: p.apiVersion, username: p.username, password: p.password, domain: s.domain,
                                         folderName: p.folderName, reportName: p.reportName, defaultCountry: s.defaultCountry,
                                         reportTimeZone: p.reportTimeZone,
                                         runReportLimits: limits.isEmpty ? [.perMinute(16), .perHour(120), .perDay(800)] : limits,
                                         runReportHistory: store.map { StoredRateLimitHistory(store: $0, key: "ratelimit/five9/\(s.name)/runReport") })
            // The Query operations (isReportRunning) allow 450/min; runReport has its own limiter in the source.
            result.append(.init(source: source, entityStreams: [], poll: p, defaultLimits: [.perMinute(450)]))
        }
        for s in config.sources.leadconduit {
            guard let p = s.poll else { continue }
            let stream = LeadConduitEventStream(name: s.name, baseURL: p.baseURL ?? "https://app.leadconduit.com", apiKey: p.apiKey)
            // No published API limit (docs/research/leadconduit.md); the seed's ~60/min.
            result.append(ConfiguredPollSource(name: s.name, vendor: LeadConduitEventStream.vendor, entityStreams: [stream], poll: p,
                                               defaultLimits: [.perMinute(60)]))
        }
        for s in config.sources.salesrabbit {
            guard let p = s.poll else { continue }
            let streams = SalesRabbitStream.streams(name: s.name, baseURL: p.baseURL, apiToken: p.apiKey,
                                                    names: EntityCatalog.names(p, vendor: SalesRabbitStream.vendor))
            // No published limit (docs/research/salesrabbit.md); the seed's ~50/min.
            result.append(ConfiguredPollSource(name: s.name, vendor: SalesRabbitStream.vendor, entityStreams: streams, poll: p,
                                               defaultLimits: [.perMinute(50)]))
        }
        for s in config.sources.arrivy {
            guard let p = s.poll else { continue }
            let streams = ArrivyStream.streams(name: s.name, baseURL: p.baseURL, authKey: p.authKey, authToken: p.authToken,
                                               names: EntityCatalog.names(p, vendor: ArrivyStream.vendor),
                                               pastDays: s.tasksPastDays, futureDays: s.tasksFutureDays)
            // No published limit (docs/research/arrivy.md; clients assume 30/min or 30/s); the seed's ~120/min.
            result.append(ConfiguredPollSource(name: s.name, vendor: ArrivyStream.vendor, entityStreams: streams, poll: p,
                                               defaultLimits: [.perMinute(120)]))
        }
        for s in config.sources.googleSheets {
            guard let p = s.poll else { continue }
            // Sheets allows 60 read requests per minute per user per project (docs/research/google-sheets.md).
            result.append(ConfiguredPollSource(name: s.name, vendor: GoogleSheetsStream.vendor, entityStreams: googleSheetsStreams(s, poll: p), poll: p,
                                               defaultLimits: [.perMinute(60)]))
        }
        return result
    }

    /// One stream per configured sheet selected by `poll.entities`, sharing one token cache.
    public static func googleSheetsStreams(_ s: CallFeedConfiguration.GoogleSheetsSource, poll p: CallFeedConfiguration.PollSource) -> [GoogleSheetsStream] {
        let tokens = GoogleAccessTokens(keyFile: p.credentialsFile)
        return s.sheets.filter { p.entities?.contains($0.entity) ?? true }.map {
            GoogleSheetsStream(name: s.name, entity: $0.entity, spreadsheetID: $0.spreadsheetID, range: $0.range,
                               baseURL: p.baseURL ?? "https://sheets.googleapis.com", timeZone: $0.timeZone,
                               mapping: GoogleSheetsMapping(keyColumns: $0.key, dateColumns: $0.dateColumns, modifiedColumn: $0.modifiedColumn),
                               tokens: tokens)
        }
    }
}

extension Builders {
    /// The CleverTap profile stream of a configured source (also what its validation checks).
    static func cleverTapStream(_ s: CallFeedConfiguration.CleverTapSource, poll p: CallFeedConfiguration.PollSource) -> CleverTapProfileStream {
        CleverTapProfileStream(name: s.name, accountID: s.accountID, passcode: p.passcode, region: p.region, baseURL: p.baseURL,
                               eventName: p.eventName, startDate: p.startDate, endDate: p.endDate, batchSize: p.batchSize,
                               defaultCountry: s.defaultCountry)
    }
}
