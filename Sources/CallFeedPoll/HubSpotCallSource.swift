import CallFeedCore
import CallFeedVendors
import Foundation
import HTTPClient
import Synchronization

/// HubSpot CRM v3 calls (../shared/vendors/hubspot.md): `POST /crm/v3/objects/calls/search`,
/// one private-app (or OAuth) token per portal.
///
/// - Auth (§1): `Authorization: Bearer <access token>`. The seed's portal API key (`hapikey`) was
///   sunset in 2022. A 401/403 stops the run naming `sources.hubspot[<name>].poll.access_token`.
/// - Accounts: one token reads one portal: ``accounts(client:)`` is the configured ``portalID``
///   (the events' `source_account_id`). It also loads the portal's call dispositions
///   (`GET /calling/v1/dispositions`, GUID → label) once per run into a cache that
///   ``content(of:account:)`` reads; without ``customDispositions`` only the six defaults are known.
/// - Windows (§3): the poller's windows are on **`hs_lastmodifieddate`**, not the call time: one
///   filter group `hs_lastmodifieddate GTE from AND LT to` (epoch ms), sorted ascending, `limit`
///   ``pageSize`` (≤ 200), so a changed call (a late recording, a new disposition) is read again
///   by the next run. Pages are **keyset** pages: each is a new search from the last
///   `hs_lastmodifieddate` read, with `after` skipping only the records already read at exactly
///   that millisecond (``Keyset``, saved by the poller through ``CallPage/nextCursor``). HubSpot's
///   `after` alone is an offset into a list whose sort key moves: a call modified mid-window would
///   push another into a page already read. The last page has no `paging.next`.
/// - Result cap (§3): a search pages through at most 10,000 results (``resultCap``); the first
///   page's `total` lets ``CallPoller`` halve a window over it (down to 1 s, ``granularity``).
///   Keyset pages keep `after` small anyway; only more than 10,000 calls modified in the same
///   millisecond (a bulk import) stop at the cap instead of asking for the 400 HubSpot gives past
///   it; the poller logs and counts a window still over the cap.
/// - Limits (§4): search has its own budget, 4 requests a second per token, and sends no rate
///   headers: the source paces its searches to ``searchesPerSecond`` per 1.1 s itself (the margin
///   absorbs network jitter: HubSpot counts arrivals); the 100-per-10-s
///   budget of the token is the client's ``HTTPClient/RateLimiter`` (and the
///   `X-HubSpot-RateLimit-*` headers the other endpoints send).
/// - Search results lag writes by seconds to a minute [3P]: the poller's lookback re-reads them.
public struct HubSpotCallSource: CallSource {
    public let vendor = "hubspot"
    public let name: String
    public let baseURL: String
    public let accessToken: String
    /// The portal (hub) id the token belongs to: `source_account_id`.
    public let portalID: String
    public let defaultCountry: String
    /// Records per search page, 1...200.
    public let pageSize: Int
    /// Load the portal's own dispositions (`GET /calling/v1/dispositions`) for the labels.
    public let customDispositions: Bool
    /// Search requests a second this source allows itself (HubSpot: 4 per token); nil: no pacing.
    public let searchesPerSecond: Int?
    /// Page numbers only count pages; the cursor does the work.
    public let firstPage = 0
    public let granularity = Duration.seconds(1)
    public let resultCap: Int?

    public static let maxPageSize = 200
    /// Records per page of the CRM list endpoints (their maximum).
    public static let listPageSize = 100

    let dispositions: HubSpotDispositionCache
    let searchPacer: RateLimiter?

    /// - Parameters:
    ///   - name: The operator's name for the source (config), part of checkpoint keys.
    ///   - baseURL: `https://api.hubapi.com`, or the sandbox's `/hubspot`.
    ///   - accessToken: Private-app or OAuth access token (`Authorization: Bearer`).
    ///   - portalID: The portal the token reads; the events' `source_account_id`.
    ///   - defaultCountry: Country of numbers written without a country code (`(555) 555-0123`).
    ///   - pageSize: Records per search page; clamped to 1...200.
    ///   - customDispositions: Load the portal's dispositions once per run (needs no extra scope).
    ///   - resultCap: Results one search returns at most (HubSpot: 10,000); lower only in tests.
    ///   - searchesPerSecond: The source's own pace for search requests (HubSpot allows 4 a second).
    public init(name: String, baseURL: String = "https://api.hubapi.com", accessToken: String, portalID: String,
                defaultCountry: String = "US", pageSize: Int = 200, customDispositions: Bool = true,
                resultCap: Int = 10_000, searchesPerSecond: Int? = 4) {
        self.name = name
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.accessToken = accessToken
        self.portalID = portalID
        self.defaultCountry = defaultCountry
        self.pageSize = max(1, min(pageSize, Self.maxPageSize))
        self.customDispositions = customDispositions
        self.resultCap = resultCap
        self.searchesPerSecond = searchesPerSecond
        self.dispositions = HubSpotDispositionCache()
        // A tenth of a second of margin: HubSpot counts arrivals, we count departures.
        self.searchPacer = searchesPerSecond.map { RateLimiter(windows: [RateLimiter.Window(limit: max(1, $0), period: .milliseconds(1100))]) }
    }

