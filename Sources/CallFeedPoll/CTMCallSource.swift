import CallFeedCore
import CallFeedVendors
import Foundation
import HTTPClient

/// CallTrackingMetrics REST v1 (../shared/vendors/ctm.md): HTTP Basic auth (access key : secret),
/// `GET /api/v1/accounts/{id}/calls?start_date&end_date&page&per_page` (pages from 1, at most 150
/// per page, day-granular dates), envelope `calls` / `total_pages` / `next_page`.
/// The seed's old job used `Authorization: Token token="KEY:SECRET"` and an `/activities` path:
/// both are available as options, the documented API is the default.
public struct CTMCallSource: CallSource {
    public enum AuthScheme: String, Sendable { case basic, token }

    public let vendor = "ctm"
    public let name: String
    public let baseURL: String
    public let accessKey: String
    public let secretKey: String
    public let authScheme: AuthScheme
    /// `calls` (documented) or `activities` (the seed's path).
    public let callsPath: String
    /// Accounts to poll; empty = every account the key can see (`GET /api/v1/accounts`).
    public let accountIDs: [String]
    public let perPage: Int
    public let defaultCountry: String
    public let firstPage = 1
    public let granularity = Duration.seconds(86_400)
    public let resultCap: Int? = nil

    public init(name: String, baseURL: String = "https://api.calltrackingmetrics.com", accessKey: String, secretKey: String,
                authScheme: AuthScheme = .basic, callsPath: String = "calls", accountIDs: [String] = [], perPage: Int = 150,
                defaultCountry: String = "US") {
        self.name = name; self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.accessKey = accessKey; self.secretKey = secretKey; self.authScheme = authScheme; self.callsPath = callsPath
        self.accountIDs = accountIDs; self.perPage = min(perPage, 150); self.defaultCountry = defaultCountry
    }

    var authHeaders: [(String, String)] {
        switch authScheme {
        case .basic: return [("Authorization", "Basic " + Data("\(accessKey):\(secretKey)".utf8).base64EncodedString())]
        case .token: return [("Authorization", "Token token=\"\(accessKey):\(secretKey)\"")]
        }
    }

    public func accounts(client: VendorClient) throws(PollError) -> [String] {
        guard accountIDs.isEmpty else { return accountIDs }
        var ids: [String] = []
        var page = 1
        while true {
            let body = try getJSON("\(baseURL)/api/v1/accounts?page=\(page)&per_page=\(perPage)", client: client)
            let accounts = body["accounts"]?.arrayValue ?? []
            ids += accounts.compactMap { $0["id"]?.text }
            let totalPages = body["total_pages"]?.integer ?? 1
            if accounts.isEmpty || Int64(page) >= totalPages || body["next_page"]?.text == nil { break }
            page += 1
        }
        return ids
    }

    public func page(_ number: Int, account: String, from: Timestamp, to: Timestamp, client: VendorClient) throws(PollError) -> CallPage {
        // Dates are whole days: the last day is the one holding the last instant of [from, to).
        let end = Timestamp(millisecondsSinceEpoch: max(from.millisecondsSinceEpoch, to.millisecondsSinceEpoch - 1))
        let url = "\(baseURL)/api/v1/accounts/\(account)/\(callsPath)?start_date=\(Self.day(from))&end_date=\(Self.day(end))&page=\(number)&per_page=\(perPage)"
        let body = try getJSON(url, client: client)
        guard let calls = body["calls"]?.arrayValue else {
            throw PollError(.vendor, "CTM answered without a `calls` list: \(body.excerpt())")
        }
        let totalPages = body["total_pages"]?.integer
        let hasNext = body["next_page"]?.text != nil
        let isLast = !hasNext || totalPages.map { Int64(number) >= $0 } ?? false
        return CallPage(records: calls, isLast: isLast, totalRecords: body["total_entries"]?.integer.map(Int.init))
    }

    public func content(of record: JSONValue, account: String) throws(MappingError) -> CallContent {
        try CTMMapping.content(from: record, context: MappingContext(accountID: account, timeZone: "UTC", defaultCountry: defaultCountry))
    }

    func getJSON(_ url: String, client: VendorClient) throws(PollError) -> JSONValue {
        try VendorRequests.json(url, headers: authHeaders, client: client, vendor: "CTM",
                                credential: "sources.ctm[\(name)].poll.access_key/secret_key")
    }

    static func day(_ t: Timestamp) -> String {
        let c = t.utcComponents
        return String(format: "%04d-%02d-%02d", c.year, c.month, c.day)
    }
}
