import CallFeedCore
import CallFeedVendors
import Crypto
import Foundation
import HTTPServer

/// `POST /webhooks/hubspot` — HubSpot CRM notifications for calls (`hubspot.md` §8): a JSON array
/// of up to 100 events (`eventId`, `portalId`, `objectId`, `objectTypeId`, `subscriptionType`,
/// `occurredAt`, …) that only say that a call changed. A ``NotificationRoute``: the receiver
/// re-reads the named calls through ``fetch`` (the poller's HubSpot source, injected by
/// CallFeedApp) and publishes them as CallEvents (channel `webhook`).
///
/// - Signature v3: `X-HubSpot-Signature-v3` = Base64(HMAC-SHA256(key = the app's client secret,
///   message = method + URI + raw body + `X-HubSpot-Request-Timestamp`)). The URI is the webhook
///   URL **as configured** for the source (what it is registered as at HubSpot), with the `%xx`
///   sequences HubSpot decodes before signing decoded (``signedURI(_:)``), never the Host header
///   we were reached by. The timestamp (epoch ms) must be within ``toleranceSeconds`` of now either
///   way; compared in constant time; a source may list several secrets (rotation).
/// - Portal: one app (one secret) may be installed in several portals, so the source is the one
///   whose secret verifies **and** whose portal id is the events' `portalId`. A delivery naming an
///   unconfigured portal, or several portals, is refused (401, nothing produced).
/// - Ids (``resolve(_:source:)``): the distinct `objectId`s of events with `objectTypeId` `0-48`
///   (calls). Other object types and `object.deletion` events are acknowledged without a fetch.
public struct HubSpotWebhookRoute: NotificationRoute {
    /// One configured portal sending notifications.
    public struct Source: Sendable {
        /// The portal: `context.accountID` is its portal (hub) id, the events' `portalId`.
        public var source: WebhookSource
        /// The app's client secrets (the signing key); more than one while rotating. Empty ones are ignored.
        public var secrets: [String]
        /// The webhook URL exactly as registered at HubSpot (`https://host/path?query`): signed.
        public var webhookURL: String

        public init(source: WebhookSource, secrets: [String], webhookURL: String) {
            self.source = source
            self.secrets = secrets
            self.webhookURL = webhookURL
        }
    }

    /// Reads the current call records of the ids from HubSpot for a source (blocking).
    public typealias Fetch = @Sendable ([String], WebhookSource) throws -> [JSONValue]
    /// Maps one fetched call record.
    public typealias Map = @Sendable (JSONValue, WebhookSource) throws(MappingError) -> CallContent

    /// HubSpot's object type id of calls.
    public static let callObjectTypeID = "0-48"

    public let path = "/webhooks/hubspot"
    public let vendor = HubSpotMapping.source
    public let sources: [Source]
    public var configuredSources: [WebhookSource] { sources.map(\.source) }
    /// How far `X-HubSpot-Request-Timestamp` may be from now, either way (HubSpot: 5 minutes).
    public let toleranceSeconds: Int64
    let fetchRecords: Fetch
    let map: Map

    /// - Parameters:
    ///   - sources: The configured portals.
    ///   - toleranceSeconds: Accepted distance of the request timestamp from now.
    ///   - fetch: Reads call records by id (CallFeedApp: `HubSpotCallSource.fetchCalls`).
    ///   - map: Maps a fetched record; default ``HubSpotMapping`` with the default dispositions.
    public init(sources: [Source], toleranceSeconds: Int64 = 300, fetch: @escaping Fetch,
                map: @escaping Map = { record, source throws(MappingError) in
                    try HubSpotMapping.content(from: record, context: source.context)
                }) {
        self.sources = sources
        self.toleranceSeconds = toleranceSeconds
        self.fetchRecords = fetch
        self.map = map
    }

    // MARK: - WebhookRoute

