import CallFeedCore
import CallFeedVendors
import Crypto
import Foundation
import HTTPServer

/// `POST /webhooks/justcall` — JustCall call webhooks (`call.completed`, `call.updated`, …; the body
/// is `{request_id, webhook_url, url_id, type, data}` with the Call Object in `data`, `justcall.md` §7).
///
/// Signature v1: `x-justcall-signature` = lower-case hex of HMAC-SHA256(key = API secret, message =
/// `secret|urlencode(webhook URL)|type|timestamp`), where `urlencode` percent-encodes every byte but
/// the unreserved `A–Z a–z 0–9 - . _ ~`, `type` is the body's `type` and `timestamp` is the
/// `x-justcall-request-timestamp` header exactly as sent. The URL is the one **configured** for the
/// source (what it was registered at JustCall as), not the body's `webhook_url`, so a hook signed for
/// another endpoint does not verify here. The timestamp must be within ``toleranceSeconds`` of now;
/// it is read as epoch seconds or as `YYYY-MM-DD HH:MM:SS` in UTC (the vendor's sample form). Compared
/// in constant time; a source may list several secrets (rotation).
///
/// - Important: JustCall does not sign the body: only the event type, URL and time are proven.
///   Someone who captured a hook could, within the tolerance, resend its headers with another
///   `data`. The poller re-reads calls from the API, which is authoritative.
public struct JustCallWebhookRoute: WebhookRoute {
    /// One JustCall account sending hooks: its API secret(s) and the URL its hooks are registered at.
    public struct Source: Sendable {
        /// Where the events belong and how they are mapped.
        public var source: WebhookSource
        /// The account's API secrets (the signing key); more than one while rotating.
        public var secrets: [String]
        /// The webhook URL exactly as configured at JustCall (scheme, host, path and query), e.g.
        /// `https://ingest.example.com/webhooks/justcall?src=jc`: part of the signed message.
        public var webhookURL: String

        /// Makes a source.
        /// - Parameters:
        ///   - source: Where the events belong and how they are mapped.
        ///   - secrets: API secrets any of which may have signed a request; empty ones are ignored.
        ///   - webhookURL: The URL as registered at JustCall.
        public init(source: WebhookSource, secrets: [String], webhookURL: String) {
            self.source = source
            self.secrets = secrets
            self.webhookURL = webhookURL
        }
    }

    public let path = "/webhooks/justcall"
    public let vendor = JustCallMapping.source
    /// The configured senders, tried in order (the first whose secret verifies wins).
    public let sources: [Source]
    public var configuredSources: [WebhookSource] { sources.map(\.source) }
    /// How far `x-justcall-request-timestamp` may be from now, either way, in seconds.
    public let toleranceSeconds: Int64

    /// Makes the route.
    /// - Parameters:
    ///   - sources: The configured senders.
    ///   - toleranceSeconds: Accepted distance of the request timestamp from now (default 300 s).
    public init(sources: [Source], toleranceSeconds: Int64 = 300) {
        self.sources = sources
        self.toleranceSeconds = toleranceSeconds
    }

