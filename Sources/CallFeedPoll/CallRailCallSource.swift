import CallFeedCore
import CallFeedVendors
import Foundation
import HTTPClient

/// CallRail API v3 (../shared/vendors/callrail.md): `Authorization: Token token="KEY"` (§1),
/// `GET /v3/a/{account}/calls.json` (§2) with explicit `start_date`/`end_date` date-times read in
/// UTC (`time_zone=Etc/UTC`; without dates CallRail answers only the last 7 days), the fields
/// ``CallRailMapping`` reads beyond the defaults (`fields=`), oldest first (`sort=start_time&order=asc`),
/// numbered pages from 1 with at most 250 per page, envelope `calls` / `total_pages` /
/// `total_records` (§3).
///
/// Dates are inclusive at CallRail and precise to the second, so the window [from, to) is asked as
/// `start_date = from` (rounded down to its second) … `end_date = the last second that starts
/// before to`: exactly [from, to) for whole seconds, a little more otherwise (the loader dedupes).
///
/// Relative pagination (§3, `relative_pagination=true`, `offset` = 0-based page index, envelope
/// `has_next_page`/`next_page`) is available as ``Pagination/relative``: the page index maps onto
/// the poller's page numbers (`offset = page - 1`), so checkpoints and resumption work unchanged.
/// The page's `next_page` URL is not followed: it is the same request with `offset + 1`, and a
/// checkpoint that stores a number survives restarts without storing vendor URLs.
///
/// No result cap is documented, and calls have no modification time (§6): incremental runs
/// re-read `start_time` windows over the lookback (and the Call Modified webhook brings changes).
public struct CallRailCallSource: CallSource {
    /// How the call list is paged (§3).
    public enum Pagination: String, Sendable, CaseIterable {
        /// `page` from 1 and `total_pages` (default).
        case numbered
        /// `relative_pagination=true`, `offset` = page index from 0, `has_next_page`.
        case relative
    }

    /// The non-default call fields ``CallRailMapping`` reads (§6): outcome, attribution, tags,
    /// first call. Everything else it reads is a default field.
    public static let mappedFields = [
        "call_type", "source", "source_name", "medium", "campaign", "keywords", "landing_page_url", "referring_url",
        "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "gclid", "tags", "first_call",
    ]

    public static let maxPerPage = 250

    public let vendor = "callrail"
    public let name: String
    public let baseURL: String
    public let apiKey: String
    /// Accounts to poll (the numeric dashboard id or the masked `ACC…` id); empty = every account
    /// the key sees (`GET /v3/a.json`, by `numeric_id`).
    public let accountIDs: [String]
    public let perPage: Int
    public let defaultCountry: String
    public let pagination: Pagination
    public let firstPage = 1
    /// `start_date`/`end_date` take date-times to the second.
    public let granularity = Duration.seconds(1)
    /// None documented.
    public let resultCap: Int? = nil

    public init(name: String, baseURL: String = "https://api.callrail.com", apiKey: String, accountIDs: [String] = [],
                perPage: Int = 250, defaultCountry: String = "US", pagination: Pagination = .numbered) {
        self.name = name; self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey; self.accountIDs = accountIDs
        self.perPage = max(1, min(perPage, Self.maxPerPage)); self.defaultCountry = defaultCountry
        self.pagination = pagination
    }

    /// The config key named when CallRail refuses the key.
    public var credentialName: String { "sources.callrail[\(name)].poll.api_key" }

    var authHeaders: [(String, String)] { [("Authorization", "Token token=\"\(apiKey)\"")] }

