import CallFeedCore
import Foundation
import HTTPServer

/// CallTrackingMetrics REST v1 under `/ctm` (`vendors/ctm.md`).
///
/// - Auth: HTTP Basic, access key : secret key (§1); anything else is 401.
/// - `GET /api/v1/accounts`, `/api/v1/accounts/{id}`, `/api/v1/accounts/{id}/calls`,
///   `/api/v1/accounts/{id}/calls/{call_id}`, `/users`, `/numbers`, each also with `.json` (§1-2).
/// - Pages from 1, `per_page` at most 150 (above: 400 `{"error": "per_page limit is 150"}`), envelope
///   `total_entries`, `total_pages`, `next_page` as a full URL, absent on the last page (§3).
/// - `start_date`/`end_date` are whole days, `YYYY-MM-DD`, both inclusive (§2); read as UTC days.
/// - There is no `/activities` path (the seed's, §2): it is a 404.
struct CTMAPI: VendorAPI {
    let vendor = SandboxVendor.ctm
    /// Page size when `per_page` is not sent: not documented; 10 is a common Rails default [I].
    static let defaultPerPage = 10
    static let maxPerPage = 150

    // MARK: - Auth and errors

    func authenticate(_ request: APIRequest, context: VendorContext) -> Result<VendorAccess, RefusedRequest> {
        let expected = SandboxCredential.basic(context.configuration.ctm.accessKey, context.configuration.ctm.secretKey)
        guard let header = request.header("Authorization"), header == expected.authorization else {
            return .failure(RefusedRequest(response: .json(401, .object(["status": .string("error"), "message": .string("Unauthorized")]),
                                                           headers: [("WWW-Authenticate", "Basic realm=\"CTM API\"")])))
        }
        return .success(VendorAccess(accountIDs: context.dataset.accounts.map(\.id)))
    }

    func tooManyRequests(retryAfterSeconds: Int?) -> HTTPResponse {
        .json(429, .object(["error": .string("Rate limit exceeded")]), headers: retryAfterSeconds.map { [("Retry-After", String($0))] } ?? [])
    }

    private func notFound() -> HTTPResponse { .json(404, .object(["status": .string("error"), "message": .string("Not Found")])) }

    private func badRequest(_ message: String) -> HTTPResponse { .json(400, .object(["error": .string(message)])) }

    // MARK: - Routes

    func respond(to request: APIRequest, access: VendorAccess, context: VendorContext) -> HTTPResponse {
        var segments = request.path.split(separator: "/").map(String.init)
        if let last = segments.last, last.hasSuffix(".json") { segments[segments.count - 1] = String(last.dropLast(5)) }
        guard segments.count >= 3, segments[0] == "api", segments[1] == "v1", segments[2] == "accounts" else { return notFound() }
        guard request.method == "GET" else { return .json(405, .object(["error": .string("Method Not Allowed")])) }
        let rest = Array(segments.dropFirst(3))
        if rest.isEmpty {
            let accounts = context.dataset.accounts.filter { access.accountIDs.contains($0.id) }
            return paged(accounts.map(accountObject), key: "accounts", request: request)
        }
        guard let account = context.dataset.account(rest[0]), access.accountIDs.contains(account.id) else { return notFound() }
        switch rest.count {
        case 1:
            return .json(200, accountObject(account))
        case 2 where rest[1] == "calls":
            return calls(account, request: request, context: context)
        case 3 where rest[1] == "calls":
            guard let call = context.dataset.calls[account.id]?.first(where: { $0.id == rest[2] }) else { return notFound() }
            return .json(200, call.record)
        case 2 where rest[1] == "users":
            return paged(account.agents.map { agentObject($0) }, key: "users", request: request)
        case 2 where rest[1] == "numbers":
            let numbers = account.trackingNumbers.enumerated().map { n, number -> JSONValue in
                .object(["id": .int(7700 + account.index * 10 + n + 1), "number": .string(number),
                         "formatted": .string(PhoneFormat.parenthesized(number)), "name": .string("Tracking line \(n + 1)")])
            }
            return paged(numbers, key: "numbers", request: request)
        default:
            return notFound()
        }
    }

