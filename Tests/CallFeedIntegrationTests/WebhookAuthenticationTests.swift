import CallFeedApp
import CallFeedCore
import CallFeedIngest
import CallFeedVendors
import Foundation
import HTTPServer
import Testing

/// Route authentication on raw bytes, with the vendors' published test vectors.
@Suite struct WebhookAuthenticationTests {
    static let ctmBody = Array(#"{"id":90000001,"direction":"inbound","caller_number":"+15555550123","tracking_number":"+15555550100","duration":125,"unix_time":1715711400}"#.utf8)
    static let source = WebhookSource(name: "s", context: MappingContext(accountID: "1", timeZone: "UTC", defaultCountry: "US"))

    func ctmRequest(time: String, signature: String, body: [UInt8] = ctmBody) -> HTTPRequest {
        HTTPRequest(method: "POST", path: "/webhooks/ctm", headers: ["x-ctm-time": time, "x-ctm-signature": signature], body: body)
    }

    @Test func ctmPublishedTestVector() {
        #expect(CTMWebhookRoute.signature(secret: "ctm_test_secret_0001", time: "1715711467", body: Self.ctmBody)
                == "YGZxgsSiOeZFOy4SBRDMFLqi9dE=")
    }

    @Test func ctmAcceptsTheVectorWithinToleranceAndEitherRotatedSecret() throws {
        let route = CTMWebhookRoute(sources: [.init(source: Self.source, secrets: ["old-secret", "ctm_test_secret_0001"])], toleranceSeconds: 300)
        let request = ctmRequest(time: "1715711467", signature: "YGZxgsSiOeZFOy4SBRDMFLqi9dE=")
        let accepted = try route.authenticate(request, now: Timestamp(secondsSinceEpoch: 1_715_711_467 + 299)).get()
        #expect(accepted.name == "s")
        // Outside the window: a replay.
        #expect(throws: AuthenticationFailure.self) { try route.authenticate(request, now: Timestamp(secondsSinceEpoch: 1_715_711_467 + 301)).get() }
        #expect(throws: AuthenticationFailure.self) { try route.authenticate(request, now: Timestamp(secondsSinceEpoch: 1_715_711_467 - 301)).get() }
    }

    @Test func ctmRejectsAnyChangeToBodyTimeOrSignature() {
        let route = CTMWebhookRoute(sources: [.init(source: Self.source, secrets: ["ctm_test_secret_0001"])])
        let now = Timestamp(secondsSinceEpoch: 1_715_711_467)
        var tampered = Self.ctmBody
        tampered[tampered.count - 2] ^= 1
        let cases = [
            ctmRequest(time: "1715711467", signature: "YGZxgsSiOeZFOy4SBRDMFLqi9dE=", body: tampered),
            ctmRequest(time: "1715711468", signature: "YGZxgsSiOeZFOy4SBRDMFLqi9dE="),
            ctmRequest(time: "1715711467", signature: "ZGZxgsSiOeZFOy4SBRDMFLqi9dE="),
            ctmRequest(time: "1715711467", signature: "not base64!"),
            ctmRequest(time: "soon", signature: "YGZxgsSiOeZFOy4SBRDMFLqi9dE="),
            HTTPRequest(method: "POST", path: "/webhooks/ctm", body: Self.ctmBody),
        ]
        for request in cases {
            #expect(throws: AuthenticationFailure.self) { try route.authenticate(request, now: now).get() }
        }
        // Re-serialising the body (same JSON, other bytes) breaks the signature: it is checked on raw bytes.
        let reserialised = Array(String(decoding: Self.ctmBody, as: UTF8.self).replacingOccurrences(of: ",", with: ", ").utf8)
        #expect(throws: AuthenticationFailure.self) {
            try route.authenticate(ctmRequest(time: "1715711467", signature: "YGZxgsSiOeZFOy4SBRDMFLqi9dE=", body: reserialised), now: now).get()
        }
    }

    @Test func callKeeperTokenPicksTheSource() throws {
        let other = WebhookSource(name: "other", context: MappingContext(accountID: "2", timeZone: "UTC", defaultCountry: "RU"))
        let route = CallKeeperWebhookRoute(sources: [.init(source: Self.source, token: "token-one-1"), .init(source: other, token: "token-two-2")])
        let viaQuery = HTTPRequest(method: "POST", path: route.path, query: ["token": "token-two-2"])
        #expect(try route.authenticate(viaQuery, now: .now()).get().name == "other")
        let viaHeader = HTTPRequest(method: "POST", path: route.path, headers: ["x-callfeed-token": "token-one-1"])
        #expect(try route.authenticate(viaHeader, now: .now()).get().name == "s")
        for bad in ["token-one-", "token-one-11", "TOKEN-ONE-1", ""] {
            #expect(throws: AuthenticationFailure.self) {
                try route.authenticate(HTTPRequest(method: "POST", path: route.path, query: ["token": bad]), now: .now()).get()
            }
        }
        #expect(throws: AuthenticationFailure.self) { try route.authenticate(HTTPRequest(method: "POST", path: route.path), now: .now()).get() }
    }

    /// Rotating a CallKeeper token from the config: during the window both the current and the next
    /// token are accepted (for the same source); after it, only the one left.
    @Test func callKeeperTokenRotationThroughTheConfig() throws {
        func route(_ env: [String: String]) throws -> any WebhookRoute {
            let config = try CallFeedConfiguration.parse("""
            sources:
              callkeeper:
                - {name: ck, account_id: acct, token: "${CK_TOKEN}", tokens: ["${CK_NEXT_TOKEN:-}"]}
            """, environment: env)
            return try #require(Builders.makeRoutes(config).first { $0.path == "/webhooks/callkeeper" })
        }
        func accepts(_ r: any WebhookRoute, _ token: String) -> Bool {
            (try? r.authenticate(HTTPRequest(method: "POST", path: r.path, query: ["token": token]), now: .now()).get().name) == "ck"
        }
        let during = try route(["CK_TOKEN": "current-token-1", "CK_NEXT_TOKEN": "next-token-22"])
        #expect(accepts(during, "current-token-1") && accepts(during, "next-token-22"))
        #expect(!accepts(during, "another-token-3"))
        let after = try route(["CK_TOKEN": "next-token-22"])
        #expect(accepts(after, "next-token-22") && !accepts(after, "current-token-1"))
        #expect(throws: ConfigurationError.self) {
            _ = try route(["CK_TOKEN": "current-token-1", "CK_NEXT_TOKEN": "short"])
        }
    }
}
