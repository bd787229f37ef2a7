import CallFeedCore
import Foundation
import HTTPServer
import Synchronization

/// LeadConduit's `GET /events` as documented (docs/research/leadconduit.md), on its own loopback
/// port: HTTP Basic with the API key as the password (401 `{"error":"authentication failed"}`),
/// a bare array of events, `sort` (default `desc`), `limit` (1–1000, default 100), `after_id` /
/// `before_id` (exclusive), `start` / `end` (inclusive creation times). Events have 24-hex ids that
/// grow with their creation time, as BSON ObjectIds do.
///
/// Quirks for tests: every ``throttleEvery``-th request answers 429 with `Retry-After: 1`
/// (LeadConduit documents no limit; this plays a gateway that has one).
public final class LeadConduitSandbox: @unchecked Sendable {
    public let apiKey = "leadconduit-sandbox-api-key"
    public let throttleEvery: Int
    private let events: Mutex<[JSONValue]>
    private let requests = Mutex<[String]>([])
    private let server = OwnPortServer()

    public init(events: [JSONValue], throttleEvery: Int = 0) {
        self.events = Mutex(events)
        self.throttleEvery = throttleEvery
    }

    /// `count` events, one per second ending at `end`: every third a `source` event with a lead,
    /// the others `recipient` steps of the same lead. Event `oddIndex` (if any) has no id.
    public static func events(count: Int, end: Timestamp = .now(), oddIndex: Int? = nil) -> [JSONValue] {
        (0..<count).map { i in
            let created = end.millisecondsSinceEpoch - Int64(count - i) * 1000
            let id = String(format: "%08llx", created / 1000) + String(format: "%016llx", UInt64(i) &* 0x9E37_79B9 & 0xFFFF_FFFF_FFFF)
            let lead = i / 3
            var event: [String: JSONValue] = [
                "type": .string(i % 3 == 0 ? "source" : "recipient"), "outcome": .string(i % 7 == 6 ? "failure" : "success"),
                "start_timestamp": .int(created - 250), "end_timestamp": .int(created), "ms": .int(250),
                "vars": .object(["lead": .object(["id": .string(String(format: "5f%022x", lead)), "email": .string("lead\(lead)@example.com"),
                                                  "phone_1": .string(String(format: "555555%04d", lead))]),
                                 "flow": .object(["name": .string("Home Improvement")])]),
            ]
            if i != oddIndex { event["id"] = .string(id) }
            return .object(event)
        }
    }

    @discardableResult
    public func start() throws -> String {
        try server.start { [self] in handle($0) }
        return baseURL
    }

    public var baseURL: String { server.baseURL }
    public func stop() { server.stop() }
    public func append(_ more: [JSONValue]) { events.withLock { $0 += more } }
    /// The query strings of the requests answered (throttled ones included).
    public var requestQueries: [[String: String]] { requests.withLock { $0.map(Self.parse) } }

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        let expected = "Basic " + Data("X:\(apiKey)".utf8).base64EncodedString()
        let given = request.header("authorization") ?? ""
        // Any user name: compare the password only.
        let password = given.hasPrefix("Basic ") ? Data(base64Encoded: String(given.dropFirst(6))).flatMap { String(data: $0, encoding: .utf8) }?
            .split(separator: ":", maxSplits: 1).last.map(String.init) : nil
        guard password == apiKey || given == expected else { return .json(401, #"{"error":"authentication failed"}"#) }
        guard request.method == "GET", request.path == "/events" else { return .json(404, #"{"error":"not found"}"#) }
        let q = request.query
        let count: Int = requests.withLock { list in
            list.append(q.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "&"))
            return list.count
        }
        if throttleEvery > 0, count % throttleEvery == 0 {
            return HTTPResponse(status: 429, headers: [("Retry-After", "1"), ("Content-Type", "application/json")], body: Array(#"{"error":"too many requests"}"#.utf8))
        }
        let limit = Int(q["limit"] ?? "100") ?? -1
        guard (1...1000).contains(limit) else { return .json(400, #"{"error":"limit must be between 1 and 1000"}"#) }
        let ascending = (q["sort"] ?? "desc") == "asc"
        let start = q["start"].flatMap { Timestamp.parseISO8601($0) }
        let end = q["end"].flatMap { Timestamp.parseISO8601($0) }
        var list = events.withLock { $0 }.filter { e in
            guard let created = e["end_timestamp"]?.integer else { return true }
            if let start, created < start.millisecondsSinceEpoch { return false }
            if let end, created > end.millisecondsSinceEpoch { return false }
            let id = e["id"]?.text ?? ""
            if let after = q["after_id"], !(id > after) { return false }
            if let before = q["before_id"], !(id < before) { return false }
            return true
        }
        // Ids order the events (an event without one sorts by its time, as if its id were made then).
        func key(_ e: JSONValue) -> String { e["id"]?.text ?? String(format: "%08llx", (e["end_timestamp"]?.integer ?? 0) / 1000) }
        list.sort { ascending ? key($0) < key($1) : key($0) > key($1) }
        return HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: JSONValue.array(Array(list.prefix(limit))).canonicalJSONBytes)
    }

    static func parse(_ text: String) -> [String: String] {
        Dictionary(text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }, uniquingKeysWith: { a, _ in a })
    }
}
