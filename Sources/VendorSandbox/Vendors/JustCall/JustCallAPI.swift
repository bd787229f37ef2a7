import CallFeedCore
import Foundation
import HTTPServer

/// JustCall API v2.1 under `/justcall` (`vendors/justcall.md`, seed 004).
///
/// - Auth: `Authorization: <api_key>:<api_secret>`, no scheme word, no Base64 (§1); the key pair
///   picks the team (sandbox account). The seed's `api_key` header is a 401. The legacy v1 paths
///   also take HTTP Basic.
/// - `GET /v2.1/calls`, `/v2.1/calls/{id}`, `/v2.1/users`, `/v2.1/texts`, `/v2.1/contacts`,
///   `/v2.1/phone-numbers`, `/v2.1/calls/analytics/agent`, `/v2.1/sales_dialer/analytics`;
///   legacy `POST /v1/contacts/list` and `POST /v1/numbers/list` (GET there, as the seed does, is a
///   405) (§2).
/// - Pages from 0, `per_page` default 20, at most 100 (§3); envelope `status`, `count` (records on
///   this page [I]), `current_page`, `per_page`, `data`, `next_page_link`, `prev_page_link`. The links
///   keep only `page`, `per_page`, `sort` and `order`: they drop your filters (§3, reproduced).
/// - `from_datetime`/`to_datetime` (`yyyy-mm-dd[ hh:mm:ss]`) are read in the user's time zone
///   while `call_date`/`call_time` are UTC (§2); `sort=id|datetime`, `order=desc|asc`, default
///   `id desc`; `last_call_id_fetched` continues after that call in the chosen order.
/// - `X-Rate-Limit-Limit/-Remaining/-Reset` (reset = absolute UTC epoch seconds) and the
///   `-Burst-` triple on every response (§4).
struct JustCallAPI: VendorAPI {
    let vendor = SandboxVendor.justcall
    static let defaultPerPage = 20
    static let maxPerPage = 100

    // MARK: - Auth and errors

    func authenticate(_ request: APIRequest, context: VendorContext) -> Result<VendorAccess, RefusedRequest> {
        let header = request.header("Authorization") ?? ""
        let isLegacy = request.path.hasPrefix("/v1/")
        let account = context.dataset.accounts.first { account in
            guard let expected = account.credential.authorization else { return false }
            if header == expected { return true }
            // v1 documented HTTP Basic (`curl -u key:secret`).
            return isLegacy && header == "Basic " + Data(expected.utf8).base64EncodedString()
        }
        guard let account else {
            return .failure(RefusedRequest(response: .json(401, .object([
                "status": .string("error"), "message": .string("Invalid API key or secret"),
            ]))))
        }
        return .success(VendorAccess(accountIDs: [account.id]))
    }

    func tooManyRequests(retryAfterSeconds: Int?) -> HTTPResponse {
        .json(429, .object(["status": .string("error"), "message": .string("Too many requests. Rate limit exceeded.")]),
              headers: retryAfterSeconds.map { [("Retry-After", String($0))] } ?? [])
    }

    func rateLimitHeaders(_ state: [RateWindowState]) -> [(String, String)] {
        var headers: [(String, String)] = []
        if let hourly = state.first {
            headers += [("X-Rate-Limit-Limit", String(hourly.limit)), ("X-Rate-Limit-Remaining", String(hourly.remaining)),
                        ("X-Rate-Limit-Reset", String(hourly.resetEpochSeconds))]
        }
        if state.count > 1 {
            let burst = state[1]
            headers += [("X-Rate-Limit-Burst-Limit", String(burst.limit)), ("X-Rate-Limit-Burst-Remaining", String(burst.remaining)),
                        ("X-Rate-Limit-Burst-Reset", String(burst.resetEpochSeconds))]
        }
        return headers
    }

    func error(_ status: Int, _ message: String) -> HTTPResponse {
        .json(status, .object(["status": .string("error"), "message": .string(message)]))
    }

    // MARK: - Routes

    func respond(to request: APIRequest, access: VendorAccess, context: VendorContext) -> HTTPResponse {
        guard let account = access.accountIDs.first.flatMap(context.dataset.account) else { return error(401, "Invalid API key or secret") }
        let segments = request.path.split(separator: "/").map(String.init)
        if segments.first == "v1" {
            return legacy(Array(segments.dropFirst()), account: account, request: request, context: context)
        }
        guard segments.first == "v2.1" else { return error(404, "Not found") }
        guard request.method == "GET" else { return error(405, "Method not allowed") }
        let calls = context.dataset.calls[account.id] ?? []
        switch Array(segments.dropFirst()) {
        case ["calls"]:
            return callList(calls, request: request, context: context)
        case let path where path.count == 2 && path[0] == "calls" && path[1] != "analytics":
            guard let call = calls.first(where: { $0.id == path[1] }) else { return error(404, "Call not found") }
            return .json(200, .object(["status": .string("success"), "data": call.record]))
        case ["users"]:
            return paged(users(account), request: request)
        case ["texts"]:
            return windowed(calls, request: request, context: context) { texts($0, account: account, context: context) }
        case ["contacts"]:
            return paged(contacts(calls), request: request)
        case ["phone-numbers"]:
            return paged(phoneNumbers(account), request: request)
        case ["calls", "analytics", "agent"], ["sales_dialer", "analytics"]:
            return windowed(calls, request: request, context: context) { analytics($0, account: account) }
        default:
            return error(404, "Not found")
        }
    }

