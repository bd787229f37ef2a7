import CallFeedCore
import Foundation
import HTTPServer

/// CallRail API v3 under `/callrail` (`vendors/callrail.md`).
///
/// - Auth: `Authorization: Token token="KEY"` (quotes optional, §1); `Bearer` or a wrong key is 401.
/// - `GET /v3/a.json`, `/v3/a/{account}.json`, `/v3/a/{account}/calls.json`,
///   `/v3/a/{account}/calls/{id}.json`, `companies`, `trackers`, `users`, `tags`,
///   `form_submissions`, `text-messages` (key `conversations`; the seed's `text_messages` is a 404)
///   (§2). `{account}` is the numeric id or the `ACC…` id. The `.json` suffix may be left off.
/// - Numbered pages (`page` from 1, `per_page` default 100, at most 250) with `page`, `per_page`,
///   `total_pages`, `total_records`; on calls also relative pages (`relative_pagination=true`,
///   `offset` = 0-based page index) with `has_next_page` and `next_page` (full URL). A `Link:
///   rel="next"` header accompanies both (§3).
/// - Dates: `start_date`/`end_date` (date or date-time, inclusive) read in the user's time zone
///   unless `time_zone=` is sent, or `date_range=`; with neither, `recent` (the last 7 days
///   including today) (§2). Dates before the 25-month retention are a 400.
/// - `fields=` adds non-default fields of the call; unknown names are ignored [I].
/// - Calls are sorted by `start_time`, newest first unless `order=asc` [I].
struct CallRailAPI: VendorAPI {
    let vendor = SandboxVendor.callrail
    static let defaultPerPage = 100
    static let maxPerPage = 250

    /// The fields every call carries without `fields=` (§6).
    static let defaultFields = ["id", "answered", "voicemail", "direction", "duration", "start_time",
                                "customer_phone_number", "customer_name", "customer_city", "customer_state",
                                "customer_country", "tracking_phone_number", "business_phone_number", "recording",
                                "recording_player", "recording_duration", "agent_email"]

    // MARK: - Auth and errors

    func authenticate(_ request: APIRequest, context: VendorContext) -> Result<VendorAccess, RefusedRequest> {
        guard let key = Self.token(request.header("Authorization")), key == context.configuration.callRail.apiKey else {
            return .failure(RefusedRequest(response: .json(401, .object(["error": .string("HTTP Token: Access denied.")]))))
        }
        return .success(VendorAccess(accountIDs: context.dataset.accounts.map(\.id)))
    }

    /// The key from `Token token="KEY"` or `Token token=KEY`.
    static func token(_ header: String?) -> String? {
        guard let header, header.hasPrefix("Token ") else { return nil }
        let rest = header.dropFirst("Token ".count).trimmingCharacters(in: .whitespaces)
        guard rest.hasPrefix("token=") else { return nil }
        var value = Substring(rest.dropFirst("token=".count))
        if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
        return value.isEmpty ? nil : String(value)
    }

    func tooManyRequests(retryAfterSeconds: Int?) -> HTTPResponse {
        .json(429, .object(["error": .string("API rate limit exceeded")]),
              headers: retryAfterSeconds.map { [("Retry-After", String($0))] } ?? [])
    }

    func notFound() -> HTTPResponse { .json(404, .object(["error": .string("Not found")])) }
    func badRequest(_ message: String) -> HTTPResponse { .json(400, .object(["error": .string(message)])) }

    // MARK: - Routes

