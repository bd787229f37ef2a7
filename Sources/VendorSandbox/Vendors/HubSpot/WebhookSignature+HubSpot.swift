import Crypto
import Foundation

extension WebhookSignature {
    /// HubSpot `X-HubSpot-Signature-v3`: Base64(HMAC-SHA256(key = the app's client secret,
    /// message = method + URI + raw body + `X-HubSpot-Request-Timestamp`)), no separators
    /// (`hubspot.md` §8). `uri` is the full URL HubSpot called (`https://host/path?query`).
    /// - Parameters:
    ///   - clientSecret: The app's client secret (not the access token).
    ///   - method: `POST` for webhooks.
    ///   - uri: The full request URL as HubSpot called it.
    ///   - body: The raw request body, byte-exact.
    ///   - timestamp: The `X-HubSpot-Request-Timestamp` value (epoch milliseconds), as sent.
    /// - Returns: Standard Base64 with padding.
    public static func hubSpotV3(clientSecret: String, method: String, uri: String, body: [UInt8], timestamp: String) -> String {
        let message = Array(method.utf8) + Array(uri.utf8) + body + Array(timestamp.utf8)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(clientSecret.utf8)))
        return Data(code).base64EncodedString()
    }
}