    /// The source whose secret and URL produced `x-justcall-signature`.
    /// - Parameters:
    ///   - request: The request as received; its body is parsed only to read the signed `type`.
    ///   - now: The receive time, for the timestamp window.
    /// - Returns: The matching source, or why the request is refused: a missing header, a signature
    ///   version other than `v1`, a timestamp that is not a time or outside the window, a body without
    ///   a `type`, a signature that is not 64 hex digits or that no secret verifies.
    public func authenticate(_ request: HTTPRequest, now: Timestamp) -> Result<WebhookSource, AuthenticationFailure> {
        guard let signature = request.header("x-justcall-signature"),
              let timestamp = request.header("x-justcall-request-timestamp") else {
            return .failure(AuthenticationFailure(reason: "missing x-justcall-signature or x-justcall-request-timestamp"))
        }
        if let version = request.header("x-justcall-signature-version"),
           version.trimmingCharacters(in: .whitespaces).lowercased() != "v1" {
            return .failure(AuthenticationFailure(reason: "unsupported x-justcall-signature-version \"\(version)\" (expected v1)"))
        }
        guard let sent = Self.instant(of: timestamp) else {
            return .failure(AuthenticationFailure(reason: "x-justcall-request-timestamp is not a time"))
        }
        guard isFresh(sent.secondsSinceEpoch, now: now.secondsSinceEpoch, tolerance: toleranceSeconds) else {
            return .failure(AuthenticationFailure(reason: "x-justcall-request-timestamp outside the \(toleranceSeconds) s tolerance"))
        }
        guard let presented = Self.bytes(hex: signature.trimmingCharacters(in: .whitespaces)), presented.count == 32 else {
            return .failure(AuthenticationFailure(reason: "x-justcall-signature is not 64 hex digits"))
        }
        // The type is signed but travels in the (unsigned) body.
        guard let body = try? JSONValue.parse(request.body), let type = body["type"]?.text else {
            return .failure(AuthenticationFailure(reason: "body has no type to verify the signature with"))
        }
        var match: WebhookSource?
        for candidate in sources {
            for secret in candidate.secrets where !secret.isEmpty {
                let message = Self.signedMessage(secret: secret, webhookURL: candidate.webhookURL, type: type, timestamp: timestamp)
                let key = SymmetricKey(data: Data(secret.utf8))
                if HMAC<SHA256>.isValidAuthenticationCode(presented, authenticating: message, using: key), match == nil {
                    match = candidate.source
                }
            }
        }
        guard let match else { return .failure(AuthenticationFailure(reason: "invalid signature")) }
        return .success(match)
    }

    /// Maps a parsed body with ``JustCallMapping``.
    /// - Throws: ``MappingError`` as ``JustCallMapping/content(from:context:)`` does (notably for a
    ///   webhook type that carries no Call Object).
    public func content(from payload: JSONValue, source: WebhookSource) throws(MappingError) -> CallContent {
        try JustCallMapping.content(from: payload, context: source.context)
    }

    /// The `x-justcall-signature` JustCall would send (for tests and the dev tour).
    /// - Parameters:
    ///   - secret: The API secret.
    ///   - webhookURL: The URL the webhook is registered at.
    ///   - type: The event type (`call.completed`).
    ///   - timestamp: The `x-justcall-request-timestamp` value, exactly as sent.
    /// - Returns: 64 lower-case hex digits.
    public static func signature(secret: String, webhookURL: String, type: String, timestamp: String) -> String {
        let message = signedMessage(secret: secret, webhookURL: webhookURL, type: type, timestamp: timestamp)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8)))
        return lowerHex(code)
    }

    // MARK: - Signature parts

    /// `secret|urlencode(url)|type|timestamp` as UTF-8.
    static func signedMessage(secret: String, webhookURL: String, type: String, timestamp: String) -> Data {
        Data("\(secret)|\(percentEncoded(webhookURL))|\(type)|\(timestamp)".utf8)
    }

    /// Every UTF-8 byte but `A–Z a–z 0–9 - . _ ~` as `%XX` (upper-case hex): Python's
    /// `quote(s, safe='')`, which JustCall's docs use (JavaScript's `encodeURIComponent` differs only
    /// on `!*'()`, which URLs rarely hold).
    static func percentEncoded(_ text: String) -> String {
        let hexDigits = Array("0123456789ABCDEF")
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.append(Character(Unicode.Scalar(byte)))
            default:
                encoded.append("%")
                encoded.append(hexDigits[Int(byte >> 4)])
                encoded.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return encoded
    }

    /// The header's instant: epoch seconds (milliseconds above 10^12), or a date-time read as UTC
    /// unless it carries an offset.
    static func instant(of timestamp: String) -> Timestamp? {
        let text = timestamp.trimmingCharacters(in: .whitespaces)
        if let number = Int64(text) {
            if number >= 1_000_000_000_000 { return Timestamp(millisecondsSinceEpoch: number) }
            // Seconds far below the epoch would overflow as milliseconds (a trap, found by callfeed-fuzz).
            let (milliseconds, overflow) = number.multipliedReportingOverflow(by: 1000)
            return overflow ? nil : Timestamp(millisecondsSinceEpoch: milliseconds)
        }
        return Timestamp.parseISO8601(text, defaultUTCOffsetSeconds: 0)
    }

    /// The bytes of a hex string (either case), or `nil` when it is not hex.
    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count.isMultiple(of: 2) else { return nil }
        func value(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }
}
