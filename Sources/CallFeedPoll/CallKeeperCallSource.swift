import CallFeedCore
import CallFeedVendors
import Foundation
import HTTPClient

/// CallKeeper call export v3 (../shared/vendors/callkeeper.md §1-5):
/// `GET {base}/api/index.php?json/v3/{apikey}/call/{method}/{page}/{from}/{to}` — the API key is a
/// path segment inside the query string (never logged: the HTTP client drops query strings from its
/// errors), pages from 0, `from`/`to` as Unix seconds, a bare JSON array per page. The end is an
/// error envelope: `No rows found` (empty range) and `Incorrect page is set` (past the last page)
/// mean "no more calls"; `User is not recognized` is a credential failure; the other documented
/// errors are configuration errors.
public struct CallKeeperCallSource: CallSource {
    public enum Method: String, Sendable, CaseIterable { case get, getByRole, getWithRole }

    public let vendor = "callkeeper"
    public let name: String
    public let baseURL: String
    public let apiKey: String
    public let method: Method
    public let accountID: String
    public let timeZone: String
    public let defaultCountry: String
    public let firstPage = 0
    public let granularity = Duration.seconds(1)
    public let resultCap: Int? = nil

    public init(name: String, baseURL: String = "https://ckct.ru", apiKey: String, method: Method = .get, accountID: String,
                timeZone: String = "UTC", defaultCountry: String = "RU") {
        self.name = name; self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey; self.method = method; self.accountID = accountID
        self.timeZone = timeZone; self.defaultCountry = defaultCountry
    }

    public func accounts(client: VendorClient) throws(PollError) -> [String] { [accountID] }

    public func page(_ number: Int, account: String, from: Timestamp, to: Timestamp, client: VendorClient) throws(PollError) -> CallPage {
        let url = "\(baseURL)/api/index.php?json/v3/\(apiKey)/call/\(method.rawValue)/\(number)/\(from.secondsSinceEpoch)/\(max(from.secondsSinceEpoch, to.secondsSinceEpoch - 1))"
        let response: HTTPClientResponse
        do {
            response = try client.get(url)
        } catch {
            throw PollError(error, credential: "sources.callkeeper[\(name)].poll.api_key")
        }
        let body: JSONValue
        do { body = try JSONValue.parse(response.body) } catch { throw PollError(.vendor, "CallKeeper answered with \(error)") }
        if let records = body.arrayValue {
            return CallPage(records: records, isLast: records.isEmpty)
        }
        guard let message = body[path: "inbound", "error"]?.text else {
            throw PollError(.vendor, "CallKeeper answered neither a call list nor an error envelope")
        }
        switch message {
        case "No rows found", "Incorrect page is set":
            return CallPage(records: [], isLast: true)
        case "User is not recognized":
            throw PollError(.credentials, "CallKeeper does not recognise the API key: check sources.callkeeper[\(name)].poll.api_key"
                + (method == .getByRole ? " (getByRole needs a role key)" : ""))
        default:
            throw PollError(.configuration, "CallKeeper refused the request (\(message)): check sources.callkeeper[\(name)].poll.method and the dates")
        }
    }

    public func content(of record: JSONValue, account: String) throws(MappingError) -> CallContent {
        try CallKeeperMapping.content(from: record, context: MappingContext(accountID: account, timeZone: timeZone, defaultCountry: defaultCountry))
    }
}
