import CallFeedCore
import CallFeedVendors
import HTTPServer

/// `POST /webhooks/callkeeper?token=...` — CallKeeper AFTER_CALL_FINISH hooks.
///
/// CallKeeper signs nothing, so each configured source has a secret token that must be in the
/// URL (`?token=`) or in an `X-CallFeed-Token` header; compared in constant time. A source may
/// accept several tokens at once (rotation: add the new one, change the hook URLs, drop the old).
public struct CallKeeperWebhookRoute: WebhookRoute {
    public struct Source: Sendable {
        public var source: WebhookSource
        public var tokens: [String]
        public init(source: WebhookSource, tokens: [String]) { self.source = source; self.tokens = tokens }
        public init(source: WebhookSource, token: String) { self.init(source: source, tokens: [token]) }
    }

    public let path = "/webhooks/callkeeper"
    public let vendor = "callkeeper"
    public let sources: [Source]
    public var configuredSources: [WebhookSource] { sources.map(\.source) }

    public init(sources: [Source]) { self.sources = sources }

    public func authenticate(_ request: HTTPRequest, now: Timestamp) -> Result<WebhookSource, AuthenticationFailure> {
        guard let presented = request.query["token"] ?? request.header("x-callfeed-token"), !presented.isEmpty else {
            return .failure(AuthenticationFailure(reason: "missing token"))
        }
        var match: WebhookSource?
        // Compare against every source (no early exit) so timing does not reveal which matched.
        for candidate in sources {
            for token in candidate.tokens where !token.isEmpty {
                if constantTimeEquals(Array(presented.utf8), Array(token.utf8)) && match == nil {
                    match = candidate.source
                }
            }
        }
        guard let match else { return .failure(AuthenticationFailure(reason: "invalid token")) }
        return .success(match)
    }

    public func content(from payload: JSONValue, source: WebhookSource) throws(MappingError) -> CallContent {
        try CallKeeperMapping.content(from: payload, context: source.context)
    }
}

/// Compares two byte strings in time that depends only on their lengths.
///
/// The length difference is kept in full: truncated to a byte, a token and the same token plus
/// 256 NUL bytes compared equal (found by the forgery tests, docs/fuzzing.md).
func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = UInt(bitPattern: a.count ^ b.count)
    for i in 0..<max(a.count, b.count) {
        difference |= UInt((i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0))
    }
    return difference == 0
}
