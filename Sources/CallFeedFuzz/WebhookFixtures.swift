import CallFeedCore
import CallFeedIngest
import CallFeedVendors
import HTTPServer

/// The four webhook routes as the fuzzer and the forgery tests configure them: one source each,
/// with two secrets (the current one and the one being rotated out), and requests signed the way
/// each vendor signs them.
public enum WebhookFixtures {
    /// Which vendor's route.
    public enum Vendor: String, Sendable, CaseIterable {
        case ctm, callkeeper, callrail, justcall
    }

    /// The secret (token, signing key) a vendor signs with now.
    public static let currentSecret = "fuzz-current-secret-0001"
    /// The secret being rotated out: still accepted.
    public static let previousSecret = "fuzz-previous-secret-0002"
    /// A secret no route knows.
    public static let strangerSecret = "fuzz-stranger-secret-0003"
    /// The URL the JustCall source is registered at (part of what JustCall signs).
    public static let justCallURL = "https://ingest.example.com/webhooks/justcall?src=jc"
    /// Seconds either way a signed timestamp may be from now.
    public static let toleranceSeconds: Int64 = 300

    static let source = WebhookSource(name: "fuzz", context: MappingContext(accountID: "12345", timeZone: "Europe/Moscow", defaultCountry: "US"))

    /// The route for `vendor`, accepting ``currentSecret`` and ``previousSecret``.
    public static func route(_ vendor: Vendor) -> any WebhookRoute {
        let secrets = [currentSecret, previousSecret]
        switch vendor {
        case .ctm:
            return CTMWebhookRoute(sources: [.init(source: source, secrets: secrets)], toleranceSeconds: toleranceSeconds)
        case .callkeeper:
            return CallKeeperWebhookRoute(sources: secrets.map { .init(source: source, token: $0) })
        case .callrail:
            return CallRailWebhookRoute(sources: [.init(source: source, signingKeys: secrets)])
        case .justcall:
            return JustCallWebhookRoute(sources: [.init(source: source, secrets: secrets, webhookURL: justCallURL)],
                                        toleranceSeconds: toleranceSeconds)
        }
    }

    /// A request for `vendor`'s route carrying `body`, authenticated with `secret` as the vendor
    /// would do it at `time` (CTM and JustCall sign it; CallRail and CallKeeper send none).
    /// - Parameters:
    ///   - vendor: The route.
    ///   - body: The raw body, signed byte for byte (CTM, CallRail); JustCall signs its `type`.
    ///   - secret: The secret to sign with (or the CallKeeper token).
    ///   - time: The signed time, as sent.
    public static func signedRequest(_ vendor: Vendor, body: [UInt8], secret: String = currentSecret,
                                     time: String = String(FuzzClock.now.secondsSinceEpoch)) -> HTTPRequest {
        let path = "/webhooks/\(vendor.rawValue)"
        switch vendor {
        case .ctm:
            return HTTPRequest(method: "POST", path: path, headers: [
                "x-ctm-time": time, "x-ctm-signature": CTMWebhookRoute.signature(secret: secret, time: time, body: body),
            ], body: body)
        case .callkeeper:
            return HTTPRequest(method: "POST", path: path, query: ["token": secret], body: body)
        case .callrail:
            return HTTPRequest(method: "POST", path: path, headers: [
                "signature": CallRailWebhookRoute.signature(key: secret, body: body),
            ], body: body)
        case .justcall:
            let type = (try? JSONValue.parse(body))?["type"]?.text ?? "call.completed"
            return HTTPRequest(method: "POST", path: path, headers: [
                "x-justcall-signature": JustCallWebhookRoute.signature(secret: secret, webhookURL: justCallURL, type: type, timestamp: time),
                "x-justcall-request-timestamp": time, "x-justcall-signature-version": "v1",
            ], body: body)
        }
    }

    /// The header that carries the signature (CallKeeper: none, its token is in the query).
    public static func signatureHeader(_ vendor: Vendor) -> String? {
        switch vendor {
        case .ctm: "x-ctm-signature"
        case .callkeeper: nil
        case .callrail: "signature"
        case .justcall: "x-justcall-signature"
        }
    }

    /// The header that carries the signed time, for the vendors that sign one.
    public static func timeHeader(_ vendor: Vendor) -> String? {
        switch vendor {
        case .ctm: "x-ctm-time"
        case .justcall: "x-justcall-request-timestamp"
        case .callkeeper, .callrail: nil
        }
    }
}
