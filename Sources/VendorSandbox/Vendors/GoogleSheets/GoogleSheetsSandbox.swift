import CallFeedCore
import Crypto
import Foundation
import HTTPServer
import Synchronization
import _CryptoExtras

/// Google's OAuth token endpoint and the Sheets API v4 reads CallFeed uses, as Google documents
/// them (docs/research/google-sheets.md), on their own loopback port:
///
/// - `POST /token` (form `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`):
///   the JWT must be RS256-signed by the sandbox's service-account key (``keyFileJSON``) with
///   `iss` = its `client_email`, `aud` = the token URI, a Sheets scope, and `exp - iat` ≤ 3600;
///   otherwise 400 `invalid_grant`. Answers a Bearer token valid for ``tokenLifetime`` seconds.
/// - `GET /v4/spreadsheets/{id}?fields=properties.timeZone`: the spreadsheet's time zone.
/// - `GET /v4/spreadsheets/{id}/values/{range}`: a `ValueRange` (`range`, `majorDimension`,
///   `values`) of the tab named in the A1 range (`Leads`, `'Marketing Spend'!A1:F`, `Leads!B3:F20`),
///   with Google's quirks: trailing empty cells of each row and trailing empty rows omitted (rows
///   are ragged), no `values` at all for an empty range, cells as stored (numbers, strings,
///   booleans: `UNFORMATTED_VALUE`; dates as serial numbers).
/// - Errors in Google's shape `{"error": {"code", "message", "status"}}`: 401 UNAUTHENTICATED
///   without a valid token, 404 NOT_FOUND for an unknown spreadsheet, 400 INVALID_ARGUMENT
///   "Unable to parse range" for an unknown tab.
///
/// Quirk for tests: every ``throttleEvery``-th API request answers 429 RESOURCE_EXHAUSTED (Google
/// sends no `Retry-After`: the client backs off on its own).
public final class GoogleSheetsSandbox: @unchecked Sendable {
    /// A spreadsheet: its time zone and its tabs' cells, row by row.
    public struct Spreadsheet: Sendable {
        public var timeZone: String
        public var tabs: [String: [[JSONValue]]]
        public init(timeZone: String, tabs: [String: [[JSONValue]]]) { self.timeZone = timeZone; self.tabs = tabs }
    }

    public let clientEmail = "callfeed-reader@callfeed-sandbox.iam.gserviceaccount.com"
    public let tokenLifetime: Int
    public let throttleEvery: Int
    private let key: _RSA.Signing.PrivateKey
    private let spreadsheets: Mutex<[String: Spreadsheet]>
    private let tokens = Mutex<Set<String>>([])
    private let counters = Mutex<(tokenRequests: Int, refusedAssertions: Int, apiRequests: Int)>((0, 0, 0))
    private let requests = Mutex<[(path: String, query: [String: String])]>([])
    private let server = OwnPortServer()

    /// - Parameters:
    ///   - spreadsheets: By spreadsheet id.
    ///   - tokenLifetime: `expires_in` of the tokens it issues (Google: 3599).
    public init(spreadsheets: [String: Spreadsheet], tokenLifetime: Int = 3599, throttleEvery: Int = 0) throws {
        self.spreadsheets = Mutex(spreadsheets)
        self.tokenLifetime = tokenLifetime
        self.throttleEvery = throttleEvery
        key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
    }

    @discardableResult
    public func start() throws -> String {
        try server.start { [self] in handle($0) }
        return baseURL
    }

    public var baseURL: String { server.baseURL }
    public var tokenURI: String { server.baseURL + "/token" }
    public func stop() { server.stop() }

    /// The service account's key file as Google writes it, with `token_uri` pointing here (call after ``start()``).
    public var keyFileJSON: [UInt8] {
        JSONValue.object([
            "type": .string("service_account"), "project_id": .string("callfeed-sandbox"), "private_key_id": .string("sandbox-key-1"),
            "private_key": .string(key.pkcs8PEMRepresentation), "client_email": .string(clientEmail), "client_id": .string("100000000000000000001"),
            "auth_uri": .string("https://accounts.google.com/o/oauth2/auth"), "token_uri": .string(tokenURI),
        ]).canonicalJSONBytes
    }

