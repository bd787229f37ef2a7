import CallFeedCore
import Foundation
import HTTPClient
import Testing
import VendorSandbox

/// A fixed, small data set in the past: 2024-05-01 .. 2024-05-08 (UTC).
let mayFirst = Timestamp(year: 2024, month: 5, day: 1)!
let maySeventh = Timestamp(year: 2024, month: 5, day: 8)!

/// A configuration for tests: fixed range, small sizes, no CallRail retention check (the range is
/// in 2024).
func testConfiguration(seed: UInt64 = 7, accounts: Int = 2, callsPerAccount: Int = 23, oddRecords: Int = 0,
                       rateLimits: [SandboxVendor: SandboxRateLimit] = [:], callKeeperPageSize: Int = 1000) -> SandboxConfiguration {
    SandboxConfiguration(seed: seed, accounts: accounts, callsPerAccount: callsPerAccount, from: mayFirst, to: maySeventh,
                         oddRecords: oddRecords, rateLimits: rateLimits, callKeeperPageSize: callKeeperPageSize,
                         callRailRetentionDays: nil)
}

/// Runs `body` against a started sandbox on a free port, then stops it.
func withSandbox<T>(_ configuration: SandboxConfiguration = testConfiguration(), _ body: (VendorSandbox) throws -> T) throws -> T {
    let sandbox = VendorSandbox(configuration: configuration)
    try sandbox.start(host: "127.0.0.1", port: 0)
    defer { sandbox.stop() }
    return try body(sandbox)
}

/// A response with its body parsed as JSON (`.null` if it is not JSON).
struct JSONResponse {
    var status: Int
    var headers: [String: String]
    var text: String
    var json: JSONValue
}

/// GET (or another method) with headers; parses the body.
func fetch(_ url: String, method: String = "GET", headers: [(String, String)] = [], client: HTTPClient = HTTPClient()) throws -> JSONResponse {
    let response = try client.request(method, url, headers: headers)
    let json = (try? JSONValue.parse(response.body)) ?? .null
    return JSONResponse(status: response.status, headers: response.headers, text: response.bodyText, json: json)
}

extension JSONValue {
    /// Array elements (empty for non-arrays).
    var items: [JSONValue] { arrayValue ?? [] }
}

/// A URL's query parameters (first value each), percent-decoded.
func queryParameters(_ url: String) -> [String: String] {
    guard let components = URLComponents(string: url) else { return [:] }
    var out: [String: String] = [:]
    for item in components.queryItems ?? [] where out[item.name] == nil { out[item.name] = item.value ?? "" }
    return out
}
