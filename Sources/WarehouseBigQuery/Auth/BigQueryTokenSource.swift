import CallFeedCore
import GoogleAuth
import HTTPClient
import Warehouse

/// The `Authorization` header of every BigQuery request, from a ``BigQueryAuth``.
///
/// For a service-account key it runs the OAuth JWT-bearer exchange and keeps the access token
/// until one minute before it expires, so a busy loader asks for a new token about once an hour.
///
/// - Important: Not thread-safe: the sink's one thread uses it, with the sink's `HTTPClient`.
final class BigQueryTokenSource {
    /// How long before its expiry a cached token is replaced.
    static let refreshMargin: Int64 = 60_000

    private let auth: BigQueryAuth
    private let account: GoogleServiceAccount?
    private var cached: (token: String, expiresAt: Timestamp)?

    /// Reads the credentials (no network).
    /// - Throws: ``WarehouseError`` if a service-account key cannot be used.
    init(auth: BigQueryAuth) throws(WarehouseError) {
        self.auth = auth
        if case .serviceAccountKey(let bytes) = auth {
            do throws(GoogleAuthError) {
                account = try GoogleServiceAccount(keyJSON: bytes, settingName: auth.settingName)
            } catch {
                throw .bigQueryFailure(error.reason)
            }
        } else {
            account = nil
        }
    }

    /// Whether a refused request is worth repeating once with a new token (only minted tokens can be renewed).
    var canRenew: Bool { account != nil }

    /// Forgets the cached token, e.g. after BigQuery answered 401 to it.
    func invalidate() { cached = nil }

    /// The header value (`Bearer …`), or `nil` for ``BigQueryAuth/none``.
    /// - Parameters:
    ///   - http: The client for the token request.
    ///   - now: The current time.
    /// - Throws: ``WarehouseError``: transient when the token endpoint could not answer, not transient
    ///   when it refused the credentials (the reason names ``BigQueryAuth/settingName``).
    func authorization(using http: HTTPClient, now: Timestamp = .now()) throws(WarehouseError) -> String? {
        switch auth {
        case .none: return nil
        case .token(let token): return "Bearer " + token
        case .serviceAccountKey: break
        }
        guard let account else { return nil }
        if let cached, now.millisecondsSinceEpoch < cached.expiresAt.millisecondsSinceEpoch - Self.refreshMargin {
            return "Bearer " + cached.token
        }
        let fresh = try exchange(account: account, http: http, now: now)
        cached = fresh
        return "Bearer " + fresh.token
    }

    /// Trades a freshly signed JWT for an access token at the account's `token_uri`.
    private func exchange(account: GoogleServiceAccount, http: HTTPClient,
                          now: Timestamp) throws(WarehouseError) -> (token: String, expiresAt: Timestamp) {
        let assertion: String
        do throws(GoogleAuthError) {
            assertion = try account.assertion(issuedAt: now, scope: GoogleServiceAccount.bigQueryScope)
        } catch {
            throw .bigQueryFailure(error.reason)
        }
        let action = "the OAuth token request for \(account.clientEmail) (\(auth.settingName))"
        let response: HTTPClientResponse
        do {
            response = try http.request("POST", account.tokenURI,
                                        headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                        body: GoogleServiceAccount.tokenRequestBody(assertion: assertion))
        } catch {
            throw WarehouseError.bigQueryTransport(error, action: action)
        }
        guard (200..<300).contains(response.status) else {
            let words = GoogleServiceAccount.oauthError(from: response.body)
            let isTransient = response.status >= 500 || response.status == 429
            throw WarehouseError(code: Int32(response.status),
                                 reason: "BigQuery: \(action) failed: HTTP \(response.status) \(words)"
                                     + (isTransient ? "" : " — check the key in \(auth.settingName)"),
                                 isTransient: isTransient)
        }
        guard let fresh = GoogleServiceAccount.accessToken(from: response.body, now: now) else {
            throw .bigQueryFailure("\(action) answered without an access_token")
        }
        return fresh
    }
}

@available(*, unavailable, message: "one sink thread owns the token source")
extension BigQueryTokenSource: Sendable {}