    private func calls(_ account: SandboxAccount, request: APIRequest, context: VendorContext) -> HTTPResponse {
        var from = Timestamp(millisecondsSinceEpoch: .min)
        var to = Timestamp(millisecondsSinceEpoch: .max)
        if let text = request.query["start_date"] {
            guard let day = CivilTime.dayStart(text) else { return badRequest("invalid start_date, expected YYYY-MM-DD") }
            from = day
        }
        if let text = request.query["end_date"] {
            guard let day = CivilTime.dayStart(text) else { return badRequest("invalid end_date, expected YYYY-MM-DD") }
            to = day.adding(seconds: 86_400)
        }
        // Newest first [I: CTM does not document the order].
        let calls = (context.dataset.calls[account.id] ?? [])
            .filter { $0.startedAt >= from && $0.startedAt < to }
            .reversed()
            .map(\.record)
        return paged(Array(calls), key: "calls", request: request)
    }

    /// The will_paginate-style envelope (§3).
    private func paged(_ items: [JSONValue], key: String, request: APIRequest) -> HTTPResponse {
        var pageNumber = 1
        var perPage = Self.defaultPerPage
        switch request.integer("page") {
        case .success(let n)?: pageNumber = n
        case .failure?: return badRequest("invalid page")
        case nil: break
        }
        switch request.integer("per_page") {
        case .success(let n)?: perPage = n
        case .failure?: return badRequest("invalid per_page")
        case nil: break
        }
        guard perPage <= Self.maxPerPage else { return badRequest("per_page limit is \(Self.maxPerPage)") }
        guard perPage >= 1 else { return badRequest("per_page must be at least 1") }
        guard pageNumber >= 1 else { return badRequest("page must be at least 1") }
        let page = Page(of: items, index: pageNumber - 1, perPage: perPage)
        var envelope: [String: JSONValue] = [
            key: .array(page.items), "page": .int(pageNumber), "per_page": .int(perPage),
            "total_entries": .int(page.totalEntries), "total_pages": .int(page.totalPages),
        ]
        let path = "/" + request.path.split(separator: "/").joined(separator: "/")
        if page.hasNext {
            envelope["next_page"] = .string(request.url(path, QueryString.merging(request.query, ["page": String(pageNumber + 1)])))
        }
        if pageNumber > 1 {
            envelope["previous_page"] = .string(request.url(path, QueryString.merging(request.query, ["page": String(pageNumber - 1)])))
        }
        return .json(200, .object(envelope))
    }

    private func accountObject(_ account: SandboxAccount) -> JSONValue {
        let zones = [-4 * 3600: "America/New_York", -5 * 3600: "America/Chicago", -7 * 3600: "America/Los_Angeles"]
        return .object(["id": .int(Int(account.id) ?? 0), "name": .string(account.name), "status": .string("active"),
                        "timezone": .string(zones[account.utcOffsetSeconds] ?? "UTC"),
                        "created": .string("2021-03-0\(account.index % 9 + 1)T15:00:00Z")])
    }

    func agentObject(_ agent: SandboxAgent) -> JSONValue {
        let parts = agent.name.split(separator: " ").map(String.init)
        return .object(["id": .string(Self.userID(agent)), "first_name": .string(parts.first ?? ""),
                        "last_name": .string(parts.dropFirst().joined(separator: " ")), "email": .string(agent.email),
                        "name": .string(agent.name), "role": .string("agent")])
    }

    /// CTM user ids are `USR` + 32 characters.
    static func userID(_ agent: SandboxAgent) -> String {
        "USR" + String(repeating: "0", count: 32 - String(agent.id).count) + String(agent.id)
    }
}
