import Foundation

/// A request as the server hands it to a handler: the body complete and within the size cap.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path without the query string, e.g. `/webhooks/ctm`.
    public var path: String
    /// Query arguments (`?token=...`), first value per name.
    public var query: [String: String]
    /// Header names in lower case.
    public var headers: [String: String]
    /// The body exactly as received.
    public var body: [UInt8]

    public init(method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:], body: [UInt8] = []) {
        self.method = method; self.path = path; self.query = query; self.headers = headers; self.body = body
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status; self.headers = headers; self.body = body
    }

    /// A JSON body (`{"error":"..."}` style answers and 202 receipts).
    public static func json(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: Array(text.utf8))
    }

    public static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", contentType)], body: Array(text.utf8))
    }

    /// `{"error": reason}` with the reason JSON-escaped.
    public static func error(_ status: Int, _ reason: String) -> HTTPResponse {
        let body = (try? JSONEncoder().encode(["error": reason])) ?? Data(#"{"error":"unprintable reason"}"#.utf8)
        return HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: Array(body))
    }
}


/// Answers one request exactly once, from any thread (e.g. a Kafka delivery report).
/// Later calls are ignored, so a deadline and a late delivery report cannot both answer.
public protocol HTTPResponder: Sendable {
    func respond(_ response: HTTPResponse)
}

/// What the server calls for every complete request. It must eventually call
/// `responder.respond` (the server answers 503 itself if it has not by the response deadline).
public typealias HTTPHandler = @Sendable (HTTPRequest, any HTTPResponder) -> Void
