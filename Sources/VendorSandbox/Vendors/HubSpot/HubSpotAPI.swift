import CallFeedCore
import Foundation
import HTTPServer

/// HubSpot CRM v3 under `/hubspot` (`vendors/hubspot.md`): calls, dispositions, contacts,
/// companies, deals, three custom objects and call associations. One portal per sandbox account
/// (`20000001`, …), one private-app token per portal.
///
/// - Auth (§1): `Authorization: Bearer <token>`; anything else is a 401 with HubSpot's error body
///   (`category: INVALID_AUTHENTICATION`). The seed's `?hapikey=` is not accepted (sunset 2022).
/// - Objects (§2): `GET /crm/v3/objects/{type}` (list), `/{type}/{id}` (read),
///   `POST /crm/v3/objects/{type}/search`, `POST /crm/v3/objects/{type}/batch/read`, for `calls`,
///   `contacts`, `companies`, `deals` (or their ids `0-48`, `0-1`, `0-2`, `0-3`) and the custom
///   objects `genius_users`, `divisions`, `zipcodes`, addressed by fully qualified name
///   `p<portalId>_<name>` (also `p_<name>`) or object type id `2-1000001`…`2-1000003`.
///   `GET /crm/v3/schemas`, `GET /crm/v3/properties/{type}`, `GET /calling/v1/dispositions`,
///   `POST /crm/v4/associations/calls/{contacts|deals}/batch/read`.
/// - Lists (§3): `limit` default 10, at most 100 (above: 400 `VALIDATION_ERROR`), `after` an
///   opaque cursor (the next record's id), `paging.next.{after,link}` absent on the last page;
///   `properties` picks the properties (the record's `hs_object_id` and create/modify dates come
///   always), without it a small default set; `archived=true` lists deleted records (none here).
/// - Search (§3): filter groups (OR) of filters (AND) with `EQ`, `NEQ`, `GT`, `GTE`, `LT`, `LTE`,
///   `BETWEEN`, `IN`, `HAS_PROPERTY`, `NOT_HAS_PROPERTY`; date properties compare as instants
///   (epoch ms or ISO values), one sort, `limit` ≤ 200, `after` an offset, `total` in the answer.
///   **Result cap**: an `after` at or past ``SandboxConfiguration/hubSpotSearchCap`` (10,000) is a
///   400, while `total` still counts everything. A call's `hs_timestamp` filter uses its real
///   start, also for a record whose `hs_timestamp` was made odd.
/// - Limits (§4): 100 per 10 s for the token (``SandboxRateLimit/vendorDefault(for:)``), and
///   search 4 per second (`operationRateLimits["hubspot/search"]`), no `Retry-After`; 429 body
///   `category: RATE_LIMITS`. Every response carries `X-HubSpot-RateLimit-Max/-Remaining/
///   -Interval-Milliseconds` of the 10-second window.
struct HubSpotAPI: VendorAPI {
    let vendor = SandboxVendor.hubspot
    static let defaultLimit = 10
    static let maxListLimit = 100
    static let maxSearchLimit = 200
    static let maxBatch = 100

    // MARK: - Auth and errors

    func authenticate(_ request: APIRequest, context: VendorContext) -> Result<VendorAccess, RefusedRequest> {
        let header = request.header("Authorization") ?? ""
        guard let account = context.dataset.accounts.first(where: { $0.credential.authorization == header }) else {
            let message = header.isEmpty
                ? "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
                : "Authentication credentials are invalid or expired."
            return .failure(RefusedRequest(response: error(401, category: "INVALID_AUTHENTICATION", message)))
        }
        return .success(VendorAccess(accountIDs: [account.id]))
    }

    /// HubSpot's 429 (§4): the ten-secondly body for every refusal, the search limit's included
    /// (the 429 hook has no request; see docs/sandbox.md). No `Retry-After` unless configured.
    func tooManyRequests(retryAfterSeconds: Int?) -> HTTPResponse {
        .json(429, .object([
            "status": .string("error"), "message": .string("You have reached your ten_secondly_rolling limit."),
            "errorType": .string("RATE_LIMIT"), "correlationId": .string(Self.correlationID()),
            "category": .string("RATE_LIMITS"), "policyName": .string("TEN_SECONDLY_ROLLING"),
        ]), headers: retryAfterSeconds.map { [("Retry-After", String($0))] } ?? [])
    }

    /// `X-HubSpot-RateLimit-Max/-Remaining` of the rolling window; its length is HubSpot's 10 s
    /// (the hook is not told the configured period).
    func rateLimitHeaders(_ state: [RateWindowState]) -> [(String, String)] {
        guard let window = state.first else { return [] }
        return [("X-HubSpot-RateLimit-Max", String(window.limit)), ("X-HubSpot-RateLimit-Remaining", String(window.remaining)),
                ("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")]
    }