    /// The configured portal whose secret signed the request and whose id the events name.
    /// - Returns: The source, or why the request is refused: missing headers, a timestamp that is
    ///   not epoch milliseconds or is outside the window, a signature that is not Base64 of 32
    ///   bytes or that no secret verifies, a `portalId` that is not configured, several portals.
    public func authenticate(_ request: HTTPRequest, now: Timestamp) -> Result<WebhookSource, AuthenticationFailure> {
        guard let signature = request.header("x-hubspot-signature-v3"),
              let timestamp = request.header("x-hubspot-request-timestamp") else {
            return .failure(AuthenticationFailure(reason: "missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp"))
        }
        guard let sentMs = Int64(timestamp.trimmingCharacters(in: .whitespaces)) else {
            return .failure(AuthenticationFailure(reason: "X-HubSpot-Request-Timestamp is not epoch milliseconds"))
        }
        guard isFresh(sentMs, now: now.millisecondsSinceEpoch, tolerance: toleranceSeconds * 1000) else {
            return .failure(AuthenticationFailure(reason: "X-HubSpot-Request-Timestamp outside the \(toleranceSeconds) s tolerance"))
        }
        guard let presented = Data(base64Encoded: signature.trimmingCharacters(in: .whitespaces)), presented.count == 32 else {
            return .failure(AuthenticationFailure(reason: "X-HubSpot-Signature-v3 is not Base64 of a SHA-256 HMAC"))
        }
        // Every secret is tried (no early exit), like the other routes.
        var verified: [Source] = []
        for candidate in sources {
            var ok = false
            let message = Self.signedMessage(method: request.method, webhookURL: candidate.webhookURL, body: request.body,
                                             timestamp: timestamp)
            for secret in candidate.secrets where !secret.isEmpty {
                if HMAC<SHA256>.isValidAuthenticationCode(presented, authenticating: message, using: SymmetricKey(data: Data(secret.utf8))) {
                    ok = true
                }
            }
            if ok { verified.append(candidate) }
        }
        guard !verified.isEmpty else { return .failure(AuthenticationFailure(reason: "invalid signature")) }
        // The portal: from the (now authenticated) body.
        let portals = Self.portals(in: request.body)
        if portals.count > 1 {
            return .failure(AuthenticationFailure(reason: "a delivery for several portals (\(portals.sorted().joined(separator: ", "))) is not accepted"))
        }
        guard let portal = portals.first else { return .success(verified[0].source) }  // nothing to fetch or a bad body: resolve decides
        guard let match = verified.first(where: { $0.source.context.accountID == portal }) else {
            return .failure(AuthenticationFailure(reason: "portalId \(portal) is not a configured HubSpot portal (sources.hubspot[].portal_id)"))
        }
        return .success(match.source)
    }

    /// Maps one **fetched call record** (the body carries none).
    public func content(from payload: JSONValue, source: WebhookSource) throws(MappingError) -> CallContent {
        try map(payload, source)
    }

    // MARK: - NotificationRoute

    /// The distinct `objectId`s of the call events (`objectTypeId` `0-48`), in order. Events of
    /// other object types and `object.deletion` events need no fetch and are skipped.
    /// - Throws: ``MappingError`` when the body is not an array of objects, or a call event has
    ///   no `objectId`.
    public func resolve(_ payload: JSONValue, source: WebhookSource) throws(MappingError) -> [String] {
        guard let events = payload.arrayValue else {
            throw MappingError(reason: "HubSpot webhook body is \(Self.kind(of: payload)), not a JSON array of events")
        }
        var ids: [String] = []
        var seen = Set<String>()
        for (index, event) in events.enumerated() {
            guard event.objectValue != nil else { throw MappingError(reason: "HubSpot webhook event \(index) is \(Self.kind(of: event)), not an object") }
            guard event["objectTypeId"]?.text == Self.callObjectTypeID else { continue }
            if event["subscriptionType"]?.text?.hasSuffix(".deletion") == true { continue }
            guard let id = event["objectId"]?.text else { throw MappingError(reason: "HubSpot webhook event \(index) has no objectId") }
            if seen.insert(id).inserted { ids.append(id) }
        }
        return ids
    }

    public func fetch(_ ids: [String], source: WebhookSource) throws -> [JSONValue] {
        try fetchRecords(ids, source)
    }

    // MARK: - Signature

    /// The `X-HubSpot-Signature-v3` HubSpot would send (tests, the dev tour).
    public static func signature(secret: String, method: String = "POST", webhookURL: String, body: [UInt8], timestamp: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: signedMessage(method: method, webhookURL: webhookURL, body: body, timestamp: timestamp),
                                                   using: SymmetricKey(data: Data(secret.utf8)))
        return Data(code).base64EncodedString()
    }

    /// method + URI + body + timestamp.
    static func signedMessage(method: String, webhookURL: String, body: [UInt8], timestamp: String) -> Data {
        var message = Data(method.utf8)
        message.append(contentsOf: signedURI(webhookURL).utf8)
        message.append(contentsOf: body)
        message.append(contentsOf: timestamp.utf8)
        return message
    }

    /// The URI as HubSpot signs it: these `%xx` sequences decoded (either hex case), others kept:
    /// `%3A :`, `%2F /`, `%3F ?`, `%40 @`, `%21 !`, `%24 $`, `%27 '`, `%28 (`, `%29 )`, `%2A *`,
    /// `%2C ,`, `%3B ;`.
    static func signedURI(_ url: String) -> String {
        guard url.contains("%") else { return url }
        let decoded: [String: Character] = ["3A": ":", "2F": "/", "3F": "?", "40": "@", "21": "!", "24": "$", "27": "'",
                                            "28": "(", "29": ")", "2A": "*", "2C": ",", "3B": ";"]
        var result = ""
        var chars = Substring(url)
        while let first = chars.first {
            if first == "%", chars.count >= 3, let c = decoded[String(chars.dropFirst().prefix(2)).uppercased()] {
                result.append(c)
                chars = chars.dropFirst(3)
            } else {
                result.append(first)
                chars = chars.dropFirst()
            }
        }
        return result
    }

    /// `an object`, `a string`, … for messages.
    static func kind(of value: JSONValue) -> String {
        switch value {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .int, .double: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    /// The distinct `portalId`s of a body's events (empty for a body that is not an array of events).
    static func portals(in body: [UInt8]) -> Set<String> {
        guard let events = (try? JSONValue.parse(body))?.arrayValue else { return [] }
        return Set(events.compactMap { $0["portalId"]?.text })
    }
}