    /// Writes ``keyFileJSON`` to `path` (mode 0600, as a secret should be).
    public func writeKeyFile(to path: String) throws {
        try Data(keyFileJSON).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }

    /// Replaces one tab's cells (a sheet edited between runs).
    public func setTab(_ tab: String, of spreadsheetID: String, rows: [[JSONValue]]) {
        spreadsheets.withLock { $0[spreadsheetID]?.tabs[tab] = rows }
    }

    /// Makes every issued token invalid (a revoked or expired token).
    public func revokeTokens() { tokens.withLock { $0.removeAll() } }

    public var tokenRequests: Int { counters.withLock { $0.tokenRequests } }
    public var refusedAssertions: Int { counters.withLock { $0.refusedAssertions } }
    public var requestLog: [(path: String, query: [String: String])] { requests.withLock { $0 } }

    // MARK: Data

    /// A serial number (days since 1899-12-30, the fraction the time of day) of `instant` as wall
    /// time in `timeZone`, as Sheets stores a date-time.
    public static func serial(_ instant: Timestamp, timeZone: String) -> Double {
        let offset = TimeZone(identifier: timeZone)?.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant.secondsSinceEpoch))) ?? 0
        let wall = Double(instant.millisecondsSinceEpoch + Int64(offset) * 1000) / 86_400_000
        return wall + 25_569  // 1970-01-01 is serial 25569
    }

    /// The id of ``marketing(now:)``'s spreadsheet.
    public static let marketingSpreadsheetID = "1CallFeedSandboxMarketingSheet0000000000000"

    /// `callfeed dev --sandbox`'s spreadsheet (zone America/Denver): tab `Marketing Leads` (30 leads
    /// over the last 4 days, one without its Lead ID) and tab `Spend` (the last 7 days).
    public static func marketing(now: Timestamp) -> [String: Spreadsheet] {
        let zone = "America/Denver"
        return [marketingSpreadsheetID: Spreadsheet(timeZone: zone, tabs: [
            "Marketing Leads": marketingLeads(count: 30, first: now.adding(seconds: -4 * 86_400), timeZone: zone, missingIDIndex: 12),
            "Spend": marketingSpend(days: 7, firstDay: now.adding(seconds: -7 * 86_400)),
        ])]
    }

    /// The marketing-leads tab: a header, `count` leads created every 3 hours from `first`, ragged
    /// rows (a lead without a status has no last cell), one blank row after the fifth lead, and
    /// lead `missingIDIndex` (if any) without its Lead ID.
    public static func marketingLeads(count: Int, first: Timestamp, timeZone: String, missingIDIndex: Int? = nil) -> [[JSONValue]] {
        let campaigns = ["Spring Roofing", "Storm Response", "Gutter Guard"]
        var rows: [[JSONValue]] = [[.string("Lead ID"), .string("Created"), .string("First Name"), .string("Phone"), .string("Campaign"),
                                    .string("Cost ($)"), .string("Status")]]
        for i in 0..<count {
            var row: [JSONValue] = [i == missingIDIndex ? .string("") : .string("ML-\(1000 + i)"),
                                    .double(serial(first.adding(seconds: Int64(i) * 10_800), timeZone: timeZone)),
                                    .string("Lead \(i)"), .string(String(format: "+1303555%04d", i)), .string(campaigns[i % campaigns.count]),
                                    .double(Double(25 + i % 7) + 0.5)]
            if i % 4 != 3 { row.append(.string(i % 2 == 0 ? "New" : "Contacted")) }
            rows.append(row)
            if i == 4 { rows.append([]) }
        }
        return rows
    }

    /// The marketing-spend tab: one row per day from `firstDay` and channel, the Date column a
    /// whole serial number.
    public static func marketingSpend(days: Int, firstDay: Timestamp) -> [[JSONValue]] {
        var rows: [[JSONValue]] = [[.string("Date"), .string("Channel"), .string("Campaign"), .string("Spend"), .string("Clicks")]]
        for d in 0..<days {
            let day = Double(firstDay.secondsSinceEpoch / 86_400 + Int64(d)) + 25_569
            for (c, channel) in ["Google Ads", "Facebook"].enumerated() {
                rows.append([.double(day), .string(channel), .string("Spring Roofing"), .double(Double(100 + d * 3 + c * 40) + 0.25), .int(Int64(20 + d + c))])
            }
        }
        return rows
    }

    // MARK: Requests

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        if request.path == "/token" { return token(request) }
        let count: Int = requests.withLock { list in
            list.append((request.path, request.query))
            return list.count
        }
        let bearer = request.header("authorization").flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        guard let bearer, tokens.withLock({ $0.contains(bearer) }) else {
            return Self.error(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
                              "UNAUTHENTICATED")
        }
        if throttleEvery > 0, count % throttleEvery == 0 {
            return Self.error(429, "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of service 'sheets.googleapis.com'.",
                              "RESOURCE_EXHAUSTED")
        }
        guard request.method == "GET" else { return Self.error(405, "Method not allowed.", "INVALID_ARGUMENT") }
        let path = request.path.removingPercentEncoding ?? request.path
        guard path.hasPrefix("/v4/spreadsheets/") else { return Self.error(404, "Not found.", "NOT_FOUND") }
        let rest = path.dropFirst("/v4/spreadsheets/".count)
        let parts = rest.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard let sheet = spreadsheets.withLock({ $0[parts[0]] }) else { return Self.error(404, "Requested entity was not found.", "NOT_FOUND") }
        if parts.count == 1 {
            return .json(200, JSONValue.object(["properties": .object(["timeZone": .string(sheet.timeZone)])]).canonicalJSON)
        }
        guard parts.count == 3, parts[1] == "values" else { return Self.error(404, "Not found.", "NOT_FOUND") }
        return values(sheet, range: parts[2], majorDimension: request.query["majorDimension"] ?? "ROWS")
    }

    /// The cells of an A1 range, trimmed as Google trims them.
    private func values(_ sheet: Spreadsheet, range: String, majorDimension: String) -> HTTPResponse {
        guard let a1 = A1Range(range), let grid = sheet.tabs[a1.tab] else {
            return Self.error(400, "Unable to parse range: \(range)", "INVALID_ARGUMENT")
        }
        guard majorDimension == "ROWS" else { return Self.error(400, "The sandbox serves majorDimension=ROWS only.", "INVALID_ARGUMENT") }
        let lastRow = min(grid.count, a1.endRow ?? grid.count)
        var rows: [[JSONValue]] = []
        if a1.startRow <= lastRow {
            for row in grid[(a1.startRow - 1)..<lastRow] {
                let end = min(row.count, a1.endColumn ?? row.count)
                var cells = a1.startColumn <= end ? Array(row[(a1.startColumn - 1)..<end]) : []
                while let last = cells.last, last == .null || last == .string("") { cells.removeLast() }
                rows.append(cells)
            }
        }
        while rows.last?.isEmpty == true { rows.removeLast() }
        let width = rows.reduce(0) { max($0, $1.count) }
        let echoed = a1.quotedTab + "!" + A1Range.column(a1.startColumn) + String(a1.startRow) + ":"
            + A1Range.column(a1.endColumn ?? max(a1.startColumn, a1.startColumn + width - 1)) + String(a1.endRow ?? max(a1.startRow, lastRow))
        var body: [String: JSONValue] = ["range": .string(echoed), "majorDimension": .string("ROWS")]
        if !rows.isEmpty { body["values"] = .array(rows.map { .array($0) }) }
        return .json(200, JSONValue.object(body).canonicalJSON)
    }

    private func token(_ request: HTTPRequest) -> HTTPResponse {
        counters.withLock { $0.tokenRequests += 1 }
        let form = String(decoding: request.body, as: UTF8.self)
        let fields = Dictionary(form.split(separator: "&").map { pair -> (String, String) in
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            return (kv[0], (kv.count > 1 ? kv[1] : "").removingPercentEncoding ?? "")
        }, uniquingKeysWith: { first, _ in first })
        func refuse(_ why: String) -> HTTPResponse {
            counters.withLock { $0.refusedAssertions += 1 }
            return .json(400, JSONValue.object(["error": .string("invalid_grant"), "error_description": .string(why)]).canonicalJSON)
        }
        guard request.method == "POST", fields["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer" else {
            return .json(400, #"{"error":"unsupported_grant_type","error_description":"Invalid grant_type"}"#)
        }
        let parts = (fields["assertion"] ?? "").split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let signature = Self.base64URLDecode(parts[2]),
              key.publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature),
                                             for: Array((parts[0] + "." + parts[1]).utf8), padding: .insecurePKCS1v1_5) else {
            return refuse("Invalid JWT Signature.")
        }
        guard let header = Self.base64URLDecode(parts[0]).flatMap({ try? JSONValue.parse($0) }), header["alg"]?.text == "RS256",
              let claims = Self.base64URLDecode(parts[1]).flatMap({ try? JSONValue.parse($0) }) else {
            return refuse("Invalid JWT: header or claims are not JSON.")
        }
        guard claims["iss"]?.text == clientEmail else { return refuse("Invalid JWT: iss is not the account's client_email.") }
        guard claims["aud"]?.text == tokenURI else { return refuse("Invalid JWT: aud is not the token URI.") }
        let scopes = (claims["scope"]?.text ?? "").split(separator: " ")
        guard scopes.contains(where: { $0.hasPrefix("https://www.googleapis.com/auth/spreadsheets") || $0.hasPrefix("https://www.googleapis.com/auth/drive") }) else {
            return refuse("Invalid JWT: no Sheets scope.")
        }
        guard let iat = claims["iat"]?.integer, let exp = claims["exp"]?.integer, exp > iat, exp - iat <= 3600,
              abs(iat - Timestamp.now().secondsSinceEpoch) < 300 else {
            return refuse("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values.")
        }
        let token = "ya29.sandbox-" + UUID().uuidString
        tokens.withLock { _ = $0.insert(token) }
        return .json(200, JSONValue.object(["access_token": .string(token), "expires_in": .int(Int64(tokenLifetime)),
                                            "token_type": .string("Bearer")]).canonicalJSON)
    }

    static func error(_ code: Int, _ message: String, _ status: String) -> HTTPResponse {
        .json(code, JSONValue.object(["error": .object(["code": .int(Int64(code)), "message": .string(message), "status": .string(status)])]).canonicalJSON)
    }

    static func base64URLDecode(_ text: String) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        return Data(base64Encoded: base64).map { Array($0) }
    }
}

