import CallFeedCore
import Crypto
import Foundation
import Warehouse
import _CryptoExtras

/// A Google service account read from its key file, able to sign the JWT that Google's OAuth
/// endpoint trades for an access token (the "two-legged" server-to-server flow:
/// https://developers.google.com/identity/protocols/oauth2/service-account#httprest).
///
/// ```swift
/// let account = try BigQueryServiceAccount(keyJSON: bytes)
/// let jwt = try account.assertion(issuedAt: .now())   // POST it to account.tokenURI
/// ```
public struct BigQueryServiceAccount: Sendable {
    /// The OAuth scope the sink asks for: read and write BigQuery.
    public static let bigQueryScope = "https://www.googleapis.com/auth/bigquery"
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
    /// - Throws: ``WarehouseError`` (not transient) when the file is not a service-account key or its
    ///   `private_key` is not an RSA key in PEM form. The message never contains the key.
    public init(keyJSON: [UInt8], settingName: String = BigQueryAuth.serviceAccountKey([]).settingName)
        throws(WarehouseError) {
        func refuse(_ why: String) -> WarehouseError {
            .bigQueryFailure("the service-account key from \(settingName) cannot be used: \(why)")
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
    /// - Throws: ``WarehouseError`` if signing fails.
    public func assertion(issuedAt: Timestamp, lifetime: Duration = .seconds(3600),
                          scope: String = BigQueryServiceAccount.bigQueryScope) throws(WarehouseError) -> String {
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
            throw .bigQueryFailure("signing the OAuth assertion for \(clientEmail) failed: \(error)")
        }
        return signingInput + "." + Base64URL.encode(signature.rawRepresentation)
    }
}
