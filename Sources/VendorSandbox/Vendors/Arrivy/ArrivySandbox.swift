import CallFeedCore
import Foundation
import HTTPServer
import Synchronization

/// Arrivy's REST API as its own pages document it (docs/research/arrivy.md), on its own loopback
/// port: `X-Auth-Key` + `X-Auth-Token` on every call (401 otherwise), bare JSON arrays,
/// `GET /tasks` with `from` / `to` on the scheduled `start_datetime` (inclusive, ISO 8601 whose
/// `+` must arrive percent-encoded: a bare `+` decodes to a space and is a 400), `page` /
/// `items_per_page` (default 500), and `unscheduled=true` for the tasks without a date (which a
/// window never returns); `GET /entities` (one list, no paging); `GET /groups` (paged, default 100).
///
/// Quirk for tests: every ``throttleEvery``-th request answers 429 with `Retry-After: 1`.
public final class ArrivySandbox: @unchecked Sendable {
    public let authKey = "arrivy-sandbox-auth-key"
    public let authToken = "arrivy-sandbox-auth-token"
    public let throttleEvery: Int
    private let tasks: Mutex<[JSONValue]>
    private let entities: [JSONValue]
    private let groups: [JSONValue]
    private let requests = Mutex<[(path: String, query: [String: String])]>([])
    private let server = OwnPortServer()

    public init(tasks: [JSONValue], entities: [JSONValue] = ArrivySandbox.entities(count: 4), groups: [JSONValue] = ArrivySandbox.groups(count: 3),
                throttleEvery: Int = 0) {
        self.tasks = Mutex(tasks)
        self.entities = entities
        self.groups = groups
        self.throttleEvery = throttleEvery
    }

    /// `count` tasks scheduled every 12 hours from `first`; every `unscheduledEvery`-th has no
    /// date (`unscheduled: true`); task `oddIndex` (if any) has no id.
    public static func tasks(count: Int, first: Timestamp, unscheduledEvery: Int = 0, oddIndex: Int? = nil) -> [JSONValue] {
        let types = ["NOTSTARTED", "ENROUTE", "STARTED", "COMPLETE", "CANCELLED"]
        return (0..<count).map { i in
            var task: [String: JSONValue] = [
                "title": .string("Roof inspection \(i)"), "customer_first_name": .string("Customer"), "customer_last_name": .string("\(i)"),
                "customer_phone": .string(String(format: "+1720555%04d", i)), "customer_address_line_1": .string("\(100 + i) Main St"),
                "customer_city": .string("Denver"), "external_id": .string("job-\(i)"), "entity_ids": .array([.int(5_348_024_557_502_464 + Int64(i % 4))]),
                "group_id": .int(6_000_000 + Int64(i % 3)), "status": .string(types[i % types.count]),
                "duration": .int(60), "extra_fields": .object(["source": .string("callfeed-sandbox")]),
            ]
            if unscheduledEvery > 0, i % unscheduledEvery == unscheduledEvery - 1 {
                task["unscheduled"] = .bool(true)
            } else {
                let start = first.adding(seconds: Int64(i) * 43_200)
                task["start_datetime"] = .string(String(start.rfc3339.prefix(19)) + "+00:00")
                task["end_datetime"] = .string(String(start.adding(seconds: 3600).rfc3339.prefix(19)) + "+00:00")
                task["unscheduled"] = .bool(false)
            }
            if i != oddIndex { task["id"] = .int(4_785_074_604_081_152 + Int64(i)) }
            return .object(task)
        }
    }

    public static func entities(count: Int) -> [JSONValue] {
        (0..<count).map { i in
            .object(["id": .int(5_348_024_557_502_464 + Int64(i)), "type": .string(i % 2 == 0 ? "Crew Lead" : "Installer"),
                     "owner": .int(5_629_499_534_213_120), "name": .string("Crew \(i)"), "email": .string("crew\(i)@example.com"),
                     "details": .string(""), "extra_fields": .null, "group_id": .int(6_000_000 + Int64(i % 3))])
        }
    }

    public static func groups(count: Int) -> [JSONValue] {
        (0..<count).map { i in
            .object(["id": .int(6_000_000 + Int64(i)), "name": .string(["Denver", "Boulder", "Aurora", "Lakewood"][i % 4]),
                     "owner": .int(5_629_499_534_213_120), "timezone": .string("America/Denver")])
        }
    }

    @discardableResult
    public func start() throws -> String {
        try server.start { [self] in handle($0) }
        return baseURL
    }

    /// `http://127.0.0.1:<port>/api`.
    public var baseURL: String { server.baseURL + "/api" }
    public func stop() { server.stop() }
    public func append(_ more: [JSONValue]) { tasks.withLock { $0 += more } }
    public var requestLog: [(path: String, query: [String: String])] { requests.withLock { $0 } }

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        guard request.header("x-auth-key") == authKey, request.header("x-auth-token") == authToken else {
            return .json(401, #"{"message":"NOT_AUTHORIZED","description":"Invalid X-Auth-Key or X-Auth-Token"}"#)
        }
        let q = request.query
        let count: Int = requests.withLock { list in
            list.append((request.path, q))
            return list.count
        }
        if throttleEvery > 0, count % throttleEvery == 0 {
            return HTTPResponse(status: 429, headers: [("Retry-After", "1"), ("Content-Type", "application/json")],
                                body: Array(#"{"message":"RATE_LIMIT_EXCEEDED"}"#.utf8))
        }
        guard request.method == "GET" else { return .json(405, #"{"message":"METHOD_NOT_ALLOWED"}"#) }
        let page = Int(q["page"] ?? "1") ?? 0
        switch request.path {
        case "/api/tasks":
            guard page >= 1, let perPage = Int(q["items_per_page"] ?? "500"), perPage >= 1 else { return .json(400, #"{"message":"INVALID_INPUT"}"#) }
            var list = tasks.withLock { $0 }
            if q["unscheduled"] == "true" {
                list = list.filter { $0["unscheduled"]?.boolean == true }
            } else {
                var bounds: [Timestamp?] = []
                for name in ["from", "to"] {
                    guard let text = q[name] else { bounds.append(nil); continue }
                    guard let t = Timestamp.parseISO8601(text) else { return .json(400, #"{"message":"INVALID_DATETIME"}"#) }
                    bounds.append(t)
                }
                list = list.filter { task in
                    guard task["unscheduled"]?.boolean != true, let start = (task["start_datetime"]?.text).flatMap({ Timestamp.parseISO8601($0) }) else { return false }
                    if let from = bounds[0], start < from { return false }
                    if let to = bounds[1], start > to { return false }
                    return true
                }
            }
            return slice(list, page: page, perPage: perPage)
        case "/api/entities":
            return HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: JSONValue.array(entities).canonicalJSONBytes)
        case "/api/groups":
            guard page >= 1, let perPage = Int(q["items_per_page"] ?? "100"), perPage >= 1 else { return .json(400, #"{"message":"INVALID_INPUT"}"#) }
            return slice(groups, page: page, perPage: perPage)
        default:
            return .json(404, #"{"message":"NOT_FOUND"}"#)
        }
    }

    private func slice(_ list: [JSONValue], page: Int, perPage: Int) -> HTTPResponse {
        let start = min(list.count, (page - 1) * perPage)
        let end = min(list.count, start + perPage)
        return HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: JSONValue.array(Array(list[start..<end])).canonicalJSONBytes)
    }
}
