import CallFeedCore
import Foundation
import HTTPServer

/// One vendor's REST API as the sandbox plays it: who may call, what each path answers, the
/// vendor's error bodies, and its record and webhook shapes.
///
/// Implementations are stateless values; the data they serve arrives in a ``VendorContext``
/// snapshot, so they run on the server's thread without locks.
protocol VendorAPI: Sendable {
    var vendor: SandboxVendor { get }

    /// Checks the request's credentials.
    /// - Returns: The accounts they unlock, or the vendor's refusal (401/403 and its body).
    func authenticate(_ request: APIRequest, context: VendorContext) -> Result<VendorAccess, RefusedRequest>

    /// Answers an authenticated request that the rate limit admitted.
    func respond(to request: APIRequest, access: VendorAccess, context: VendorContext) -> HTTPResponse

    /// The vendor's 429, with `Retry-After` when `retryAfterSeconds` is set.
    func tooManyRequests(retryAfterSeconds: Int?) -> HTTPResponse

    /// Headers every response carries (JustCall's `X-Rate-Limit-*`); empty for most vendors.
    func rateLimitHeaders(_ state: [RateWindowState]) -> [(String, String)]

    /// A per-operation budget counted on top of the vendor's (HubSpot's search 4/s, Five9's
    /// runReport 16/min): the operation's name and its limit, or nil when the request has none.
    /// A refusal is answered with ``tooManyRequests(retryAfterSeconds:)``. Implementations look up
    /// ``SandboxConfiguration/operationRateLimits`` (`<vendor>/<operation>`) before their default.
    func operationLimit(for request: APIRequest, configuration: SandboxConfiguration) -> (operation: String, limit: SandboxRateLimit)?

    /// Writes generated facts as the vendor's call record.
    /// - Returns: The vendor's call id and the record.
    func makeRecord(_ facts: CallFacts, account: SandboxAccount, oddity: SandboxOddity?,
                    configuration: SandboxConfiguration) -> (id: String, record: JSONValue)

    /// Applies a test's change to a record, in the vendor's field names.
    func apply(_ change: SandboxCallChange, to record: JSONValue) -> JSONValue

    /// The webhook the vendor would POST for `call` to `url`: body bytes and headers.
    func webhook(for call: SandboxCall, account: SandboxAccount, url: String,
                 configuration: SandboxConfiguration, now: Timestamp) -> WebhookDelivery
}

extension VendorAPI {
    func rateLimitHeaders(_ state: [RateWindowState]) -> [(String, String)] { [] }
    func operationLimit(for request: APIRequest, configuration: SandboxConfiguration) -> (operation: String, limit: SandboxRateLimit)? { nil }

    /// A 5xx as the gateway in front of the vendor would answer it (an nginx-style HTML page; a
    /// poller must not expect JSON on these).
    func serverError(status: Int) -> HTTPResponse {
        let reason = switch status {
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Temporarily Unavailable"
        case 504: "Gateway Time-out"
        default: "Error"
        }
        let page = "<html>\r\n<head><title>\(status) \(reason)</title></head>\r\n<body>\r\n<center><h1>\(status) \(reason)</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        return .text(status, page, contentType: "text/html")
    }
}

/// The accounts a request's credentials unlock (ids in the vendor's URL form).
struct VendorAccess: Sendable {
    var accountIDs: [String]
}

/// A refusal with the vendor's status and body.
struct RefusedRequest: Error, Sendable {
    var response: HTTPResponse
}

/// A webhook ready to send.
struct WebhookDelivery: Sendable {
    var headers: [(String, String)]
    var body: [UInt8]
}

/// The data a vendor API answers from: one consistent snapshot per request.
struct VendorContext: Sendable {
    let configuration: SandboxConfiguration
    let dataset: VendorDataset
    let now: Timestamp
}

/// A request with the vendor's prefix taken off the path.
struct APIRequest: Sendable {
    let http: HTTPRequest
    let vendor: SandboxVendor
    /// The path after the vendor prefix (`/api/v1/accounts`).
    let path: String
    /// `http://host:port/ctm`: where the vendor's URLs (`next_page`) point.
    let baseURL: String

    var method: String { http.method }
    var query: [String: String] { http.query }
    func header(_ name: String) -> String? { http.header(name) }

    /// An absolute URL on this vendor: `baseURL + path + ?query`.
    func url(_ path: String, _ parameters: [(String, String)]) -> String {
        parameters.isEmpty ? baseURL + path : baseURL + path + "?" + QueryString.make(parameters)
    }

    /// An integer query parameter: nil when absent, `.failure` when present but not an integer.
    func integer(_ name: String) -> Result<Int, ParameterError>? {
        guard let text = query[name] else { return nil }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else { return .failure(ParameterError(name: name, text: text)) }
        return .success(value)
    }
}

/// A query parameter that is not what the vendor accepts.
struct ParameterError: Error, Sendable {
    var name: String
    var text: String
}

extension HTTPResponse {
    /// A JSON response written with sorted keys.
    static func json(_ status: Int, _ value: JSONValue, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json; charset=utf-8")] + headers,
                     body: JSONWriter.bytes(value))
    }
}