    /// Search endpoints have their own budget: 4 per second **per token** (§4), so the bucket is
    /// `search/<token>` while the configured limit is looked up as `hubspot/search`.
    func operationLimit(for request: APIRequest, configuration: SandboxConfiguration) -> (operation: String, limit: SandboxRateLimit)? {
        guard request.method == "POST", request.path.hasSuffix("/search") else { return nil }
        let token = request.header("Authorization") ?? ""
        return ("search/" + token, configuration.operationRateLimits["hubspot/search"]
            ?? SandboxRateLimit(windows: [.perSecond(4)], sendsRetryAfter: false))
    }

    /// HubSpot's error envelope (§5).
    func error(_ status: Int, category: String, _ message: String) -> HTTPResponse {
        .json(status, .object(["status": .string("error"), "message": .string(message),
                               "correlationId": .string(Self.correlationID()), "category": .string(category)]))
    }

    func validation(_ message: String) -> HTTPResponse { error(400, category: "VALIDATION_ERROR", message) }

    func notFound(_ message: String = "resource not found") -> HTTPResponse { error(404, category: "OBJECT_NOT_FOUND", message) }

    static func correlationID() -> String { UUID().uuidString.lowercased() }

    // MARK: - Routes

    func respond(to request: APIRequest, access: VendorAccess, context: VendorContext) -> HTTPResponse {
        guard let account = access.accountIDs.first.flatMap(context.dataset.account) else {
            return error(401, category: "INVALID_AUTHENTICATION", "Authentication credentials are invalid or expired.")
        }
        let store = HubSpotStore(account: account, context: context)
        let segments = request.path.split(separator: "/").map(String.init)
        let method = request.method
        switch segments {
        case ["calling", "v1", "dispositions"]:
            guard method == "GET" else { return methodNotAllowed() }
            let all = Self.defaultDispositions + Self.customDispositions
            return .json(200, .array(all.map { .object(["id": .string($0.id), "label": .string($0.label), "deleted": .bool(false)]) }))
        case ["crm", "v3", "schemas"]:
            guard method == "GET" else { return methodNotAllowed() }
            return .json(200, .object(["results": .array(HubSpotObjectType.customs.map { store.schema($0) })]))
        case let s where s.count == 4 && s[0] == "crm" && s[1] == "v3" && s[2] == "properties":
            guard let type = HubSpotObjectType(s[3], portal: account.id) else { return notFound("Unable to infer object type from: \(s[3])") }
            return .json(200, .object(["results": .array(store.propertyCatalogue(type))]))
        case let s where s.count >= 4 && s[0] == "crm" && s[1] == "v3" && s[2] == "objects":
            guard let type = HubSpotObjectType(s[3], portal: account.id) else { return notFound("Unable to infer object type from: \(s[3])") }
            return objects(type, rest: Array(s.dropFirst(4)), request: request, store: store)
        case let s where s.count == 7 && Array(s.prefix(3)) == ["crm", "v4", "associations"] && s[5] == "batch" && s[6] == "read":
            guard method == "POST" else { return methodNotAllowed() }
            guard let from = HubSpotObjectType(s[3], portal: account.id), let to = HubSpotObjectType(s[4], portal: account.id) else {
                return notFound("Unable to infer object type")
            }
            return associations(from: from, to: to, request: request, store: store)
        default:
            return notFound()
        }
    }

    private func methodNotAllowed() -> HTTPResponse { error(405, category: "METHOD_NOT_ALLOWED", "HTTP method not allowed for this path") }

    /// `/crm/v3/objects/{type}[/{id} | /search | /batch/read]`.
    private func objects(_ type: HubSpotObjectType, rest: [String], request: APIRequest, store: HubSpotStore) -> HTTPResponse {
        switch (request.method, rest) {
        case ("GET", []):
            return list(type, request: request, store: store)
        case ("GET", let r) where r.count == 1:
            guard let object = store.objects(type).first(where: { $0.id == r[0] }) else {
                return notFound("Object not found.  objectId are usually numeric.")
            }
            return .json(200, object.json(properties: requestedProperties(request.query["properties"], type: type)))
        case ("POST", ["search"]):
            return search(type, request: request, store: store)
        case ("POST", ["batch", "read"]):
            return batchRead(type, request: request, store: store)
        case (_, []), (_, ["search"]), (_, ["batch", "read"]):
            return methodNotAllowed()
        default:
            return notFound()
        }
    }

