import CallFeedCore
import CallFeedVendors
import HTTPClient

/// JustCall's non-call lists (../shared/vendors/justcall.md §2–3), one team (key pair) per account,
/// same auth, envelope and pagination as ``JustCallCallSource``: pages from **0**, `per_page` ≤ 100,
/// the last page has no `next_page_link` or is short, and the link is never followed (it drops the
/// filters).
///
/// | Kind | Path | Table | Key | Read |
/// |---|---|---|---|---|
/// | `users` | `GET /v2.1/users` | `justcall_users` | `id` | full refresh |
/// | `texts` | `GET /v2.1/texts` | `justcall_texts` | `id` | incremental: `from_datetime`/`to_datetime` (user's zone), `sort=datetime&order=asc` |
/// | `contacts` | `GET /v2.1/contacts` | `justcall_contacts` | `id` | full refresh |
/// | `phone_numbers` | `GET /v2.1/phone-numbers` | `justcall_phone_numbers` | `id` | full refresh |
/// | `agent_analytics` | `GET /v2.1/calls/analytics/agent` | `justcall_agent_analytics` | `<agent_id>/<yyyy-mm-dd>` | incremental, one request (or more pages) per user-zone day |
///
/// The seed's v1 paths (`/v1/contacts/list`, `/v1/numbers/list`, which need POST) and the sales
/// dialer's `/v2.1/sales_dialer/analytics` (a separate call log) are not used.
///
/// **Agent analytics** are totals per agent over a date range, and the rows carry no date. To get
/// a stable key, the stream asks for one calendar day of the API user's zone at a time
/// (`from_date` = `to_date` = the day; the same values are also sent as
/// `from_datetime`/`to_datetime`), for every day from the one holding `since` to the one holding
/// the last instant before `until`, and adds the day to each record as `from_date`/`to_date`. The
/// id is `<agent_id>/<yyyy-mm-dd>`; a day read again (the lookback, an unfinished today) replaces
/// its rows with the newer totals. Days with no rows are skipped within one page request.
public struct JustCallEntityStream: EntityStream {
    public enum Kind: String, Sendable, CaseIterable {
        case users, texts, contacts
        case phoneNumbers = "phone_numbers"
        case agentAnalytics = "agent_analytics"
    }

    public let calls: JustCallCallSource
    public let kind: Kind
    public var vendor: String { calls.vendor }
    public var entity: String { kind.rawValue }
    /// Every list belongs to the key pair's team.
    public var perAccount: Bool { true }
    public var isIncremental: Bool { kind == .texts || kind == .agentAnalytics }

    public init(calls: JustCallCallSource, kind: Kind) { self.calls = calls; self.kind = kind }

    /// The v2.1 path of the list.
    public var path: String {
        switch kind {
        case .users: "/v2.1/users"
        case .texts: "/v2.1/texts"
        case .contacts: "/v2.1/contacts"
        case .phoneNumbers: "/v2.1/phone-numbers"
        case .agentAnalytics: "/v2.1/calls/analytics/agent"
        }
    }

    /// Page 0 (JustCall counts from 0); for analytics, page 0 of the first day.
    public func firstPage(account: String?, since: Timestamp?, until: Timestamp) -> PageRequest { .number(0) }

    public func page(_ request: PageRequest, account: String?, since: Timestamp?, until: Timestamp, client: VendorClient) throws(PollError) -> EntityPage {
        if kind == .agentAnalytics { return try analyticsPage(request, since: since, until: until, client: client) }
        guard case .number(let number) = request else { throw PollError(.state, "JustCall \(entity) are paged by number, not \(request)") }
        var query: [(String, String)] = []
        if kind == .texts {
            let clock = try calls.userClock()
            if let since { query.append(("from_datetime", clock.lowerBound(since))) }
            query += [("to_datetime", clock.upperBound(until)), ("sort", "datetime"), ("order", "asc")]
        }
        query += [("page", String(number)), ("per_page", String(calls.perPage))]
        let body = try calls.getJSON(path, query, client: client)
        let records = try JustCallCallSource.data(body, what: entity)
        return EntityPage(records: records, next: calls.isLastPage(body, count: records.count) ? nil : .number(number + 1))
    }

    public func object(from record: JSONValue, account: String?) throws(MappingError) -> EntityObject {
        guard record.objectValue != nil else { throw MappingError(reason: "JustCall \(entity) item is not an object") }
        guard kind == .agentAnalytics else { return EntityObject(id: try record.idText(), data: record) }
        let agent = try record.idText("agent_id")
        let from = try record.idText("from_date")
        let to = record["to_date"]?.text ?? from
        return EntityObject(id: from == to ? "\(agent)/\(from)" : "\(agent)/\(from)..\(to)", data: record)
    }

    // MARK: - Agent analytics, day by day

    /// `.number(n)`: page n of the first day; `.cursor("yyyy-mm-dd/n")`: page n of that day.
    private func analyticsPage(_ request: PageRequest, since: Timestamp?, until: Timestamp, client: VendorClient) throws(PollError) -> EntityPage {
        let clock = try calls.userClock()
        let lastDay = clock.day((until.millisecondsSinceEpoch - 1) / 1000)
        var day: String
        var number: Int
        switch request {
        case .number(let n):
            day = since.map { clock.day($0.secondsSinceEpoch) } ?? lastDay
            number = n
        case .cursor(let text):
            let parts = text.split(separator: "/")
            guard parts.count == 2, let n = Int(parts[1]), JustCallUserClock.nextDay(String(parts[0])) != nil else {
                throw PollError(.state, "bad JustCall analytics cursor \"\(text)\" (expected yyyy-mm-dd/page)")
            }
            day = String(parts[0]); number = n
        case .url:
            throw PollError(.state, "JustCall analytics are paged by day and number, not \(request)")
        }
        while true {
            let body = try calls.getJSON(path, [
                ("from_date", day), ("to_date", day), ("from_datetime", day), ("to_datetime", day),
                ("page", String(number)), ("per_page", String(calls.perPage)),
            ], client: client)
            let records = try JustCallCallSource.data(body, what: entity).map { Self.dated($0, day) }
            if !calls.isLastPage(body, count: records.count) {
                return EntityPage(records: records, next: .cursor("\(day)/\(number + 1)"))
            }
            guard day < lastDay, let next = JustCallUserClock.nextDay(day) else { return EntityPage(records: records, next: nil) }
            // An empty page would end the poller's walk: go straight on to the next day.
            guard !records.isEmpty else { day = next; number = 0; continue }
            return EntityPage(records: records, next: .cursor("\(next)/0"))
        }
    }

    /// The record with the day it totals (`from_date`/`to_date`), unless it names its own range.
    private static func dated(_ record: JSONValue, _ day: String) -> JSONValue {
        guard case .object(var members) = record else { return record }
        if members["from_date"] == nil { members["from_date"] = .string(day) }
        if members["to_date"] == nil { members["to_date"] = .string(day) }
        return .object(members)
    }
}
