import CallFeedCore
import CallFeedVendors
import Foundation
import GoogleAuth
import HTTPClient
import Synchronization

/// One configured range of a Google spreadsheet (seed 001: marketing leads and spend) read through
/// the Sheets API v4 `spreadsheets.values.get`
/// (`GET /v4/spreadsheets/{id}/values/{range}`, docs/research/google-sheets.md) as entity
/// records of `google_sheets_<entity>`.
///
/// - **Full refresh**: a sheet has no modified-since query, so every run reads the whole range
///   in one request (the API has no paging; Google omits trailing empty rows and cells). The
///   loader leaves unchanged rows as they are.
/// - `valueRenderOption=UNFORMATTED_VALUE&dateTimeRenderOption=SERIAL_NUMBER`: numbers arrive as
///   numbers, not as the sheet's formatted text (`$1,200.00`), and dates as serial numbers that
///   ``GoogleSheetsMapping`` turns into dates, reading times in the spreadsheet's own time zone
///   (asked once per run with `fields=properties.timeZone` unless configured).
/// - Rows become records by ``GoogleSheetsMapping``: header row → column names, key columns →
///   id; a row without its key goes to the dead-letter topic and the rest of the sheet loads.
/// - Auth: a service account's OAuth token (``GoogleAccessTokens``), scope
///   `spreadsheets.readonly`. The sheet must be shared with the account's `client_email`.
public struct GoogleSheetsStream: EntityStream {
    public static let vendor = "google_sheets"

    public let name: String
    public let entity: String
    public let spreadsheetID: String
    public let range: String
    public let baseURL: String
    /// IANA zone for times; nil: the spreadsheet's own (`properties.timeZone`).
    public let timeZone: String?
    public let mapping: GoogleSheetsMapping
    public let tokens: GoogleAccessTokens

    public var vendor: String { Self.vendor }
    public var perAccount: Bool { false }

    public init(name: String, entity: String, spreadsheetID: String, range: String, baseURL: String = "https://sheets.googleapis.com",
                timeZone: String? = nil, mapping: GoogleSheetsMapping, tokens: GoogleAccessTokens) {
        self.name = name
        self.entity = entity
        self.spreadsheetID = spreadsheetID
        self.range = range
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.timeZone = timeZone
        self.mapping = mapping
        self.tokens = tokens
    }

    /// The cursor is `zone` (ask the spreadsheet's time zone first) or `values <zone>`.
    public func firstPage(account: String?, since: Timestamp?, until: Timestamp) -> PageRequest {
        if let timeZone { return .cursor("values " + timeZone) }
        return mapping.dateColumns.isEmpty ? .cursor("values UTC") : .cursor("zone")
    }

    public func page(_ request: PageRequest, account: String?, since: Timestamp?, until: Timestamp, client: VendorClient) throws(PollError) -> EntityPage {
        guard case .cursor(let cursor) = request else { throw PollError(.state, "Google Sheets pages are cursors, not \(request)") }
        let spreadsheet = baseURL + "/v4/spreadsheets/" + VendorRequests.encode(spreadsheetID)
        if cursor == "zone" {
            let body = try get(spreadsheet + "?fields=properties.timeZone", client: client)
            guard let zone = body["properties"]?["timeZone"]?.text, TimeZone(identifier: zone) != nil else {
                throw PollError(.vendor, "Google Sheets: spreadsheet \(spreadsheetID) answered without a known properties.timeZone: \(body.excerpt())")
            }
            return EntityPage(records: [], next: .cursor("values " + zone))
        }
        guard cursor.hasPrefix("values ") else { throw PollError(.state, "Google Sheets has no page \(cursor)") }
        let zone = String(cursor.dropFirst(7))
        let url = spreadsheet + "/values/" + VendorRequests.encode(range) + "?"
            + VendorRequests.query([("majorDimension", "ROWS"), ("valueRenderOption", "UNFORMATTED_VALUE"), ("dateTimeRenderOption", "SERIAL_NUMBER")])
        let body = try get(url, client: client)
        guard body.objectValue != nil else { throw PollError(.vendor, "Google Sheets answered without a ValueRange: \(body.excerpt())") }
        // An empty range has no `values` at all.
        let rows = body["values"]?.arrayValue ?? []
        return EntityPage(records: mapping.records(values: rows, range: body["range"]?.text ?? range, timeZone: zone), next: nil)
    }

    public func object(from record: JSONValue, account: String?) throws(MappingError) -> EntityObject {
        let entity = try mapping.entity(from: record)
        return EntityObject(id: entity.id, data: entity.data, sourceUpdatedAt: entity.updatedAt)
    }

    /// Where a refusal sends the operator.
    var credential: String { "sources.google_sheets[\(name)].poll.credentials_file (and that the sheet is shared with the account's client_email)" }