    func respond(to request: APIRequest, access: VendorAccess, context: VendorContext) -> HTTPResponse {
        var segments = request.path.split(separator: "/").map(String.init)
        if let last = segments.last, last.hasSuffix(".json") { segments[segments.count - 1] = String(last.dropLast(5)) }
        guard segments.count >= 2, segments[0] == "v3", segments[1] == "a" else { return notFound() }
        guard request.method == "GET" else { return .json(405, .object(["error": .string("Method not allowed")])) }
        let rest = Array(segments.dropFirst(2))
        let visible = context.dataset.accounts.filter { access.accountIDs.contains($0.id) }
        if rest.isEmpty {
            return numbered(visible.map { accountObject($0, context: context) }, key: "accounts", request: request, link: "/v3/a.json")
        }
        guard let account = visible.first(where: { $0.id == rest[0] || maskedID("ACC", $0, context: context) == rest[0] }) else {
            return notFound()
        }
        let base = "/v3/a/\(rest[0])"
        switch (rest.count, rest.count > 1 ? rest[1] : "") {
        case (1, _):
            return .json(200, accountObject(account, context: context))
        case (2, "calls"):
            return calls(account, request: request, context: context, link: base + "/calls.json")
        case (3, "calls"):
            guard let call = context.dataset.calls[account.id]?.first(where: { $0.id == rest[2] }) else { return notFound() }
            let zone = timeZone(request, context: context)
            guard case .success(let zoneName) = zone else { return badRequest("Invalid time_zone") }
            return .json(200, rendered(call, fields: fields(request), zone: zoneName, context: context))
        case (2, "companies"):
            return numbered([companyObject(account, context: context)], key: "companies", request: request, link: base + "/companies.json")
        case (2, "trackers"):
            return numbered(trackers(account, context: context), key: "trackers", request: request, link: base + "/trackers.json")
        case (2, "users"):
            return numbered(users(account, context: context), key: "users", request: request, link: base + "/users.json")
        case (2, "tags"):
            return numbered(tags(account, context: context), key: "tags", request: request, link: base + "/tags.json")
        case (2, "form_submissions"):
            return derived(account, request: request, context: context, key: "form_submissions", link: base + "/form_submissions.json",
                           every: 4, make: formSubmission)
        case (2, "text-messages"):
            return derived(account, request: request, context: context, key: "conversations", link: base + "/text-messages.json",
                           every: 3, make: conversation)
        default:
            return notFound()
        }
    }

    // MARK: - Calls

    private func calls(_ account: SandboxAccount, request: APIRequest, context: VendorContext, link: String) -> HTTPResponse {
        let window: CallRailDateWindow
        switch CallRailDateWindow.parse(request, context: context) {
        case .success(let w): window = w
        case .failure(let message): return badRequest(message.text)
        }
        var calls = (context.dataset.calls[account.id] ?? []).filter { window.contains($0.startedAt) }
        if let company = request.query["company_id"] {
            calls = company == maskedID("COM", account, context: context) ? calls : []
        }
        if let direction = request.query["direction"] {
            calls = calls.filter { $0.record["direction"]?.text == direction }
        }
        if let status = request.query["answer_status"] {
            calls = calls.filter { call in
                let answered = call.record["answered"]?.boolean == true
                let voicemail = call.record["voicemail"]?.boolean == true
                switch status {
                case "answered": return answered
                case "voicemail": return voicemail
                case "missed": return !answered && !voicemail
                default: return true
                }
            }
        }
        if let tag = request.query["tags"] ?? request.query["tags[]"] {
            calls = calls.filter { ($0.record["tags"]?.arrayValue ?? []).contains(.string(tag)) }
        }
        if request.query["order"] != "asc" { calls.reverse() }
        let fields = fields(request)
        let records = calls.map { rendered($0, fields: fields, zone: window.zone, context: context) }
        if request.query["relative_pagination"] == "true" {
            return relative(records, request: request, link: link)
        }
        return numbered(records, key: "calls", request: request, link: link)
    }

    /// The call with the default fields plus those asked for, times written in `zone`.
    func rendered(_ call: SandboxCall, fields extra: [String], zone: String, context: VendorContext) -> JSONValue {
        var record = call.record
        if call.oddity != .unparseableTime {
            let offset = CivilTime.offsetSeconds(zone: zone, at: call.startedAt) ?? 0
            record.set(["start_time"], to: .string(CivilTime.iso8601Milliseconds(call.startedAt, offsetSeconds: offset)))
            record.set(["created_at"], to: .string(CivilTime.iso8601Milliseconds(call.startedAt.addingMilliseconds(19), offsetSeconds: offset)))
            if record[path: "milestones", "lead_created"]?.objectValue != nil {
                record.set(["milestones", "lead_created", "event_date"], to: .string(CivilTime.iso8601Milliseconds(call.startedAt, offsetSeconds: offset)))
            }
            if record[path: "milestones", "first_touch"]?.objectValue != nil {
                record.set(["milestones", "first_touch", "event_date"],
                           to: .string(CivilTime.iso8601Milliseconds(call.startedAt.adding(seconds: -540), offsetSeconds: offset)))
            }
        }
        return record.keeping(Self.defaultFields + extra)
    }