    /// The config key named when HubSpot refuses the token.
    var credentialName: String { "sources.hubspot[\(name)].poll.access_token" }

    var authHeaders: [(String, String)] {
        [("Authorization", "Bearer \(accessToken)"), ("Accept", "application/json")]
    }

    // MARK: - CallSource

    /// The portal, after (re)loading its dispositions.
    public func accounts(client: VendorClient) throws(PollError) -> [String] {
        if customDispositions {
            let body = try request("GET", "/calling/v1/dispositions", client: client)
            guard let items = body.arrayValue else {
                throw PollError(.vendor, "HubSpot dispositions are not a list: \(body.excerpt())")
            }
            var labels = HubSpotMapping.defaultDispositions
            for item in items {
                guard let id = item["id"]?.text, let label = item["label"]?.text else { continue }
                labels[id] = label
            }
            dispositions.set(labels)
        }
        return [portalID]
    }

    /// The first page of a window (no cursor).
    public func page(_ number: Int, account: String, from: Timestamp, to: Timestamp, client: VendorClient) throws(PollError) -> CallPage {
        try page(number, cursor: nil, account: account, from: from, to: to, client: client)
    }

    public func page(_ number: Int, cursor: String?, account: String, from: Timestamp, to: Timestamp, client: VendorClient) throws(PollError) -> CallPage {
        // Keyset paging: each page is a new search from the last modification time seen, skipping
        // the records already read at exactly that time. HubSpot's own `after` is an offset into a
        // list sorted by a key that moves: a call modified while its window is read leaves the
        // list, and the record after it would slide into a page already read and be skipped. The
        // offset form (`after=N`) is still read, from cursors saved by an older CallFeed.
        let keyset = cursor.flatMap(Keyset.init)
        let start = keyset?.modifiedAt ?? from
        var body: [String: JSONValue] = [
            "filterGroups": .array([.object(["filters": .array([
                Self.filter("hs_lastmodifieddate", "GTE", start), Self.filter("hs_lastmodifieddate", "LT", to),
            ])])]),
            "sorts": .array([.object(["propertyName": .string("hs_lastmodifieddate"), "direction": .string("ASCENDING")])]),
            "properties": .array(HubSpotMapping.properties.map { .string($0) }),
            "limit": .int(Int64(pageSize)),
        ]
        if let keyset {
            if keyset.seen > 0 { body["after"] = .string(String(keyset.seen)) }
        } else if let cursor, !cursor.isEmpty {
            body["after"] = .string(cursor)
        }
        searchPacer?.acquire()
        let answer = try request("POST", "/crm/v3/objects/calls/search", body: .object(body), client: client)
        guard let results = answer["results"]?.arrayValue else {
            throw PollError(.vendor, "HubSpot search answered without results: \(String(describing: answer).prefix(200))")
        }
        let offset = answer[path: "paging", "next", "after"]?.text
        var next: String?
        if offset != nil, let last = results.last.flatMap(Self.modifiedAt) {
            // Records of this page at the last time seen, plus those skipped at it before.
            let atLast = results.reversed().prefix { Self.modifiedAt($0) == last }.count
            let seen = (keyset?.modifiedAt == last ? keyset?.seen ?? 0 : 0) + atLast
            next = Keyset(modifiedAt: last, seen: seen).text
            // More than the cap modified in one millisecond: past it HubSpot answers 400 (logged by the poller).
            if let cap = resultCap, seen >= cap { next = nil }
        } else if let after = offset {
            next = resultCap.map { (Int(after) ?? 0) >= $0 } == true ? nil : after
        }
        return CallPage(records: results, isLast: next == nil, totalRecords: answer["total"]?.integer.map { Int($0) }, nextCursor: next)
    }

