import CallFeedCore
import Foundation
import HTTPClient

/// What every REST source does with a request: build the query string, send it with the
/// source's auth through the rate-limited, retrying ``VendorClient``, name the credential to check
/// when the vendor refuses it, and parse the JSON answer.
enum VendorRequests {
    /// RFC 3986 unreserved characters: everything else in a query is percent-encoded.
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// `2024-05-01 00:00:00` → `2024-05-01%2000%3A00%3A00`.
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// `a=1&b=x%20y`.
    static func query(_ parameters: [(String, String)]) -> String {
        parameters.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }

    /// Sends one request and parses its JSON answer.
    /// - Parameters:
    ///   - vendor: The vendor's name in messages (`CTM`).
    ///   - credential: The config keys named when the vendor refuses the credentials (401/403).
    /// - Throws: ``PollError``: `.credentials` on 401/403, `.vendor` for other refusals, exhausted
    ///   retries and answers that are not JSON.
    static func json(_ url: String, method: String = "GET", body: [UInt8]? = nil, headers: [(String, String)], client: VendorClient,
                     vendor: String, credential: String) throws(PollError) -> JSONValue {
        let response: HTTPClientResponse
        do {
            response = try client.send(method, url, body: body, headers: headers)
        } catch {
            throw PollError(error, credential: credential)
        }
        do { return try JSONValue.parse(response.body) } catch { throw PollError(.vendor, "\(vendor) answered with \(error)") }
    }
}