/// An A1-notation range: `Leads`, `Leads!A1:G`, `'Marketing Spend'!B3:F20` (1-based bounds;
/// nil end = to the last row or column with data).
struct A1Range {
    var tab: String
    var startColumn = 1
    var startRow = 1
    var endColumn: Int?
    var endRow: Int?

    init?(_ text: String) {
        var name = text
        var cells = ""
        if let bang = text.lastIndex(of: "!") {
            name = String(text[..<bang])
            cells = String(text[text.index(after: bang)...])
        }
        if name.hasPrefix("'"), name.hasSuffix("'"), name.count >= 2 {
            name = String(name.dropFirst().dropLast()).replacingOccurrences(of: "''", with: "'")
        }
        guard !name.isEmpty else { return nil }
        tab = name
        guard !cells.isEmpty else { return }
        let ends = cells.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard ends.count <= 2, let start = Self.cell(ends[0]) else { return nil }
        startColumn = start.column ?? 1
        startRow = start.row ?? 1
        if ends.count == 2 {
            guard let end = Self.cell(ends[1]) else { return nil }
            endColumn = end.column
            endRow = end.row
        }
    }

    var quotedTab: String {
        tab.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } ? tab : "'" + tab.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// `B3` → (2, 3), `F` → (6, nil), `7` → (nil, 7).
    static func cell(_ text: String) -> (column: Int?, row: Int?)? {
        let letters = text.prefix { $0.isLetter }
        let digits = text.dropFirst(letters.count)
        guard !text.isEmpty, digits.allSatisfy(\.isNumber) else { return nil }
        var column: Int?
        if !letters.isEmpty {
            column = letters.uppercased().unicodeScalars.reduce(0) { $0 * 26 + Int($1.value) - 64 }
        }
        let row = digits.isEmpty ? nil : Int(digits)
        if let row, row < 1 { return nil }
        return (column, row)
    }

    /// 1 → `A`, 27 → `AA`.
    static func column(_ n: Int) -> String {
        var n = n
        var out = ""
        while n > 0 {
            let r = (n - 1) % 26
            out = String(UnicodeScalar(UInt8(65 + r))) + out
            n = (n - 1) / 26
        }
        return out
    }
}
