import CallFeedCore
import HTTPServer

/// CallKeeper call export v3 under `/callkeeper` (`vendors/callkeeper.md`, seed 003).
///
/// - `GET /api/index.php?json/v3/{apikey}/call/{method}/{page}/{from}/{to}` (also `/api/?…`): the
///   whole route is the query string, slash-separated (§1).
/// - The key is a route segment: the user key serves `get` (the key holder's own calls, the first
///   sandbox account) and `getWithRole` (own and shared); the role key serves `getByRole` (calls
///   shared by role: the other accounts) (§1).
/// - Pages from 0 (§3); success is a bare JSON array whose records echo `page`; the page size is
///   ``SandboxConfiguration/callKeeperPageSize``.
/// - `from` required, `to` optional (default now), each Unix seconds or `YYYY-MM-DD` (§2); both
///   inclusive, a date `to` covering its whole day, dates read as UTC days [I].
/// - Every error is the documented envelope `{"inbound":{"error":…},"info":{…},"payload":[]}` with
///   HTTP 200 (§5: the status is not documented; the note expects 200), checked in the documented
///   order: format, version, key, entity, method, page, dates; then `No rows found` for an empty
///   range and `Incorrect page is set` past the last page (§3).
struct CallKeeperAPI: VendorAPI {
    let vendor = SandboxVendor.callkeeper

    enum Message {
        static let noRows = "No rows found"
        static let format = "Type to return is not available"
        static let version = "It is wrong API version"
        static let user = "User is not recognized"
        static let entity = "Entity does not exist"
        static let method = "Method does not exist"
        static let page = "Incorrect page is set"
        static let startDate = "Start date has wrong type. Possible format is 'Y-m-d' or timestamp"
        /// Not documented; for a configured rate limit only [I].
        static let tooMany = "Too many requests"
    }

    /// The documented error body (seed 003, `callkeeper.error.sample.json`); `info` is static.
    static func errorEnvelope(_ message: String) -> JSONValue {
        let get: JSONValue = .array([.string("get")])
        return .object([
            "inbound": .object(["error": .string(message)]),
            "info": .object([
                "entities": .object(["call": get, "callrole": get, "phone": get, "user": get, "campaign": get, "tag": get]),
                "types": .array(["json", "plain", "csv", "xml"].map { .string($0) }),
                "versions": .array([.string("v1")]),
            ]),
            "payload": .array([]),
        ])
    }

    private func error(_ message: String) -> HTTPResponse { .json(200, Self.errorEnvelope(message)) }

    // MARK: - Auth and errors

    /// The key travels inside the route, so it is checked in ``respond(to:access:context:)`` in the
    /// documented order (a bad format is reported before a bad key).
    func authenticate(_ request: APIRequest, context: VendorContext) -> Result<VendorAccess, RefusedRequest> {
        .success(VendorAccess(accountIDs: context.dataset.accounts.map(\.id)))
    }

    func tooManyRequests(retryAfterSeconds: Int?) -> HTTPResponse {
        .json(429, Self.errorEnvelope(Message.tooMany), headers: retryAfterSeconds.map { [("Retry-After", String($0))] } ?? [])
    }

    // MARK: - Route

    func respond(to request: APIRequest, access: VendorAccess, context: VendorContext) -> HTTPResponse {
        guard ["/api/index.php", "/api/", "/api"].contains(request.path) else {
            return .text(404, "<html><body><h1>404 Not Found</h1></body></html>", contentType: "text/html")
        }
        guard request.method == "GET" || request.method == "POST" else { return error(Message.method) }
        let route = request.query.first { $0.key.contains("/") }?.key ?? request.query.keys.first ?? ""
        var segments = route.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if segments.last == "" { segments.removeLast() }
        func segment(_ n: Int) -> String? { n < segments.count ? segments[n] : nil }

        guard segment(0) == "json" else { return error(Message.format) }
        guard segment(1) == "v3" else { return error(Message.version) }
        let credentials = context.configuration.callKeeper
        guard let key = segment(2), key == credentials.userKey || key == credentials.roleKey else { return error(Message.user) }
        guard segment(3) == "call" else { return error(Message.entity) }
        let accounts = context.dataset.accounts
        let selected: [SandboxAccount]
        switch segment(4) {
        case "get": selected = Array(accounts.prefix(1))
        case "getByRole": selected = Array(accounts.dropFirst())
        case "getWithRole": selected = accounts
        default: return error(Message.method)
        }
        // getByRole takes the role key; the other methods the user key (§1).
        guard (segment(4) == "getByRole") == (key == credentials.roleKey) else { return error(Message.user) }
        guard let pageText = segment(5), let page = Int(pageText), page >= 0, pageText.allSatisfy(\.isNumber) else {
            return error(Message.page)
        }
        guard let fromText = segment(6), let from = Self.instant(fromText, endOfDay: false) else { return error(Message.startDate) }
        var to = context.now.secondsSinceEpoch
        if let toText = segment(7), !toText.isEmpty {
            guard let parsed = Self.instant(toText, endOfDay: true) else { return error(Message.startDate) }
            to = parsed
        }

        let calls = context.dataset.calls(of: selected.map(\.id)).filter {
            $0.startedAt.secondsSinceEpoch >= from && $0.startedAt.secondsSinceEpoch <= to
        }
        guard !calls.isEmpty else { return error(Message.noRows) }
        let slice = Page(of: calls, index: page, perPage: context.configuration.callKeeperPageSize)
        guard !slice.items.isEmpty else { return error(Message.page) }
        return .json(200, .array(slice.items.map { call in
            var record = call.record
            record.set(["page"], to: .int(page))
            return record
        }))
    }

    /// Unix seconds, or a `YYYY-MM-DD` UTC day: its first second, or its last when `endOfDay`.
    static func instant(_ text: String, endOfDay: Bool) -> Int64? {
        if !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber) { return Int64(text) }
        guard let day = CivilTime.dayStart(text) else { return nil }
        return day.secondsSinceEpoch + (endOfDay ? 86_399 : 0)
    }
}