    /// Where the next page starts: the last `hs_lastmodifieddate` read and how many records at
    /// exactly that time were read. Saved in checkpoints as `ks:<epoch ms>:<count>`.
    struct Keyset: Equatable {
        var modifiedAt: Timestamp
        var seen: Int

        init(modifiedAt: Timestamp, seen: Int) { self.modifiedAt = modifiedAt; self.seen = seen }

        init?(_ text: String) {
            let parts = text.split(separator: ":")
            guard parts.count == 3, parts[0] == "ks", let ms = Int64(parts[1]), let seen = Int(parts[2]), seen >= 0 else { return nil }
            self.init(modifiedAt: Timestamp(millisecondsSinceEpoch: ms), seen: seen)
        }

        var text: String { "ks:\(modifiedAt.millisecondsSinceEpoch):\(seen)" }
    }

    /// A search record's `hs_lastmodifieddate` (ISO 8601, or epoch ms), else its `updatedAt`.
    public static func modifiedAt(_ record: JSONValue) -> Timestamp? {
        for text in [record[path: "properties", "hs_lastmodifieddate"]?.text, record["updatedAt"]?.text].compactMap({ $0 }) {
            if let instant = Timestamp.parseISO8601(text) { return instant }
            if let ms = Int64(text) { return Timestamp(millisecondsSinceEpoch: ms) }
        }
        return nil
    }

    public func content(of record: JSONValue, account: String) throws(MappingError) -> CallContent {
        try HubSpotMapping.content(from: record, context: MappingContext(accountID: account, timeZone: "UTC", defaultCountry: defaultCountry),
                                   dispositions: dispositions.labels ?? HubSpotMapping.defaultDispositions)
    }

    // MARK: - Webhook re-reads

    /// The current records of the calls `ids` (`POST /crm/v3/objects/calls/batch/read`, at most
    /// ``listPageSize`` ids a request, the properties ``HubSpotMapping`` reads): what the webhook
    /// route publishes after HubSpot notified a change. Ids HubSpot does not return (deleted or
    /// archived since) are left out. Loads the portal's dispositions first when this source has
    /// not yet (``content(of:account:)`` labels with them), then keeps them for the process.
    /// - Throws: ``PollError``: `.credentials` naming `sources.hubspot[<name>].poll.access_token`
    ///   on 401/403, `.vendor` when HubSpot cannot answer after the client's retries.
    public func fetchCalls(ids: [String], client: VendorClient) throws(PollError) -> [JSONValue] {
        if customDispositions, dispositions.labels == nil { _ = try accounts(client: client) }
        var records: [JSONValue] = []
        for start in stride(from: 0, to: ids.count, by: Self.listPageSize) {
            let chunk = ids[start..<min(start + Self.listPageSize, ids.count)]
            let body: JSONValue = .object([
                "inputs": .array(chunk.map { .object(["id": .string($0)]) }),
                "properties": .array(HubSpotMapping.properties.map { .string($0) }),
            ])
            let answer = try request("POST", "/crm/v3/objects/calls/batch/read", body: body, client: client)
            guard let results = answer["results"]?.arrayValue else {
                throw PollError(.vendor, "HubSpot batch read answered without results: \(String(describing: answer).prefix(200))")
            }
            records += results
        }
        return records
    }

    // MARK: - HTTP

    static func filter(_ property: String, _ op: String, _ instant: Timestamp) -> JSONValue {
        .object(["propertyName": .string(property), "operator": .string(op), "value": .string(String(instant.millisecondsSinceEpoch))])
    }

    /// One request to `path` (with the base URL), JSON in and out.
    func request(_ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil,
                 client: VendorClient) throws(PollError) -> JSONValue {
        let url = query.isEmpty ? baseURL + path : baseURL + path + "?" + VendorRequests.query(query)
        return try VendorRequests.json(url, method: method, body: body?.canonicalJSONBytes,
                                       headers: authHeaders + (body == nil ? [] : [("Content-Type", "application/json")]),
                                       client: client, vendor: "HubSpot (\(path))", credential: credentialName)
    }
}

/// The portal's disposition labels (GUID → label), loaded by ``HubSpotCallSource/accounts(client:)``
/// on the poller's thread and read while mapping. All access is under the mutex.
final class HubSpotDispositionCache: Sendable {
    private let state = Mutex<[String: String]?>(nil)
    var labels: [String: String]? { state.withLock { $0 } }
    func set(_ labels: [String: String]) { state.withLock { $0 = labels } }
}
