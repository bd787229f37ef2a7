import CallFeedCore
import Foundation
import HTTPServer
import Synchronization

/// SalesRabbit's REST API as its clients use it (docs/research/salesrabbit.md), on its own loopback
/// port: `Authorization: Bearer <token>` (401 otherwise), `GET /leads`, `/users`, `/leadStatuses`
/// with `page` / `perPage` (1–2000, 400 beyond) answering `{"data": [...], "meta": {"morePages"}}`,
/// leads filtered by the `If-Modified-Since` header on `dateModified` (at or after it) and sorted by
/// `sortBy` (`dateCreated`, `dateModified` or `id`) in `order`.
///
/// Quirks for tests: every ``throttleEvery``-th request answers 429 with `Retry-After: 1`;
/// ``usersIgnorePage`` plays the reported `/users` that answers every page alike with
/// `morePages: true`; ``touchOnPage`` changes the oldest lead (a new `dateModified`, a new status)
/// just before that page of leads is served, as a rep in the field would mid-sync.
public final class SalesRabbitSandbox: @unchecked Sendable {
    public let apiToken = "salesrabbit-sandbox-api-token"
    public let throttleEvery: Int
    public let usersIgnorePage: Bool
    public let touchOnPage: Int?
    private let leads: Mutex<[JSONValue]>
    private let users: [JSONValue]
    private let statuses: [JSONValue]
    private let requests = Mutex<[(path: String, query: [String: String], ifModifiedSince: String?)]>([])
    private let server = OwnPortServer()

    public init(leads: [JSONValue], users: [JSONValue] = SalesRabbitSandbox.users(count: 5), throttleEvery: Int = 0,
                usersIgnorePage: Bool = false, touchOnPage: Int? = nil) {
        self.leads = Mutex(leads)
        self.users = users
        self.statuses = ["New", "Not Home", "Objection - Follow Up", "Appointment Set", "Sold"].enumerated().map { i, name in
            .object(["id": .int(Int64(i + 1)), "name": .string(name), "abbreviation": .string(String(name.prefix(2)).uppercased()),
                     "color": .string(String(format: "#%06x", (i + 1) * 0x2a3b4c & 0xFFFFFF))])
        }
        self.throttleEvery = throttleEvery
        self.usersIgnorePage = usersIgnorePage
        self.touchOnPage = touchOnPage
    }

    /// `count` leads created one hour apart up to `end`, each modified `i % 50` minutes after its
    /// creation; lead `oddIndex` (if any) has no id.
    public static func leads(count: Int, end: Timestamp = .now(), oddIndex: Int? = nil) -> [JSONValue] {
        let statuses = ["New", "Not Home", "Objection - Follow Up", "Appointment Set", "Sold"]
        return (0..<count).map { i in
            let created = end.adding(seconds: -Int64(count - i) * 3600)
            var lead: [String: JSONValue] = [
                "userId": .int(911_705_100 + Int64(i % 5)), "userName": .string("Rep \(i % 5)"),
                "firstName": .string("Lead"), "lastName": .string("\(i)"), "phonePrimary": .string(String(format: "303555%04d", i)),
                "email": .string("lead\(i)@example.com"), "street1": .string("\(3380 + i) S Dexter St"), "city": .string("Denver"),
                "state": .string("CO"), "zip": .string("80222"), "country": .string("USA"),
                "latitude": .double(39.655168 + Double(i) / 10_000), "longitude": .double(-104.932594),
                "status": .string(statuses[i % statuses.count]), "notes": .null, "customFields": .object([:]),
                "dateCreated": .string(format(created)), "statusModified": .string(format(created)),
                "dateModified": .string(format(created.adding(seconds: Int64(i % 50) * 60))),
            ]
            if i != oddIndex { lead["id"] = .int(13_688 + Int64(i)) }
            return .object(lead)
        }
    }

