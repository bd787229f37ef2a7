import CallFeedCore
import CallFeedVendors
import Crypto
import Foundation
import HTTPServer

/// `POST /webhooks/ctm` — CallTrackingMetrics call events (sent at call start and at call end;
/// the body is the API's call record).
///
/// `X-CTM-Signature` = base64(HMAC-SHA1(secret, `X-CTM-Time` + raw body)), checked over the bytes
/// as received, constant-time, with `X-CTM-Time` within ``toleranceSeconds`` of now (replays
/// outside the window are refused). A source may list several secrets (key rotation).
public struct CTMWebhookRoute: WebhookRoute {
    public struct Source: Sendable {
        public var source: WebhookSource
        public var secrets: [String]
        public init(source: WebhookSource, secrets: [String]) { self.source = source; self.secrets = secrets }
    }

    public let path = "/webhooks/ctm"
    public let vendor = "ctm"
    public let sources: [Source]
    public var configuredSources: [WebhookSource] { sources.map(\.source) }
    public let toleranceSeconds: Int64

    public init(sources: [Source], toleranceSeconds: Int64 = 300) {
        self.sources = sources
        self.toleranceSeconds = toleranceSeconds
    }

    public func authenticate(_ request: HTTPRequest, now: Timestamp) -> Result<WebhookSource, AuthenticationFailure> {
        guard let time = request.header("x-ctm-time"), let signature = request.header("x-ctm-signature") else {
            return .failure(AuthenticationFailure(reason: "missing X-CTM-Time or X-CTM-Signature"))
        }
        guard let seconds = Int64(time.trimmingCharacters(in: .whitespaces)) else {
            return .failure(AuthenticationFailure(reason: "X-CTM-Time is not a Unix time"))
        }
        guard isFresh(seconds, now: now.secondsSinceEpoch, tolerance: toleranceSeconds) else {
            return .failure(AuthenticationFailure(reason: "X-CTM-Time outside the \(toleranceSeconds) s tolerance"))
        }
        guard let presented = Data(base64Encoded: signature.trimmingCharacters(in: .whitespaces)) else {
            return .failure(AuthenticationFailure(reason: "X-CTM-Signature is not base64"))
        }
        let signed = Data(time.utf8) + Data(request.body)
        var match: WebhookSource?
        for candidate in sources {
            for secret in candidate.secrets where !secret.isEmpty {
                let key = SymmetricKey(data: Data(secret.utf8))
                if HMAC<Insecure.SHA1>.isValidAuthenticationCode(presented, authenticating: signed, using: key), match == nil {
                    match = candidate.source
                }
            }
        }
        guard let match else { return .failure(AuthenticationFailure(reason: "invalid signature")) }
        return .success(match)
    }

    public func content(from payload: JSONValue, source: WebhookSource) throws(MappingError) -> CallContent {
        if let pinned = source.pinnedAccountID, let named = payload["account_id"]?.text, named != pinned {
            throw MappingError(reason: "signed with account \(pinned)'s secret but names account \(named) (sources.ctm webhook_secrets)")
        }
        return try CTMMapping.content(from: payload, context: source.context)
    }

    /// The signature CTM would send (for tests and the dev tour).
    public static func signature(secret: String, time: String, body: [UInt8]) -> String {
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(time.utf8) + Data(body), using: SymmetricKey(data: Data(secret.utf8)))
        return Data(mac).base64EncodedString()
    }
}