    public func accounts(client: VendorClient) throws(PollError) -> [String] {
        guard accountIDs.isEmpty else { return accountIDs }
        var ids: [String] = []
        var page = 1
        while true {
            let body = try getJSON(url("/v3/a.json", [("page", String(page)), ("per_page", String(perPage))]), client: client)
            guard let accounts = body["accounts"]?.arrayValue else {
                throw PollError(.vendor, "CallRail answered without an `accounts` list: \(body.excerpt())")
            }
            // The dashboard's 9-digit id (what operators configure and webhooks are keyed by), else the masked id.
            ids += accounts.compactMap { $0["numeric_id"]?.text ?? $0["id"]?.text }
            if accounts.isEmpty || Int64(page) >= (body["total_pages"]?.integer ?? 1) { break }
            page += 1
        }
        return ids
    }

    public func page(_ number: Int, account: String, from: Timestamp, to: Timestamp, client: VendorClient) throws(PollError) -> CallPage {
        var query = Self.dateQuery(from: from, to: to)
        query += [("fields", Self.mappedFields.joined(separator: ",")), ("sort", "start_time"), ("order", "asc"),
                  ("per_page", String(perPage))]
        switch pagination {
        case .numbered: query.append(("page", String(number)))
        case .relative: query += [("relative_pagination", "true"), ("offset", String(number - firstPage))]
        }
        let body = try getJSON(url("/v3/a/\(VendorRequests.encode(account))/calls.json", query), client: client)
        guard let calls = body["calls"]?.arrayValue else {
            throw PollError(.vendor, "CallRail answered without a `calls` list: \(body.excerpt())")
        }
        switch pagination {
        case .numbered:
            let totalPages = body["total_pages"]?.integer
            let isLast = calls.isEmpty || totalPages.map { Int64(number) >= $0 } ?? (calls.count < perPage)
            return CallPage(records: calls, isLast: isLast, totalRecords: body["total_records"]?.integer.map(Int.init))
        case .relative:
            let hasNext = body["has_next_page"]?.boolean ?? (body["next_page"]?.text != nil)
            return CallPage(records: calls, isLast: calls.isEmpty || !hasNext)
        }
    }

    /// The record mapped by ``CallRailMapping``; times were asked in UTC, so a zone-less one is UTC.
    public func content(of record: JSONValue, account: String) throws(MappingError) -> CallContent {
        try CallRailMapping.content(from: record, context: MappingContext(accountID: account, timeZone: "UTC", defaultCountry: defaultCountry))
    }

    // MARK: - Requests

    /// `time_zone=Etc/UTC&start_date=…&end_date=…` covering [from, to): inclusive bounds to the second.
    static func dateQuery(from: Timestamp, to: Timestamp) -> [(String, String)] {
        func seconds(_ ms: Int64) -> Int64 { ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000) }
        let start = seconds(from.millisecondsSinceEpoch)
        // The last whole second that starts before `to`.
        let end = max(start, seconds(to.millisecondsSinceEpoch - 1))
        return [("time_zone", "Etc/UTC"), ("start_date", dateTime(Timestamp(secondsSinceEpoch: start))),
                ("end_date", dateTime(Timestamp(secondsSinceEpoch: end)))]
    }

    /// `2024-05-14T10:00:00` (UTC, no offset: `time_zone` says which zone).
    static func dateTime(_ t: Timestamp) -> String {
        let c = t.utcComponents
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d", c.year, c.month, c.day, c.hour, c.minute, c.second)
    }

    func url(_ path: String, _ query: [(String, String)]) -> String {
        "\(baseURL)\(path)?" + VendorRequests.query(query)
    }



    func getJSON(_ url: String, client: VendorClient) throws(PollError) -> JSONValue {
        let response: HTTPClientResponse
        do {
            response = try client.get(url, headers: authHeaders)
        } catch {
            if case .rejected(400, let body) = error, body.contains("retention") {
                throw PollError(.configuration, "CallRail keeps calls for 25 months and refused the start date (\(body.prefix(200))): "
                    + "start sources.callrail[\(name)] polls and backfills inside that window")
            }
            throw PollError(error, credential: credentialName)
        }
        do { return try JSONValue.parse(response.body) } catch { throw PollError(.vendor, "CallRail answered with \(error)") }
    }
}
