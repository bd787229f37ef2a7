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

    /// CTM signs each account's hooks with that account's secret: `webhook_secrets` maps account
    /// ids to secrets, the verifying secret names the account, and it cannot speak for another.
    @Test func ctmPerAccountSecretsPickTheAccountAndPinIt() throws {
        let config = try CallFeedConfiguration.parse("""
            sources:
              ctm:
                - name: agency
                  account_id: "1"
                  secrets: [agency-wide-secret]
                  webhook_secrets:
                    "777": [secret-777-old, secret-777-new]
                    "888": [secret-888]
            """, environment: [:])
        #expect(config.redactedSummary.contains("webhook_secrets=777:2x***,888:1x***"))
        #expect(!config.redactedSummary.contains("secret-777"))
        let route = try #require(Builders.makeRoutes(config).first { $0.path == "/webhooks/ctm" })
        let now = Timestamp(secondsSinceEpoch: 1_715_711_467)
        func body(_ account: String) -> [UInt8] {
            Array(#"{"id":90000001,"account_id":\#(account),"direction":"inbound","caller_number":"+15555550123","tracking_number":"+15555550100","duration":125,"unix_time":1715711400}"#.utf8)
        }
        func request(_ secret: String, _ body: [UInt8]) -> HTTPRequest {
            ctmRequest(time: "1715711467", signature: CTMWebhookRoute.signature(secret: secret, time: "1715711467", body: body), body: body)
        }
        // Both secrets of 777 (a rotation window), and 888's: each picks its own account.
        for (secret, account) in [("secret-777-old", "777"), ("secret-777-new", "777"), ("secret-888", "888"), ("agency-wide-secret", "1")] {
            let source = try route.authenticate(request(secret, body(account)), now: now).get()
            #expect(source.context.accountID == account, "\(secret)")
            #expect(try route.content(from: try JSONValue.parse(body(account)), source: source).sourceAccountID == account)
        }
        // 777's secret on a hook that names 888: refused with the reason, not loaded as 888's call.
        let forged = try route.authenticate(request("secret-777-new", body("888")), now: now).get()
        let refused = #expect(throws: MappingError.self) { _ = try route.content(from: try JSONValue.parse(body("888")), source: forged) }
        #expect(refused?.reason.contains("signed with account 777's secret but names account 888") == true)
        // The agency-wide secret (not pinned) may speak for any account, as before.
        let wide = try route.authenticate(request("agency-wide-secret", body("888")), now: now).get()
        #expect(try route.content(from: try JSONValue.parse(body("888")), source: wide).sourceAccountID == "888")
        // A secret nobody configured: 401.
        #expect(throws: AuthenticationFailure.self) { try route.authenticate(request("secret-999", body("999")), now: now).get() }
        // An empty list is a configuration error naming the account.
        #expect(throws: ConfigurationError.self) {
            _ = try CallFeedConfiguration.parse("sources:\n  ctm:\n    - webhook_secrets: {\"777\": []}\n", environment: [:])
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