    /// A GET with the bearer token; a 401 renews the token once (it may have been revoked early).
    private func get(_ url: String, client: VendorClient) throws(PollError) -> JSONValue {
        var renewed = false
        while true {
            let authorization = try tokens.authorization(client: client, credential: credential)
            let response: HTTPClientResponse
            do {
                response = try client.send("GET", url, headers: [("Authorization", authorization), ("Accept", "application/json")])
            } catch {
                if case .unauthorized(401, _) = error, !renewed {
                    tokens.invalidate()
                    renewed = true
                    continue
                }
                throw PollError(Self.explained(error), credential: credential)
            }
            do { return try JSONValue.parse(response.body) } catch { throw PollError(.vendor, "Google Sheets answered with \(error)") }
        }
    }

    /// Google's error body (`{"error": {"code", "message", "status"}}`) says what is wrong with the
    /// range or the spreadsheet; keep its words.
    static func explained(_ error: VendorHTTPError) -> VendorHTTPError {
        guard case .rejected(let status, let body) = error, let json = try? JSONValue.parse(Array(body.utf8)),
              let message = json["error"]?["message"]?.text else { return error }
        let state = json["error"]?["status"]?.text.map { " (\($0))" } ?? ""
        return .rejected(status: status, body: message + state)
    }
}

/// A service account's OAuth access token, shared by the streams of one Google Sheets source and
/// kept until a minute before it expires (a token lives an hour).
///
/// The token request goes through the source's ``VendorClient`` (its rate limit and retries
/// apply; 5xx and 429 are retried). The key file is read when the first token is needed, so a
/// missing file is a clear poll error naming the setting, not a crash at start.
public final class GoogleAccessTokens: Sendable {
    static let refreshMargin: Int64 = 60_000

    private let keyFile: String
    private let scope: String
    /// A token minted elsewhere (``init(accessToken:)``): used as is, never renewed.
    private let fixedToken: String?
    private let state = Mutex<(account: GoogleServiceAccount?, token: String?, expiresAt: Timestamp)>((nil, nil, Timestamp(millisecondsSinceEpoch: 0)))

    /// - Parameters:
    ///   - keyFile: Path of the service account's JSON key.
    ///   - scope: The OAuth scope asked for.
    public init(keyFile: String, scope: String = GoogleServiceAccount.sheetsReadOnlyScope) {
        self.keyFile = keyFile
        self.scope = scope
        self.fixedToken = nil
    }

    /// A token minted elsewhere (`gcloud auth print-access-token`, a metadata server), used as is
    /// and never renewed: for one-off reads and the fuzzer, not for a service that runs for hours.
    public init(accessToken: String) {
        self.keyFile = ""
        self.scope = ""
        self.fixedToken = accessToken
    }

    /// Forgets the cached token (after the API refused it).
    public func invalidate() { state.withLock { $0.token = nil } }

    /// `Bearer <token>`, minting a token when none is cached or it is about to expire.
    /// - Throws: ``PollError``: `.credentials` when the key cannot be read or Google refuses it,
    ///   `.vendor` when the token endpoint cannot answer.
    public func authorization(client: VendorClient, credential: String, now: Timestamp = .now()) throws(PollError) -> String {
        if let fixedToken { return "Bearer " + fixedToken }
        let cached = state.withLock { s -> String? in
            guard let token = s.token, now.millisecondsSinceEpoch < s.expiresAt.millisecondsSinceEpoch - Self.refreshMargin else { return nil }
            return token
        }
        if let cached { return "Bearer " + cached }
        let account = try loadAccount(credential: credential)
        let assertion: String
        do throws(GoogleAuthError) {
            assertion = try account.assertion(issuedAt: now, scope: scope)
        } catch {
            throw PollError(.credentials, error.reason)
        }
        let response: HTTPClientResponse
        do {
            response = try client.send("POST", account.tokenURI, body: GoogleServiceAccount.tokenRequestBody(assertion: assertion),
                                       headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                       acceptStatus: { $0 < 500 && $0 != 429 })
        } catch {
            throw PollError(.vendor, "the OAuth token request for \(account.clientEmail) failed: \(error)")
        }
        guard (200..<300).contains(response.status), let fresh = GoogleServiceAccount.accessToken(from: response.body, now: now) else {
            let words = GoogleServiceAccount.oauthError(from: response.body)
            throw PollError(.credentials, "Google refused the token request for \(account.clientEmail) (HTTP \(response.status) \(words)): check \(credential)")
        }
        state.withLock { $0.token = fresh.token; $0.expiresAt = fresh.expiresAt }
        return "Bearer " + fresh.token
    }

    private func loadAccount(credential: String) throws(PollError) -> GoogleServiceAccount {
        if let account = state.withLock({ $0.account }) { return account }
        guard let bytes = FileManager.default.contents(atPath: keyFile) else {
            throw PollError(.credentials, "cannot read the service-account key file \(keyFile): check \(credential)")
        }
        do throws(GoogleAuthError) {
            let account = try GoogleServiceAccount(keyJSON: Array(bytes), settingName: keyFile)
            state.withLock { $0.account = account }
            return account
        } catch {
            throw PollError(.credentials, error.reason)
        }
    }
}
