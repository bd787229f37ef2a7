import CallFeedCore
import Crypto
import Foundation
import HTTPServer
import Synchronization

/// CleverTap's Profiles API under `/clevertap` (`vendors/clevertap.md`, seed 002): user profiles,
/// not calls.
///
/// - Auth: `X-CleverTap-Account-Id` + `X-CleverTap-Passcode` on every request (§1); anything else is
///   401 `{"status":"fail","error":"Invalid Credentials","code":401}`. The account id picks the
///   sandbox account (`TEST-R78-ZZ1`, `TEST-R78-ZZ1-2`, …). One host serves every region.
/// - Step 1, `POST /1/profiles.json?batch_size=N` with `{"event_name": "…", "from": YYYYMMDD, "to":
///   YYYYMMDD}` → `{"status":"success","cursor":"…"}` (§2). `batch_size` defaults to 10 and must be
///   1…5000 (400 above). `from`/`to` are integers (an 8-digit string is accepted too [I]).
/// - Step 2, `GET /1/profiles.json?cursor=…` → `{"status":"success","records":[…],"next_cursor":"…"}`;
///   the last page has no `next_cursor` (§3); a query matching nothing answers one empty last page.
/// - Cursors are stateless: URL-safe Base64 of a JSON object holding the account, the query, the page
///   size and the position, signed with an HMAC over the sandbox seed. A cursor that does not decode,
///   whose signature does not match (tampered) or that belongs to another account is a 400
///   `{"status":"fail","error":"Invalid cursor","code":400}`.
/// - "Not ready" (§5, [3P/I]): with ``SandboxConfiguration/cleverTapCursorNotReadyOnce`` (default on)
///   the first GET of each cursor fresh from step 1 answers 200 `{"status":"fail","error":"Cursor is
///   still processing, try again","code":2}`; the same cursor works from the second GET on.
///   Cursors from `next_cursor` are ready at once.
/// - Filter: a profile matches when it has the event and the event's [`first_seen`, `last_seen`]
///   overlaps the UTC days `from` … `to` (inclusive) [I: CleverTap documents neither the zone nor the
///   exact rule]. Profiles are served by `objectId`.
/// - Limits: CleverTap limits **concurrency** (3 concurrent download requests, §4), which the
///   sandbox does not emulate. A test forces its 429 (`{"status":"fail","error":"Too many concurrent
///   requests","code":429}`, no `Retry-After` unless the budget says so) with the per-operation
///   budget `operationRateLimits["clevertap/profiles"]`, which both steps count against; none by default.
///
/// The dataset's "calls" are **profiles**: ``makeRecord(_:account:oddity:configuration:)`` writes one
/// profile per generated customer, keyed by `objectId`; the call's start is the last time the
/// customer launched the app (`events["App Launched"].last_seen`).
struct CleverTapAPI: VendorAPI {
    let vendor = SandboxVendor.clevertap
    static let defaultBatchSize = 10
    static let maxBatchSize = 5000
    static let profilesPath = "/1/profiles.json"

    /// Which step-1 cursors have already answered "not ready" once, and a counter that makes each
    /// step-1 cursor distinct. The only mutable state of this API; under a lock, so the value stays
    /// `Sendable`.
    let cursors = CleverTapCursorLedger()

    // MARK: - Auth and errors

    func authenticate(_ request: APIRequest, context: VendorContext) -> Result<VendorAccess, RefusedRequest> {
        let id = request.header("X-CleverTap-Account-Id") ?? ""
        let passcode = request.header("X-CleverTap-Passcode") ?? ""
        guard let account = context.dataset.accounts.first(where: { $0.credential.key == id && $0.credential.secret == passcode }),
              !passcode.isEmpty else {
            return .failure(RefusedRequest(response: fail(401, "Invalid Credentials", code: 401)))
        }
        return .success(VendorAccess(accountIDs: [account.id]))
    }

    func tooManyRequests(retryAfterSeconds: Int?) -> HTTPResponse {
        fail(429, "Too many concurrent requests", code: 429, headers: retryAfterSeconds.map { [("Retry-After", String($0))] } ?? [])
    }

