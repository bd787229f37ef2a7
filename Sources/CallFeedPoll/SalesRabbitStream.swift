import CallFeedCore
import CallFeedVendors
import HTTPClient

/// SalesRabbit (seed 001, door-to-door sales): leads, users and lead statuses through its REST API
/// at `https://api.salesrabbit.com` (docs/research/salesrabbit.md).
///
/// The issue asked for GraphQL; SalesRabbit publishes none. Every real client found uses the REST
/// API, so this is what CallFeed speaks (docs/pollers-salesrabbit.md):
/// - Auth: `Authorization: Bearer <API token>`; 401 otherwise.
/// - Lists: `GET /leads`, `/users`, `/leadStatuses` with `page` (from 1) and `perPage` (at most
///   2000); the answer is `{"data": [...], "meta": {"morePages": bool}}`.
/// - Incremental leads: the `If-Modified-Since` **header** (ISO 8601) keeps leads whose
///   `dateModified` is at or after it. There is no upper bound, so a run also reads leads changed
///   after its window ends; the loader leaves the unchanged copies.
/// - Leads are read in creation order (`sortBy=dateCreated&order=asc`): a lead changed while the
///   run pages keeps its place, so page numbers do not skip it (ordered by `dateModified` it would
///   move to the end and push an unread lead back onto a page already read).
/// - A page whose first record is the previous page's first record means the list ignored `page`
///   (one client reports `/users` answering every page alike): the run stops there rather than
///   loop over the same users.
public struct SalesRabbitStream: EntityStream {
    public static let vendor = "salesrabbit"

    public enum Kind: String, CaseIterable, Sendable {
        case leads, users
        case leadStatuses = "lead_statuses"

        var path: String {
            switch self {
            case .leads: "/leads"
            case .users: "/users"
            case .leadStatuses: "/leadStatuses"
            }
        }
    }

    public let name: String
    public let kind: Kind
    public let baseURL: String
    public let apiToken: String
    public let pageSize: Int

    public var vendor: String { Self.vendor }
    public var entity: String { kind.rawValue }
    public var perAccount: Bool { false }
    public var isIncremental: Bool { kind == .leads }

    public init(name: String, kind: Kind, baseURL: String = "https://api.salesrabbit.com", apiToken: String, pageSize: Int = 1000) {
        self.name = name
        self.kind = kind
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiToken = apiToken
        self.pageSize = min(2000, max(1, pageSize))
    }

    /// One stream per list named in `names` (unknown names are refused by the configuration).
    public static func streams(name: String, baseURL: String?, apiToken: String, names: [String]) -> [SalesRabbitStream] {
        names.compactMap(Kind.init(rawValue:)).map {
            SalesRabbitStream(name: name, kind: $0, baseURL: baseURL ?? "https://api.salesrabbit.com", apiToken: apiToken)
        }
    }

    /// Page 1; the cursor is `<page> <first id of the previous page>`.
    public func firstPage(account: String?, since: Timestamp?, until: Timestamp) -> PageRequest { .cursor("1 ") }

    public func page(_ request: PageRequest, account: String?, since: Timestamp?, until: Timestamp, client: VendorClient) throws(PollError) -> EntityPage {
        guard case .cursor(let cursor) = request, let space = cursor.firstIndex(of: " "), let number = Int(cursor[..<space]), number >= 1 else {
            throw PollError(.state, "SalesRabbit pages are numbered, not \(request)")
        }
        let previousFirst = String(cursor[cursor.index(after: space)...])
        var query: [(String, String)] = [("page", String(number)), ("perPage", String(pageSize))]
        var headers: [(String, String)] = [("Authorization", "Bearer " + apiToken), ("Accept", "application/json")]
        if kind == .leads {
            query += [("sortBy", "dateCreated"), ("order", "asc")]
            if let since { headers.append(("If-Modified-Since", Self.headerTime(since))) }
        }
        let body = try VendorRequests.json(baseURL + kind.path + "?" + VendorRequests.query(query), headers: headers, client: client,
                                           vendor: "SalesRabbit", credential: "sources.salesrabbit[\(name)].poll.api_key")
        guard let records = body["data"]?.arrayValue else {
            throw PollError(.vendor, "SalesRabbit \(kind.path) answered without a data array: \(body.excerpt())")
        }
        let first = records.first?["id"]?.text ?? ""
        if number > 1, !first.isEmpty, first == previousFirst {
            return EntityPage(records: [], next: nil)  // the list ignored `page`: this page repeats the last
        }
        guard body["meta"]?["morePages"]?.boolean == true, !records.isEmpty else { return EntityPage(records: records, next: nil) }
        return EntityPage(records: records, next: .cursor("\(number + 1) \(first)"))
    }

    public func object(from record: JSONValue, account: String?) throws(MappingError) -> EntityObject {
        guard record.objectValue != nil else { throw MappingError(reason: "SalesRabbit \(kind.rawValue) record is not an object") }
        let modified = (record["dateModified"]?.text).flatMap { Timestamp.parseISO8601($0, defaultUTCOffsetSeconds: 0) }
        return EntityObject(id: try record.idText(), data: record, sourceUpdatedAt: modified)
    }

    /// `2021-07-04T01:03:21+00:00`: the form SalesRabbit's own timestamps and its clients use.
    static func headerTime(_ t: Timestamp) -> String {
        let text = Timestamp(millisecondsSinceEpoch: t.millisecondsSinceEpoch / 1000 * 1000).rfc3339
        return String(text.dropLast()) + "+00:00"
    }
}
