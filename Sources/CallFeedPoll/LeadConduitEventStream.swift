import CallFeedCore
import CallFeedVendors
import Foundation
import HTTPClient

/// LeadConduit (ActiveProspect; seed 001 "REST API for lead aggregation"): the account's lead
/// events, `GET /events` (docs/research/leadconduit.md, from developers.activeprospect.com).
///
/// - Auth: HTTP Basic, any user name (`X`), the API key as the password; 401
///   `{"error":"authentication failed"}` otherwise.
/// - The answer is a bare JSON array of events. Events are immutable snapshots (a lead's later
///   steps are new events), identified by a 24-hex BSON ObjectId that grows with creation time.
/// - Pages: `sort=asc&limit=1000`, then `after_id=<last id>` (the default sort is `desc`, which
///   `after_id` paging cannot use); a page shorter than `limit` is the last.
/// - Incremental: `start`/`end` bound the creation time to the poller's [since, until) window
///   (the lookback re-reads an overlap whose events are unchanged, so the loader leaves them).
///
/// Every event type is kept (`leadconduit_events`, key `id`); a lead's own record is its `source`
/// event's `vars.lead`. The seed says ~60 requests/min; LeadConduit publishes no API rate limit.
public struct LeadConduitEventStream: EntityStream {
    public static let vendor = "leadconduit"
    public let name: String
    public let baseURL: String
    public let apiKey: String
    public let pageSize: Int

    public var vendor: String { Self.vendor }
    public var entity: String { "events" }
    public var perAccount: Bool { false }
    public var isIncremental: Bool { true }

    public init(name: String, baseURL: String = "https://app.leadconduit.com", apiKey: String, pageSize: Int = 1000) {
        self.name = name
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.pageSize = min(1000, max(1, pageSize))
    }

    /// The first page: no event read yet.
    public func firstPage(account: String?, since: Timestamp?, until: Timestamp) -> PageRequest { .cursor("") }

    public func page(_ request: PageRequest, account: String?, since: Timestamp?, until: Timestamp, client: VendorClient) throws(PollError) -> EntityPage {
        guard case .cursor(let after) = request else { throw PollError(.state, "LeadConduit events are paged by after_id, not \(request)") }
        var query: [(String, String)] = [("sort", "asc"), ("limit", String(pageSize))]
        if let since { query.append(("start", since.rfc3339)) }
        // `end` is inclusive at LeadConduit: the last millisecond before the window's end.
        query.append(("end", Timestamp(millisecondsSinceEpoch: until.millisecondsSinceEpoch - 1).rfc3339))
        if !after.isEmpty { query.append(("after_id", after)) }
        let body = try VendorRequests.json(baseURL + "/events?" + VendorRequests.query(query),
                                           headers: [("Authorization", "Basic " + Data("X:\(apiKey)".utf8).base64EncodedString()),
                                                     ("Accept", "application/json")],
                                           client: client, vendor: "LeadConduit", credential: "sources.leadconduit[\(name)].poll.api_key")
        guard let events = body.arrayValue else {
            throw PollError(.vendor, "LeadConduit answered without an events array: \(body.excerpt())")
        }
        // The next page starts after the last event with an id (an odd one without is dead-lettered).
        guard events.count == pageSize, let last = events.last(where: { $0["id"]?.text?.isEmpty == false })?["id"]?.text, last != after else {
            return EntityPage(records: events, next: nil)
        }
        return EntityPage(records: events, next: .cursor(last))
    }

    public func object(from record: JSONValue, account: String?) throws(MappingError) -> EntityObject {
        guard record.objectValue != nil else { throw MappingError(reason: "LeadConduit event is not an object") }
        let id = try record.idText()
        // The event's end (or start) time, ms since the epoch.
        let millis = record["end_timestamp"]?.integer ?? record["start_timestamp"]?.integer
        // Found by the fuzzer: a time past year 9999 cannot be written as RFC 3339 (the loader refuses it).
        if let millis, !(0..<253_402_300_800_000).contains(millis) {
            throw MappingError(reason: "LeadConduit event \(id) has end/start_timestamp \(millis), not a time between 1970 and 9999")
        }
        return EntityObject(id: id, data: record, sourceUpdatedAt: millis.map { Timestamp(millisecondsSinceEpoch: $0) })
    }
}
