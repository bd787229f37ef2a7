import CallFeedCore
import CallFeedVendors
import HTTPClient

/// Arrivy (seed 001, field-service scheduling): tasks, entities (crew) and groups through its REST
/// API at `https://app.arrivy.com/api` (docs/research/arrivy.md, from Arrivy's own API pages).
///
/// - Auth: two headers, `X-Auth-Key` and `X-Auth-Token`, on every call.
/// - Lists are bare JSON arrays paged by `page` (from 1) and `items_per_page`; a page shorter than
///   `items_per_page` is the last. `/entities` documents no paging and is read in one request.
/// - **Tasks have no modified-since filter.** `from` / `to` bound the task's *scheduled* time, so
///   every run re-reads a rolling window (``pastDays`` before the run to ``futureDays`` after it)
///   and then the unscheduled tasks (`unscheduled=true`, which the window never returns). The
///   loader leaves unchanged tasks as they are; a task changed far outside the window is read when
///   the window reaches it, or with `--full`-style wider settings (docs/pollers-arrivy.md).
/// - A page whose first record repeats the previous page's ends the list (a server ignoring
///   `page` must not make the run loop).
///
/// Arrivy's task statuses are one request per task (`/tasks/{id}/status`) and its status
/// definitions have no documented list, so neither is read; a task carries its current status.
/// Bookings are not in Arrivy's documented API.
public struct ArrivyStream: EntityStream {
    public static let vendor = "arrivy"

    public enum Kind: String, CaseIterable, Sendable {
        case tasks, entities, groups
    }

    public let name: String
    public let kind: Kind
    public let baseURL: String
    public let authKey: String
    public let authToken: String
    public let pageSize: Int
    public let pastDays: Int
    public let futureDays: Int

    public var vendor: String { Self.vendor }
    public var entity: String { kind.rawValue }
    public var perAccount: Bool { false }

    public init(name: String, kind: Kind, baseURL: String = "https://app.arrivy.com/api", authKey: String, authToken: String,
                pageSize: Int? = nil, pastDays: Int = 30, futureDays: Int = 90) {
        self.name = name
        self.kind = kind
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.authKey = authKey
        self.authToken = authToken
        // Arrivy's documented defaults: 500 tasks, 100 groups per page.
        self.pageSize = max(1, pageSize ?? (kind == .tasks ? 500 : 100))
        self.pastDays = max(0, pastDays)
        self.futureDays = max(0, futureDays)
    }

    /// One stream per list named in `names`.
    public static func streams(name: String, baseURL: String?, authKey: String, authToken: String, names: [String],
                               pastDays: Int, futureDays: Int) -> [ArrivyStream] {
        names.compactMap(Kind.init(rawValue:)).map {
            ArrivyStream(name: name, kind: $0, baseURL: baseURL ?? "https://app.arrivy.com/api", authKey: authKey, authToken: authToken,
                         pastDays: pastDays, futureDays: futureDays)
        }
    }

    /// The cursor is `<pass> <page> <first id of the previous page>`; pass `window` then
    /// `unscheduled` for tasks, `all` for the other lists.
    public func firstPage(account: String?, since: Timestamp?, until: Timestamp) -> PageRequest {
        .cursor(kind == .tasks ? "window 1 " : "all 1 ")
    }

    public func page(_ request: PageRequest, account: String?, since: Timestamp?, until: Timestamp, client: VendorClient) throws(PollError) -> EntityPage {
        let parts = { () -> [Substring]? in
            guard case .cursor(let c) = request else { return nil }
            return c.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        }()
        guard let parts, parts.count == 3, let number = Int(parts[1]), number >= 1 else {
            throw PollError(.state, "Arrivy pages are numbered, not \(request)")
        }
        let pass = String(parts[0])
        var query: [(String, String)] = []
        let path: String
        switch (kind, pass) {
        case (.tasks, "window"):
            path = "/tasks"
            query = [("from", Self.time(until.adding(seconds: -Int64(pastDays) * 86_400))),
                     ("to", Self.time(until.adding(seconds: Int64(futureDays) * 86_400)))]
        case (.tasks, "unscheduled"):
            path = "/tasks"
            query = [("unscheduled", "true")]
        case (.entities, "all"): path = "/entities"
        case (.groups, "all"): path = "/groups"
        default: throw PollError(.state, "Arrivy \(kind.rawValue) has no pass \(pass)")
        }
        let paged = kind != .entities
        if paged { query += [("page", String(number)), ("items_per_page", String(pageSize))] }
        let url = baseURL + path + (query.isEmpty ? "" : "?" + VendorRequests.query(query))
        let body = try VendorRequests.json(url, headers: [("X-Auth-Key", authKey), ("X-Auth-Token", authToken), ("Accept", "application/json")],
                                           client: client, vendor: "Arrivy", credential: "sources.arrivy[\(name)].poll.auth_key and auth_token")
        guard let records = body.arrayValue else {
            throw PollError(.vendor, "Arrivy \(path) answered without a list: \(body.excerpt())")
        }
        let first = records.first?["id"]?.text ?? ""
        let repeated = number > 1 && !first.isEmpty && first == parts[2]
        let last = !paged || repeated || records.count < pageSize
        let kept = repeated ? [] : records
        guard last else { return EntityPage(records: kept, next: .cursor("\(pass) \(number + 1) \(first)")) }
        // After the scheduled window, the unscheduled tasks.
        return EntityPage(records: kept, next: pass == "window" ? .cursor("unscheduled 1 ") : nil)
    }

    public func object(from record: JSONValue, account: String?) throws(MappingError) -> EntityObject {
        guard record.objectValue != nil else { throw MappingError(reason: "Arrivy \(kind.rawValue) record is not an object") }
        return EntityObject(id: try record.idText(), data: record)
    }

    /// `2016-11-21T09:00:00+00:00` (Arrivy's `YYYY-MM-DDTHH:mm:ssZZ`; the query encoding escapes `+`).
    static func time(_ t: Timestamp) -> String { String(t.rfc3339.prefix(19)) + "+00:00" }
}