    /// The `properties` parameter: nil when absent (the default set applies).
    func requestedProperties(_ text: String?, type: HubSpotObjectType) -> Set<String> {
        guard let text, !text.isEmpty else { return type.defaultProperties }
        return Set(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }).union(type.alwaysProperties)
    }

    // MARK: - List

    private func list(_ type: HubSpotObjectType, request: APIRequest, store: HubSpotStore) -> HTTPResponse {
        var limit = Self.defaultLimit
        switch request.integer("limit") {
        case .success(let n)?: limit = n
        case .failure?: return validation("Unable to parse limit: \(request.query["limit"] ?? "")")
        case nil: break
        }
        guard limit >= 1, limit <= Self.maxListLimit else {
            return validation("limit must be between 1 and \(Self.maxListLimit), was \(limit)")
        }
        var after: Int64 = 0
        if let text = request.query["after"], !text.isEmpty {
            guard let n = Int64(text) else { return validation("Invalid after cursor: \(text)") }
            after = n
        }
        let archived = request.query["archived"]?.lowercased() == "true"
        // Nothing is archived in the sandbox: `archived=true` lists none.
        let all = archived ? [] : store.objects(type).sorted { $0.numericID < $1.numericID }
        let page = all.filter { $0.numericID >= after }.prefix(limit)
        let properties = requestedProperties(request.query["properties"], type: type)
        var body: [String: JSONValue] = ["results": .array(page.map { $0.json(properties: properties) })]
        if let last = page.last, all.contains(where: { $0.numericID > last.numericID }) {
            let next = String(last.numericID + 1)
            let path = "/" + request.path.split(separator: "/").joined(separator: "/")
            body["paging"] = .object(["next": .object([
                "after": .string(next),
                "link": .string(request.url(path, QueryString.merging(request.query, ["after": next]))),
            ])])
        }
        return .json(200, .object(body))
    }

    // MARK: - Batch read and associations

    private func batchRead(_ type: HubSpotObjectType, request: APIRequest, store: HubSpotStore) -> HTTPResponse {
        guard let body = try? JSONValue.parse(request.http.body), let inputs = body["inputs"]?.arrayValue else {
            return validation("Invalid input JSON: expected {\"inputs\": [{\"id\": \"…\"}], \"properties\": […]}")
        }
        guard inputs.count <= Self.maxBatch else { return validation("Batch read accepts at most \(Self.maxBatch) inputs, got \(inputs.count)") }
        let ids = inputs.compactMap { $0["id"]?.text }
        let requested = body["properties"]?.arrayValue.map { Set($0.compactMap(\.text)).union(type.alwaysProperties) } ?? type.defaultProperties
        let byID = Dictionary(store.objects(type).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let found = ids.compactMap { byID[$0] }
        return .json(200, .object(["status": .string("COMPLETE"), "results": .array(found.map { $0.json(properties: requested) }),
                                   "startedAt": .string(Self.iso(Timestamp.now())), "completedAt": .string(Self.iso(Timestamp.now()))]))
    }

    /// v4 batch read (§7): `{inputs:[{id}]}` → `results[{from:{id}, to:[{toObjectId,
    /// associationTypes:[{category,typeId,label}]}]}]`; ids without associations are left out.
    private func associations(from: HubSpotObjectType, to: HubSpotObjectType, request: APIRequest, store: HubSpotStore) -> HTTPResponse {
        guard let body = try? JSONValue.parse(request.http.body), let inputs = body["inputs"]?.arrayValue else {
            return validation("Invalid input JSON: expected {\"inputs\": [{\"id\": \"…\"}]}")
        }
        guard inputs.count <= 1000 else { return validation("Batch read accepts at most 1000 inputs, got \(inputs.count)") }
        let links = store.associations(from: from, to: to)
        var results: [JSONValue] = []
        for id in inputs.compactMap({ $0["id"]?.text }) {
            guard let targets = links[id], !targets.isEmpty else { continue }
            results.append(.object([
                "from": .object(["id": .string(id)]),
                "to": .array(targets.map { target in .object([
                    "toObjectId": .int(Int64(target.id) ?? 0),
                    "associationTypes": .array([.object(["category": .string("HUBSPOT_DEFINED"), "typeId": .int(Int64(target.typeID)),
                                                         "label": .null])]),
                ]) }),
            ]))
        }
        return .json(200, .object(["status": .string("COMPLETE"), "results": .array(results),
                                   "startedAt": .string(Self.iso(Timestamp.now())), "completedAt": .string(Self.iso(Timestamp.now()))]))
    }
}