    public static func users(count: Int) -> [JSONValue] {
        (0..<count).map { i in
            .object(["id": .int(911_705_100 + Int64(i)), "firstName": .string("Rep"), "lastName": .string("\(i)"),
                     "fullName": .string("Rep \(i)"), "email": .string("rep\(i)@example.com"), "team": .string(i % 2 == 0 ? "North" : "South"),
                     "active": .bool(i != 3)])
        }
    }

    /// `2021-07-04T01:03:21+00:00`, SalesRabbit's form.
    static func format(_ t: Timestamp) -> String { String(t.rfc3339.prefix(19)) + "+00:00" }

    @discardableResult
    public func start() throws -> String {
        try server.start { [self] in handle($0) }
        return baseURL
    }

    public var baseURL: String { server.baseURL }
    public func stop() { server.stop() }
    public func append(_ more: [JSONValue]) { leads.withLock { $0 += more } }
    /// The requests answered (throttled ones included): path, query and `If-Modified-Since`.
    public var requestLog: [(path: String, query: [String: String], ifModifiedSince: String?)] { requests.withLock { $0 } }

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        guard request.header("authorization") == "Bearer " + apiToken else {
            return .json(401, #"{"message":"Unauthenticated."}"#)
        }
        let q = request.query
        let count: Int = requests.withLock { list in
            list.append((request.path, q, request.header("if-modified-since")))
            return list.count
        }
        if throttleEvery > 0, count % throttleEvery == 0 {
            return HTTPResponse(status: 429, headers: [("Retry-After", "1"), ("Content-Type", "application/json")],
                                body: Array(#"{"message":"Too Many Attempts."}"#.utf8))
        }
        guard request.method == "GET" else { return .json(405, #"{"message":"Method not allowed."}"#) }
        let page = Int(q["page"] ?? "1") ?? 0
        let perPage = Int(q["perPage"] ?? "100") ?? 0
        guard page >= 1, (1...2000).contains(perPage) else { return .json(400, #"{"message":"perPage must be between 1 and 2000"}"#) }
        var list: [JSONValue]
        switch request.path {
        case "/leads":
            if page == touchOnPage { touchOldest() }
            list = leads.withLock { $0 }
            if let header = request.header("if-modified-since") {
                guard let since = Timestamp.parseISO8601(header) else { return .json(400, #"{"message":"If-Modified-Since is not a date"}"#) }
                list = list.filter { lead in
                    (lead["dateModified"]?.text).flatMap { Timestamp.parseISO8601($0) }.map { $0 >= since } ?? true
                }
            }
            let field = q["sortBy"] ?? "id"
            guard ["id", "dateCreated", "dateModified"].contains(field) else { return .json(400, #"{"message":"invalid sortBy"}"#) }
            func key(_ lead: JSONValue) -> String {
                field == "id" ? String(format: "%012lld", lead["id"]?.integer ?? 0) : lead[field]?.text ?? ""
            }
            let descending = q["order"] == "desc"
            list = list.enumerated().sorted { a, b in
                let (x, y) = (key(a.element), key(b.element))
                return x == y ? a.offset < b.offset : (descending ? x > y : x < y)
            }.map(\.element)
        case "/users":
            if usersIgnorePage {
                return respond(users, more: true)
            }
            list = users
        case "/leadStatuses":
            list = statuses
        default:
            return .json(404, #"{"message":"Not found."}"#)
        }
        let start = min(list.count, (page - 1) * perPage)
        let end = min(list.count, start + perPage)
        return respond(Array(list[start..<end]), more: end < list.count)
    }

    private func respond(_ records: [JSONValue], more: Bool) -> HTTPResponse {
        let body = JSONValue.object(["data": .array(records), "meta": .object(["morePages": .bool(more)])])
        return HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: body.canonicalJSONBytes)
    }

    /// The oldest lead gets a new status, modified now.
    private func touchOldest() {
        leads.withLock { list in
            guard case .object(var lead)? = list.first else { return }
            lead["status"] = .string("Sold")
            lead["dateModified"] = .string(Self.format(.now()))
            list[0] = .object(lead)
        }
    }
}