    /// Both steps count against `clevertap/profiles` when a test sets that budget; none otherwise.
    func operationLimit(for request: APIRequest, configuration: SandboxConfiguration) -> (operation: String, limit: SandboxRateLimit)? {
        guard request.path == Self.profilesPath, let limit = configuration.operationRateLimits["clevertap/profiles"] else { return nil }
        return ("profiles", limit)
    }

    /// The profiles API's error body (§5): `{"status":"fail","error":…,"code":…}`.
    func fail(_ status: Int, _ message: String, code: Int? = nil, headers: [(String, String)] = []) -> HTTPResponse {
        .json(status, .object(["status": .string("fail"), "error": .string(message), "code": .int(code ?? status)]), headers: headers)
    }

    // MARK: - Routes

    func respond(to request: APIRequest, access: VendorAccess, context: VendorContext) -> HTTPResponse {
        guard let account = access.accountIDs.first.flatMap(context.dataset.account) else { return fail(401, "Invalid Credentials") }
        guard request.path == Self.profilesPath else { return fail(404, "Not Found") }
        switch request.method {
        case "POST": return startExport(request, account: account, context: context)
        case "GET": return exportPage(request, account: account, context: context)
        default: return fail(405, "Method Not Allowed")
        }
    }

    /// Step 1: validates the query and answers its first cursor.
    private func startExport(_ request: APIRequest, account: SandboxAccount, context: VendorContext) -> HTTPResponse {
        var batchSize = Self.defaultBatchSize
        switch request.integer("batch_size") {
        case .success(let n)?: batchSize = n
        case .failure?: return fail(400, "batch_size must be an integer")
        case nil: break
        }
        guard (1...Self.maxBatchSize).contains(batchSize) else {
            return fail(400, "batch_size must be between 1 and \(Self.maxBatchSize)")
        }
        guard let body = try? JSONValue.parse(request.http.body), body.objectValue != nil else {
            return fail(400, "Request body must be a JSON object with event_name, from and to")
        }
        guard let event = body["event_name"]?.text else { return fail(400, "event_name is required") }
        guard let from = Self.day(body["from"]) else { return fail(400, "from must be a date as YYYYMMDD") }
        guard let to = Self.day(body["to"]) else { return fail(400, "to must be a date as YYYYMMDD") }
        guard from <= to else { return fail(400, "from must not be after to") }
        let query = CleverTapCursor(account: account.id, event: event, from: from, to: to, batchSize: batchSize, offset: 0,
                                    export: cursors.nextExport())
        let cursor = query.encoded(key: cursorKey(context.configuration))
        return .json(200, .object(["status": .string("success"), "cursor": .string(cursor)]))
    }

    /// Step 2: one page of the export the cursor names.
    private func exportPage(_ request: APIRequest, account: SandboxAccount, context: VendorContext) -> HTTPResponse {
        guard let text = request.query["cursor"], !text.isEmpty else { return fail(400, "cursor is required") }
        guard let cursor = CleverTapCursor(decoding: text, key: cursorKey(context.configuration)), cursor.account == account.id else {
            return fail(400, "Invalid cursor")
        }
        if cursor.offset == 0, context.configuration.cleverTapCursorNotReadyOnce, cursors.firstUse(of: cursor.export) {
            return .json(200, .object(["status": .string("fail"), "error": .string("Cursor is still processing, try again"), "code": .int(2)]))
        }
        let profiles = matching(context.dataset.calls[account.id] ?? [], cursor: cursor)
        let start = min(cursor.offset, profiles.count)
        let end = min(start + cursor.batchSize, profiles.count)
        var answer: [String: JSONValue] = ["status": .string("success"), "records": .array(Array(profiles[start..<end]))]
        if end < profiles.count {
            var next = cursor
            next.offset = end
            answer["next_cursor"] = .string(next.encoded(key: cursorKey(context.configuration)))
        }
        return .json(200, .object(answer))
    }

