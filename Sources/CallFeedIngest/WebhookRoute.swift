import CallFeedCore
import CallFeedVendors
import HTTPServer

/// Why a webhook was refused before its body was looked at (answered 401, nothing produced).
public struct AuthenticationFailure: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// Whether a signed request's time `sent` is within `tolerance` of `now` either way (all three in
/// the same unit). Compared as a range, not `abs(now - sent)`: that overflowed (a trap) for a
/// header near Int64.min/max (found by callfeed-fuzz, docs/fuzzing.md).
func isFresh(_ sent: Int64, now: Int64, tolerance: Int64) -> Bool {
    sent >= now - tolerance && sent <= now + tolerance
}

/// One configured sender of webhooks: which vendor account the events belong to and how its
/// payloads are read.
public struct WebhookSource: Sendable {
    /// Operator's name for the source (logs, metrics).
    public var name: String
    public var context: MappingContext
    /// Set when the credential that verified the request belongs to one account (CTM's
    /// per-account `webhook_secrets`): the payload must name that account, so a holder of one
    /// account's secret cannot send calls for another.
    public var pinnedAccountID: String?
    public init(name: String, context: MappingContext, pinnedAccountID: String? = nil) {
        self.name = name; self.context = context; self.pinnedAccountID = pinnedAccountID
    }
}

/// A vendor webhook endpoint: how a request proves where it comes from, and how its body becomes
/// call content.
public protocol WebhookRoute: Sendable {
    /// URL path, e.g. `/webhooks/ctm`.
    var path: String { get }
    /// Vendor key (`source` of the events, `source` header of raw records).
    var vendor: String { get }
    /// Which configured source sent `request`, checked on the raw bytes before parsing.
    func authenticate(_ request: HTTPRequest, now: Timestamp) -> Result<WebhookSource, AuthenticationFailure>
    /// The call in a parsed body.
    func content(from payload: JSONValue, source: WebhookSource) throws(MappingError) -> CallContent
    /// Every configured sender of this route (what `callfeed replay` chooses the mapping context from).
    var configuredSources: [WebhookSource] { get }
}
