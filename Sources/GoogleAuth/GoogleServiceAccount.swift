import CallFeedCore
import Crypto
import Foundation
import _CryptoExtras

/// Why a service-account key or a token answer cannot be used. The text never contains the key.
public struct GoogleAuthError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// A Google service account read from its key file, able to sign the JWT that Google's OAuth
/// endpoint trades for an access token (the "two-legged" server-to-server flow:
/// https://developers.google.com/identity/protocols/oauth2/service-account#httprest). Used by the
/// BigQuery sink and the Google Sheets poller.
///
/// ```swift
/// let account = try GoogleServiceAccount(keyJSON: bytes)
/// let jwt = try account.assertion(issuedAt: .now(), scope: GoogleServiceAccount.sheetsReadOnlyScope)
/// // POST GoogleServiceAccount.tokenRequestBody(assertion: jwt) to account.tokenURI
/// ```
public struct GoogleServiceAccount: Sendable {
    /// Read and write BigQuery (the sink).
    public static let bigQueryScope = "https://www.googleapis.com/auth/bigquery"
    /// Read spreadsheets (the Sheets poller).
    public static let sheetsReadOnlyScope = "https://www.googleapis.com/auth/spreadsheets.readonly"
    /// The `grant_type` of the token request.
    public static let grantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"

    /// `client_email`: the account, the JWT's `iss`.
    public let clientEmail: String
    /// `private_key_id`: the JWT header's `kid`, so Google picks the right public key.
    public let privateKeyID: String?
    /// `token_uri`: where the JWT is traded for a token, and the JWT's `aud`.
    public let tokenURI: String
    /// `project_id`, if the file has one.
    public let projectID: String?
    private let privateKey: _RSA.Signing.PrivateKey

    /// Reads a service-account key file.
    /// - Parameters:
    ///   - keyJSON: The file's bytes.
    ///   - settingName: The configuration key the bytes came from, named in errors.
    /// - Throws: ``GoogleAuthError`` when the file is not a service-account key or its
    ///   `private_key` is not an RSA key in PEM form. The message never contains the key.
    public init(keyJSON: [UInt8], settingName: String = "the service-account key") throws(GoogleAuthError) {
        func refuse(_ why: String) -> GoogleAuthError {
            GoogleAuthError("the service-account key from \(settingName) cannot be used: \(why)")
        }
        let json: JSONValue
        do throws(JSONValue.ParseError) {
            json = try JSONValue.parse(keyJSON)
        } catch {
            throw refuse("it is not JSON")
        }
        if let type = json["type"]?.text, type != "service_account" {
            throw refuse("its type is \(jsonStringLiteral(type)), not \"service_account\"")
        }
        guard let email = json["client_email"]?.text else { throw refuse("it has no client_email") }
        guard let pem = json["private_key"]?.text else { throw refuse("it has no private_key") }
        do {
            privateKey = try _RSA.Signing.PrivateKey(pemRepresentation: pem)
        } catch {
            throw refuse("its private_key is not an RSA private key in PEM form (of at least 2048 bits)")
        }
        clientEmail = email
        privateKeyID = json["private_key_id"]?.text
        tokenURI = json["token_uri"]?.text ?? "https://oauth2.googleapis.com/token"
        projectID = json["project_id"]?.text
    }

    /// A signed JWT asserting this account's identity, for the token request's `assertion`.
    ///
    /// Header `{"alg":"RS256","kid":…,"typ":"JWT"}`; claims `iss` (the account), `scope`, `aud` (the
    /// token URI), `iat` and `exp` (seconds since the epoch; Google allows at most one hour between
    /// them). Signed with RSASSA-PKCS1-v1_5 over SHA-256, as RS256 requires.
    /// - Parameters:
    ///   - issuedAt: `iat`. Google refuses assertions from a clock far off its own.
    ///   - lifetime: `exp - iat`, at most one hour.
    ///   - scope: The space-separated scopes.
    /// - Returns: `header.claims.signature`, each part base64url without padding.
    /// - Throws: ``GoogleAuthError`` if signing fails.
    public func assertion(issuedAt: Timestamp, lifetime: Duration = .seconds(3600), scope: String) throws(GoogleAuthError) -> String {
        var header: [String: JSONValue] = ["alg": .string("RS256"), "typ": .string("JWT")]
        if let privateKeyID { header["kid"] = .string(privateKeyID) }
        let iat = issuedAt.secondsSinceEpoch
        let claims: [String: JSONValue] = [
            "iss": .string(clientEmail), "scope": .string(scope), "aud": .string(tokenURI),
            "iat": .int(iat), "exp": .int(iat + lifetime.components.seconds),
        ]
        let signingInput = Base64URL.encode(JSONValue.object(header).canonicalJSONBytes) + "."
            + Base64URL.encode(JSONValue.object(claims).canonicalJSONBytes)
        let signature: _RSA.Signing.RSASignature
        do {
            signature = try privateKey.signature(for: Array(signingInput.utf8), padding: .insecurePKCS1v1_5)
        } catch {
            throw GoogleAuthError("signing the OAuth assertion for \(clientEmail) failed: \(error)")
        }
        return signingInput + "." + Base64URL.encode(signature.rawRepresentation)
    }

    /// The form body of the token request: the grant type and the assertion (base64url and dots,
    /// so it needs no form encoding; the grant type does).
    public static func tokenRequestBody(assertion: String) -> [UInt8] {
        Array(("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + assertion).utf8)
    }

    /// A 2xx token answer `{"access_token": …, "expires_in": 3600, "token_type": "Bearer"}` as the
    /// token and its expiry (one hour when `expires_in` is missing).
    public static func accessToken(from body: [UInt8], now: Timestamp) -> (token: String, expiresAt: Timestamp)? {
        guard let json = try? JSONValue.parse(body), let token = json["access_token"]?.text, !token.isEmpty else { return nil }
        let lifetime = json["expires_in"]?.integer ?? 3600
        return (token, Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch + lifetime * 1000))
    }

    /// The words of an OAuth error answer (`{"error": "invalid_grant", "error_description": …}`),
    /// which hold no secret.
    public static func oauthError(from body: [UInt8]) -> String {
        let json = try? JSONValue.parse(body)
        return [json?["error"]?.text, json?["error_description"]?.text].compactMap { $0 }.joined(separator: ": ")
    }
}
