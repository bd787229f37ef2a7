import CallFeedCore
import CallFeedIngest
import CallFeedPoll
import CallFeedVendors
import Foundation
import HTTPClient

extension Builders {
    /// `POST /webhooks/hubspot` for the HubSpot sources with `webhook_url` and `client_secrets`
    /// (nil when none has both). The route re-reads the notified calls through each source's own
    /// ``HubSpotCallSource`` (base URL, token, dispositions) with a ``HubSpotWebhookFetcher``.
    static func hubSpotWebhookRoute(_ config: CallFeedConfiguration) -> HubSpotWebhookRoute? {
        let configured = config.sources.hubspot.filter { !$0.webhookURL.isEmpty && !$0.clientSecrets.isEmpty && $0.poll != nil }
        guard !configured.isEmpty else { return nil }
        let fetcher = HubSpotWebhookFetcher(configured)
        return HubSpotWebhookRoute(sources: configured.map {
            .init(source: WebhookSource(name: $0.name, context: MappingContext(accountID: $0.portalID, timeZone: "UTC",
                                                                               defaultCountry: $0.defaultCountry)),
                  secrets: $0.clientSecrets, webhookURL: $0.webhookURL)
        }, toleranceSeconds: Int64(config.ingest.signatureToleranceSeconds),
           fetch: { ids, source in try fetcher.fetch(ids, source: source) },
           map: { record, source throws(MappingError) in try fetcher.content(of: record, source: source) })
    }
}

/// The HubSpot API side of the webhook route: per configured source, the poller's call source
/// (same base URL, token and disposition labels) and a client made for a 5-second answer budget:
/// 2 s to connect, 3 s per request, one retry after 250 ms. It shares the token's 100-per-10-s
/// budget with the poller, so it allows itself 20 requests per 10 s (a delivery of up to 100
/// calls is one batch read). Calls are serialised per source (a ``VendorClient`` is one
/// thread's); the receiver's worker runs them one at a time anyway.
final class HubSpotWebhookFetcher: @unchecked Sendable {
    private struct Entry {
        let source: HubSpotCallSource
        let client: VendorClient
        let lock = NSLock()
    }

    private let entries: [String: Entry]

    init(_ sources: [CallFeedConfiguration.HubSpotSource]) {
        var entries: [String: Entry] = [:]
        for s in sources {
            guard let p = s.poll else { continue }
            let source = HubSpotCallSource(name: s.name, baseURL: p.baseURL ?? "https://api.hubapi.com", accessToken: p.accessToken,
                                           portalID: s.portalID, defaultCountry: s.defaultCountry)
            let client = VendorClient(http: HTTPClient(connectTimeoutSeconds: 2, totalTimeoutSeconds: 3),
                                      limiter: RateLimiter(windows: [RateLimiter.Window(limit: 20, period: .seconds(10))]),
                                      retry: RetryPolicy(maxRetries: 1, initialDelay: .milliseconds(250), maxDelay: .seconds(1)))
            entries[s.name] = Entry(source: source, client: client)
        }
        self.entries = entries
    }

    /// The current call records of `ids` for the portal of `source`.
    /// - Throws: ``PollError`` (a 401/403 names `sources.hubspot[<name>].poll.access_token`).
    func fetch(_ ids: [String], source: WebhookSource) throws -> [JSONValue] {
        guard let entry = entries[source.name] else { throw PollError(.configuration, "no HubSpot source named \(source.name)") }
        entry.lock.lock()
        defer { entry.lock.unlock() }
        return try entry.source.fetchCalls(ids: ids, client: entry.client)
    }

    /// Maps a fetched record with the source's disposition labels (as its poller does).
    func content(of record: JSONValue, source: WebhookSource) throws(MappingError) -> CallContent {
        guard let entry = entries[source.name] else { throw MappingError(reason: "no HubSpot source named \(source.name)") }
        return try entry.source.content(of: record, account: source.context.accountID)
    }
}