    private func fields(_ request: APIRequest) -> [String] {
        (request.query["fields"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// `time_zone=` or the user's zone; a failure for an unknown zone name.
    func timeZone(_ request: APIRequest, context: VendorContext) -> Result<String, CallRailDateWindow.Problem> {
        let zone = request.query["time_zone"] ?? context.configuration.callRailUserTimeZone
        return CivilTime.offsetSeconds(zone: zone, at: context.now) == nil ? .failure(.init(text: "Invalid time_zone")) : .success(zone)
    }

    // MARK: - Envelopes

    /// Offset pagination (§3): `page`, `per_page`, `total_pages`, `total_records`.
    func numbered(_ items: [JSONValue], key: String, request: APIRequest, link: String) -> HTTPResponse {
        var pageNumber = 1
        var perPage = Self.defaultPerPage
        switch request.integer("page") {
        case .success(let n)?: pageNumber = n
        case .failure?: return badRequest("page must be an integer")
        case nil: break
        }
        switch request.integer("per_page") {
        case .success(let n)?: perPage = n
        case .failure?: return badRequest("per_page must be an integer")
        case nil: break
        }
        guard pageNumber >= 1 else { return badRequest("page must be greater than 0") }
        guard perPage >= 1 else { return badRequest("per_page must be greater than 0") }
        perPage = min(perPage, Self.maxPerPage)  // [I] the cap is documented, the answer above it is not
        let page = Page(of: items, index: pageNumber - 1, perPage: perPage)
        let envelope: JSONValue = .object([
            "page": .int(pageNumber), "per_page": .int(perPage), "total_pages": .int(page.totalPages),
            "total_records": .int(page.totalEntries), key: .array(page.items),
        ])
        let next = page.hasNext ? request.url(link, QueryString.merging(request.query, ["page": String(pageNumber + 1)])) : nil
        return .json(200, envelope, headers: next.map { [("Link", "<\($0)>; rel=\"next\"")] } ?? [])
    }

    /// Relative pagination (§3): `offset` is a 0-based page index; `has_next_page`, `next_page`.
    private func relative(_ items: [JSONValue], request: APIRequest, link: String) -> HTTPResponse {
        var offset = 0
        var perPage = Self.defaultPerPage
        switch request.integer("offset") {
        case .success(let n)?: offset = n
        case .failure?: return badRequest("offset must be an integer")
        case nil: break
        }
        switch request.integer("per_page") {
        case .success(let n)?: perPage = n
        case .failure?: return badRequest("per_page must be an integer")
        case nil: break
        }
        guard offset >= 0, perPage >= 1 else { return badRequest("offset and per_page must not be negative") }
        perPage = min(perPage, Self.maxPerPage)
        let page = Page(of: items, index: offset, perPage: perPage)
        let next = page.hasNext ? request.url(link, QueryString.merging(request.query, ["offset": String(offset + 1)])) : nil
        let envelope: JSONValue = .object(["calls": .array(page.items), "has_next_page": .bool(page.hasNext),
                                           "next_page": .string(orNull: next)])
        return .json(200, envelope, headers: next.map { [("Link", "<\($0)>; rel=\"next\"")] } ?? [])
    }

    /// A masked id (`ACC…`, `COM…`): the prefix and 32 hex digits, stable for the seed.
    func maskedID(_ prefix: String, _ account: SandboxAccount, _ n: Int = 0, context: VendorContext) -> String {
        Self.maskedID(prefix, seed: context.configuration.seed, UInt64(account.index), UInt64(n))
    }

    static func maskedID(_ prefix: String, seed: UInt64, _ parts: UInt64...) -> String {
        var random = SeededRandom(seed, stableHash(prefix), parts.first ?? 0, parts.dropFirst().first ?? 0)
        return prefix + random.hex(32)
    }
}

extension Timestamp {
    func addingMilliseconds(_ ms: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch + ms) }
}