    /// The account's profiles that had `event` within the cursor's days, by `objectId`.
    private func matching(_ all: [SandboxCall], cursor: CleverTapCursor) -> [JSONValue] {
        guard let fromDay = CivilTime.dayStart(Self.isoDay(cursor.from)), let toDay = CivilTime.dayStart(Self.isoDay(cursor.to)) else { return [] }
        let lower = fromDay.secondsSinceEpoch
        let upper = toDay.secondsSinceEpoch + 86_400
        return all.map(\.record).filter { profile in
            guard let event = profile[path: "events", cursor.event],
                  let first = event["first_seen"]?.integer, let last = event["last_seen"]?.integer else { return false }
            return first < upper && last >= lower
        }.sorted { ($0["objectId"]?.text ?? "") < ($1["objectId"]?.text ?? "") }
    }

    private func cursorKey(_ configuration: SandboxConfiguration) -> SymmetricKey {
        SymmetricKey(data: Array("clevertap-sandbox-cursor-\(configuration.seed)".utf8))
    }

    /// `20240501` (integer or 8-digit string) when it is a real date.
    static func day(_ value: JSONValue?) -> Int? {
        guard let value, let n = value.integer, (10_000_101...99_991_231).contains(n),
              CivilTime.dayStart(isoDay(Int(n))) != nil else { return nil }
        return Int(n)
    }

    /// `20240501` → `2024-05-01`.
    static func isoDay(_ day: Int) -> String {
        "\(CivilTime.pad(day / 10_000, 4))-\(CivilTime.pad(day / 100 % 100))-\(CivilTime.pad(day % 100))"
    }
}

/// The export a cursor stands for: the query, the page size and where the next page starts.
struct CleverTapCursor: Sendable, Equatable {
    var account: String
    var event: String
    var from: Int
    var to: Int
    var batchSize: Int
    var offset: Int
    /// Which step-1 call made the export (so each step-1 cursor is a fresh one).
    var export: Int

    init(account: String, event: String, from: Int, to: Int, batchSize: Int, offset: Int, export: Int) {
        self.account = account; self.event = event; self.from = from; self.to = to
        self.batchSize = batchSize; self.offset = offset; self.export = export
    }

    private var payload: JSONValue {
        .object(["a": .string(account), "e": .string(event), "f": .int(from), "t": .int(to), "b": .int(batchSize),
                 "o": .int(offset), "x": .int(export)])
    }

    private static func signature(_ payload: JSONValue, key: SymmetricKey) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: JSONWriter.bytes(payload), using: key)
        return mac.prefix(12).map { String($0, radix: 16).leftPadded(2) }.joined()
    }

    /// URL-safe Base64 (no padding) of the signed payload.
    func encoded(key: SymmetricKey) -> String {
        guard case .object(var members) = payload else { return "" }
        members["s"] = .string(Self.signature(payload, key: key))
        return Data(JSONWriter.bytes(.object(members))).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Decodes and verifies a cursor; nil when it is not one of ours or was changed.
    init?(decoding text: String, key: SymmetricKey) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            .replacingOccurrences(of: " ", with: "+")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let json = try? JSONValue.parse(Array(data)),
              let account = json["a"]?.text, let event = json["e"]?.text,
              let from = json["f"]?.integer, let to = json["t"]?.integer, let batch = json["b"]?.integer,
              let offset = json["o"]?.integer, let export = json["x"]?.integer, let signature = json["s"]?.text,
              batch > 0, offset >= 0 else { return nil }
        self.init(account: account, event: event, from: Int(from), to: Int(to), batchSize: Int(batch), offset: Int(offset), export: Int(export))
        guard Self.signature(payload, key: key) == signature else { return nil }
    }
}

/// The sandbox's memory of step-1 cursors (see ``CleverTapAPI``): a counter and the exports that
/// already answered "not ready". `Sendable` because both live in one `Mutex`.
final class CleverTapCursorLedger: Sendable {
    private let state = Mutex<(next: Int, warned: Set<Int>)>((1, []))

    /// A new export number.
    func nextExport() -> Int { state.withLock { s in defer { s.next += 1 }; return s.next } }

    /// True the first time `export` is asked for, false after.
    func firstUse(of export: Int) -> Bool { state.withLock { $0.warned.insert(export).inserted } }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
