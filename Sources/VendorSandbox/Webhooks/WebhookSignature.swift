import Crypto
import Foundation

/// The vendors' webhook signatures, as their notes document them. Public so receiver tests can
/// sign what they send and check published vectors.
public enum WebhookSignature {
    /// CTM `X-CTM-Signature`: Base64(HMAC-SHA1(key = API secret, message = `X-CTM-Time` + raw
    /// body)), no separator (`ctm.md` §7).
    /// - Parameters:
    ///   - secret: The account's API secret key.
    ///   - time: The `X-CTM-Time` header value, exactly as sent.
    ///   - body: The raw request body.
    /// - Returns: Standard Base64 with padding.
    public static func ctm(secret: String, time: String, body: [UInt8]) -> String {
        hmacSHA1Base64(key: Array(secret.utf8), message: Array(time.utf8) + body)
    }

    /// CallRail `Signature`: Base64(HMAC-SHA1(key = company signing key, message = raw body))
    /// (`callrail.md` §7).
    /// - Parameters:
    ///   - signingKey: The company's signing key from the Webhooks page.
    ///   - body: The raw request body, byte-exact.
    /// - Returns: Standard Base64 with padding.
    public static func callRail(signingKey: String, body: [UInt8]) -> String {
        hmacSHA1Base64(key: Array(signingKey.utf8), message: body)
    }

    /// JustCall `x-justcall-signature` (v1): lowercase hex of HMAC-SHA256(key = API secret,
    /// message = `secret|urlencode(webhook_url)|type|timestamp`); the body is not signed
    /// (`justcall.md` §7).
    /// - Parameters:
    ///   - secret: The API secret.
    ///   - url: The webhook URL as configured at JustCall.
    ///   - type: The event type (`call.completed`).
    ///   - timestamp: The `x-justcall-request-timestamp` value.
    /// - Returns: 64 lowercase hex digits.
    public static func justCall(secret: String, url: String, type: String, timestamp: String) -> String {
        let message = "\(secret)|\(QueryString.encode(url))|\(type)|\(timestamp)"
        let code = HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return code.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }

    private static func hmacSHA1Base64(key: [UInt8], message: [UInt8]) -> String {
        let code = HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: key))
        return Data(code).base64EncodedString()
    }
}