    /// v1 list endpoints take POST (§2; the seed's GET is refused).
    private func legacy(_ path: [String], account: SandboxAccount, request: APIRequest, context: VendorContext) -> HTTPResponse {
        let items: [JSONValue]
        switch path {
        case ["contacts", "list"]: items = contacts(context.dataset.calls[account.id] ?? [])
        case ["numbers", "list"]: items = phoneNumbers(account)
        default: return error(404, "Not found")
        }
        guard request.method == "POST" else { return error(405, "Method not allowed, use POST") }
        return .json(200, .object(["status": .string("success"), "data": .array(items)]))
    }

    // MARK: - Calls

    private func callList(_ all: [SandboxCall], request: APIRequest, context: VendorContext) -> HTTPResponse {
        let window: (from: Timestamp, to: Timestamp)
        switch dateWindow(request, context: context) {
        case .success(let w): window = w
        case .failure(let problem): return error(400, problem.text)
        }
        var calls = all.filter { $0.startedAt >= window.from && $0.startedAt < window.to }
        let q = request.query
        if let number = q["contact_number"] { calls = calls.filter { $0.record["contact_number"]?.text == PhoneFormat.digits(number) } }
        if let number = q["justcall_number"] { calls = calls.filter { $0.record["justcall_number"]?.text == PhoneFormat.digits(number) } }
        if let agent = q["agent_id"] { calls = calls.filter { $0.record["agent_id"]?.text == agent } }
        if let direction = q["call_direction"] { calls = calls.filter { $0.record[path: "call_info", "direction"]?.text == direction } }
        let byDate = q["sort"] == "datetime"
        calls.sort { a, b in byDate ? VendorDataset.chronological(a, b) : a.serial < b.serial }
        if q["order"] != "asc" { calls.reverse() }
        if let last = q["last_call_id_fetched"], let position = calls.firstIndex(where: { $0.id == last }) {
            calls.removeFirst(position + 1)
        }
        return paged(calls.map(\.record), request: request)
    }

    /// `from_datetime`/`to_datetime` in the user's zone; a date `to` covers its whole day, a
    /// date-time `to` its second.
    func dateWindow(_ request: APIRequest, context: VendorContext) -> Result<(from: Timestamp, to: Timestamp), CallRailDateWindow.Problem> {
        var from = Timestamp(millisecondsSinceEpoch: 0)
        var to = Timestamp(millisecondsSinceEpoch: .max)
        let zone = context.configuration.justCallUserTimeZone
        func parse(_ text: String) -> Timestamp? {
            guard text.count == 10 || text.count == 19,
                  let rough = Timestamp.parseISO8601(text, defaultUTCOffsetSeconds: 0),
                  let offset = CivilTime.offsetSeconds(zone: zone, at: rough) else { return nil }
            return Timestamp.parseISO8601(text, defaultUTCOffsetSeconds: offset)
        }
        if let text = request.query["from_datetime"] {
            guard let t = parse(text) else { return .failure(.init(text: "from_datetime must be yyyy-mm-dd or yyyy-mm-dd hh:mm:ss")) }
            from = t
        }
        if let text = request.query["to_datetime"] {
            guard let t = parse(text) else { return .failure(.init(text: "to_datetime must be yyyy-mm-dd or yyyy-mm-dd hh:mm:ss")) }
            to = t.adding(seconds: text.count == 10 ? 86_400 : 1)
        }
        return .success((from, to))
    }

    /// Calls in the date window, turned into other records (texts, analytics) and paginated.
    private func windowed(_ calls: [SandboxCall], request: APIRequest, context: VendorContext,
                          make: ([SandboxCall]) -> [JSONValue]) -> HTTPResponse {
        switch dateWindow(request, context: context) {
        case .success(let w): return paged(make(calls.filter { $0.startedAt >= w.from && $0.startedAt < w.to }), request: request)
        case .failure(let problem): return error(400, problem.text)
        }
    }

    // MARK: - Envelope

    /// The v2.1 list envelope (§3).
    func paged(_ items: [JSONValue], request: APIRequest) -> HTTPResponse {
        var pageIndex = 0
        var perPage = Self.defaultPerPage
        switch request.integer("page") {
        case .success(let n)?: pageIndex = n
        case .failure?: return error(400, "page must be an integer")
        case nil: break
        }
        switch request.integer("per_page") {
        case .success(let n)?: perPage = n
        case .failure?: return error(400, "per_page must be an integer")
        case nil: break
        }
        guard pageIndex >= 0 else { return error(400, "page must be 0 or greater") }
        guard perPage >= 1 else { return error(400, "per_page must be at least 1") }
        perPage = min(perPage, Self.maxPerPage)  // [I] the cap is documented, the answer above it is not
        let page = Page(of: items, index: pageIndex, perPage: perPage)
        let path = "/" + request.path.split(separator: "/").joined(separator: "/")
        func link(_ n: Int) -> JSONValue {
            var parameters = [("page", String(n)), ("per_page", String(perPage))]
            for key in ["sort", "order"] { if let value = request.query[key] { parameters.append((key, value)) } }
            return .string(request.url(path, parameters))
        }
        return .json(200, .object([
            "status": .string("success"), "count": .int(page.items.count), "current_page": .int(pageIndex),
            "per_page": .int(perPage), "data": .array(page.items),
            "next_page_link": page.hasNext ? link(pageIndex + 1) : .null,
            "prev_page_link": pageIndex > 0 ? link(pageIndex - 1) : .null,
        ]))
    }
}
