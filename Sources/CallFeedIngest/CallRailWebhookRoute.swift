import CallFeedCore
import CallFeedVendors
import Crypto
import Foundation
import HTTPServer

/// `POST /webhooks/callrail` — CallRail call webhooks (Post-Call, Call Modified, Outbound Post Call, …;
/// the body is the API's call object plus legacy fields, `callrail.md` §7).
///
/// `Signature` = Base64(HMAC-SHA1(company signing key, raw body)), checked over the bytes as received
/// (never a re-serialisation), constant-time. A source may list several signing keys (rotation);
/// every key of every source is tried, without an early exit, so timing does not reveal which matched.
///
/// No replay window is enforced: CallRail signs no time (its payload `timestamp` is the call's
/// start, and Post-Call and Call Modified hooks arrive up to 20 minutes or more later), and a
/// replayed body maps to the event already stored (same `event_id`, same revision).
public struct CallRailWebhookRoute: WebhookRoute {
    /// One CallRail company (or account) sending hooks, with its signing keys.
    public struct Source: Sendable {
        /// Where the events belong and how they are mapped.
        public var source: WebhookSource
        /// The company's signing keys (Webhooks page); more than one while rotating.
        public var signingKeys: [String]

        /// Makes a source.
        /// - Parameters:
        ///   - source: Where the events belong and how they are mapped.
        ///   - signingKeys: Keys any of which may have signed a request; empty keys are ignored.
        public init(source: WebhookSource, signingKeys: [String]) {
            self.source = source
            self.signingKeys = signingKeys
        }
    }

    public let path = "/webhooks/callrail"
    public let vendor = CallRailMapping.source
    /// The configured senders, tried in order (the first whose key verifies wins).
    public let sources: [Source]
    public var configuredSources: [WebhookSource] { sources.map(\.source) }

    /// Makes the route.
    /// - Parameter sources: The configured senders and their signing keys.
    public init(sources: [Source]) {
        self.sources = sources
    }

    /// The source whose signing key produced the `Signature` header over the raw body.
    /// - Parameters:
    ///   - request: The request as received.
    ///   - now: Unused: CallRail signs no time.
    /// - Returns: The matching source, or why the request is refused (missing or non-Base64
    ///   `Signature`, or no key verifies).
    public func authenticate(_ request: HTTPRequest, now: Timestamp) -> Result<WebhookSource, AuthenticationFailure> {
        guard let header = request.header("signature") else {
            return .failure(AuthenticationFailure(reason: "missing Signature"))
        }
        guard let presented = Data(base64Encoded: header.trimmingCharacters(in: .whitespaces)) else {
            return .failure(AuthenticationFailure(reason: "Signature is not base64"))
        }
        var match: WebhookSource?
        for candidate in sources {
            for key in candidate.signingKeys where !key.isEmpty {
                let symmetricKey = SymmetricKey(data: Data(key.utf8))
                if HMAC<Insecure.SHA1>.isValidAuthenticationCode(presented, authenticating: request.body, using: symmetricKey),
                   match == nil {
                    match = candidate.source
                }
            }
        }
        guard let match else { return .failure(AuthenticationFailure(reason: "invalid signature")) }
        return .success(match)
    }

    /// Maps a parsed body with ``CallRailMapping``.
    /// - Throws: ``MappingError`` as ``CallRailMapping/content(from:context:)`` does (notably for a
    ///   body with only the legacy numeric `id` and no `resource_id`).
    public func content(from payload: JSONValue, source: WebhookSource) throws(MappingError) -> CallContent {
        try CallRailMapping.content(from: payload, context: source.context)
    }

    /// The `Signature` CallRail would send for `body` (for tests and the dev tour).
    /// - Parameters:
    ///   - key: The company signing key.
    ///   - body: The raw request body.
    /// - Returns: Base64 (with padding) of HMAC-SHA1(key, body).
    public static func signature(key: String, body: [UInt8]) -> String {
        let code = HMAC<Insecure.SHA1>.authenticationCode(for: body, using: SymmetricKey(data: Data(key.utf8)))
        return Data(code).base64EncodedString()
    }
}
