import CallFeedApp
import CallFeedCore
import CallFeedIngest
import CallFeedPoll
import CallFeedVendors
import Crypto
import Foundation
import HTTPClient
import HTTPServer
import Logging
import Prometheus
import Synchronization
import Testing
import VendorSandbox
@_spi(Testing) import Warehouse

/// `POST /webhooks/hubspot`: signature v3 vectors, id resolution, the bounded worker, and the
/// sandbox's signed HubSpot webhooks through the real receiver (built from configuration by
/// ``Builders``), which re-reads the calls from the sandbox's HubSpot API into the in-process spine.
@Suite(.serialized) struct HubSpotWebhookTests {
    // MARK: - Signature v3

    static let secret = "hs_test_client_secret_0001"
    static let url = "https://ingest.example.com/webhooks/hubspot?src=hs"
    static let timestamp = "1715711467000"
    static let sentAt = Timestamp(millisecondsSinceEpoch: 1_715_711_467_000)
    static let body = Array(#"[{"eventId":100,"portalId":20000001,"objectId":1234,"objectTypeId":"0-48","subscriptionType":"object.propertyChange","occurredAt":1715711400000}]"#.utf8)
    /// `printf '%s' "POST$url$body$timestamp" | openssl dgst -sha256 -hmac "$secret" -binary | base64`
    static let knownSignature = "8IBX+QhWvDOcbHFKrwpdY+AZjOZjbhE0QO8snbEUcDI="

    static func portal(_ id: String, name: String = "hs-main") -> WebhookSource {
        WebhookSource(name: name, context: MappingContext(accountID: id, timeZone: "UTC", defaultCountry: "US"))
    }

    static func route(_ sources: [HubSpotWebhookRoute.Source]) -> HubSpotWebhookRoute {
        HubSpotWebhookRoute(sources: sources, toleranceSeconds: 300, fetch: { _, _ in
            Issue.record("no fetch expected")
            return []
        })
    }

    static let mainRoute = route([.init(source: portal("20000001"), secrets: ["hs_old_secret", secret], webhookURL: url)])

    func request(signature: String? = knownSignature, timestamp: String? = timestamp, body: [UInt8] = body) -> HTTPRequest {
        var headers = ["content-type": "application/json"]
        headers["x-hubspot-signature-v3"] = signature
        headers["x-hubspot-request-timestamp"] = timestamp
        return HTTPRequest(method: "POST", path: "/webhooks/hubspot", headers: headers, body: body)
    }

    @Test func signatureKnownAnswerAndIndependentHMAC() throws {
        #expect(HubSpotWebhookRoute.signature(secret: Self.secret, webhookURL: Self.url, body: Self.body, timestamp: Self.timestamp)
                == Self.knownSignature)
        // Computed here with swift-crypto, independently of the route's code.
        let message = Array("POST\(Self.url)".utf8) + Self.body + Array(Self.timestamp.utf8)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(Self.secret.utf8)))
        #expect(Data(code).base64EncodedString() == Self.knownSignature)
        // The sandbox signs the same way.
        #expect(WebhookSignature.hubSpotV3(clientSecret: Self.secret, method: "POST", uri: Self.url, body: Self.body, timestamp: Self.timestamp)
                == Self.knownSignature)
        // The fixed set of %xx HubSpot decodes before signing; others stay encoded.
        #expect(HubSpotWebhookRoute.signature(secret: "s", webhookURL: "https://h/p?a=%3a%2F%40&b=%25", body: [], timestamp: "1")
                == HubSpotWebhookRoute.signature(secret: "s", webhookURL: "https://h/p?a=:/@&b=%25", body: [], timestamp: "1"))

        let route = Self.mainRoute
        #expect(route.path == "/webhooks/hubspot" && route.vendor == "hubspot")
        #expect(try route.authenticate(request(), now: Self.sentAt.adding(seconds: 299)).get().name == "hs-main")
        #expect(try route.authenticate(request(), now: Self.sentAt.adding(seconds: -299)).get().name == "hs-main")
        // Rotation: the old secret still verifies while it is listed.
        let old = HubSpotWebhookRoute.signature(secret: "hs_old_secret", webhookURL: Self.url, body: Self.body, timestamp: Self.timestamp)
        #expect(try route.authenticate(request(signature: old), now: Self.sentAt).get().name == "hs-main")
    }

    @Test func signatureRejections() {
        var tampered = Self.body
        tampered[tampered.count - 3] ^= 1
        let wrongSecret = HubSpotWebhookRoute.signature(secret: "not-the-secret", webhookURL: Self.url, body: Self.body, timestamp: Self.timestamp)
        let otherURLRoute = Self.route([.init(source: Self.portal("20000001"), secrets: [Self.secret],
                                              webhookURL: "https://ingest.example.com/webhooks/hubspot")])
        let otherPortalRoute = Self.route([.init(source: Self.portal("20000002"), secrets: [Self.secret], webhookURL: Self.url)])
        let twoPortals = Array(#"[{"portalId":20000001,"objectId":1,"objectTypeId":"0-48"},{"portalId":20000002,"objectId":2,"objectTypeId":"0-48"}]"#.utf8)
        let twoPortalsSigned = HubSpotWebhookRoute.signature(secret: Self.secret, webhookURL: Self.url, body: twoPortals, timestamp: Self.timestamp)
        let route = Self.mainRoute
        let cases: [(String, HubSpotWebhookRoute, HTTPRequest, Timestamp, String)] = [
            ("wrong secret", route, request(signature: wrongSecret), Self.sentAt, "invalid signature"),
            ("wrong configured URL", otherURLRoute, request(), Self.sentAt, "invalid signature"),
            ("tampered body", route, request(body: tampered), Self.sentAt, "invalid signature"),
            ("other timestamp", route, request(timestamp: "1715711467001"), Self.sentAt, "invalid signature"),
            ("old timestamp", route, request(), Self.sentAt.adding(seconds: 301), "X-HubSpot-Request-Timestamp outside the 300 s tolerance"),
            ("future timestamp", route, request(), Self.sentAt.adding(seconds: -301), "X-HubSpot-Request-Timestamp outside the 300 s tolerance"),
            ("seconds timestamp", route, request(timestamp: "1715711467"), Self.sentAt, "X-HubSpot-Request-Timestamp outside the 300 s tolerance"),
            ("not a number", route, request(timestamp: "soon"), Self.sentAt, "X-HubSpot-Request-Timestamp is not epoch milliseconds"),
            ("not base64", route, request(signature: "not base64!"), Self.sentAt, "X-HubSpot-Signature-v3 is not Base64 of a SHA-256 HMAC"),
            ("missing signature", route, request(signature: nil), Self.sentAt, "missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp"),
            ("missing timestamp", route, request(timestamp: nil), Self.sentAt, "missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp"),
            ("unknown portal", otherPortalRoute, request(), Self.sentAt,
             "portalId 20000001 is not a configured HubSpot portal (sources.hubspot[].portal_id)"),
            ("several portals", route, request(signature: twoPortalsSigned, body: twoPortals), Self.sentAt,
             "a delivery for several portals (20000001, 20000002) is not accepted"),
            ("no secrets", Self.route([.init(source: Self.portal("20000001"), secrets: [""], webhookURL: Self.url)]), request(), Self.sentAt,
             "invalid signature"),
        ]
        for (label, route, request, now, reason) in cases {
            switch route.authenticate(request, now: now) {
            case .success: Issue.record("\(label): accepted")
            case .failure(let failure): #expect(failure.reason == reason, "\(label)")
            }
        }
    }

    @Test func theSourceIsThePortalTheEventsName() throws {
        // One app (one secret) installed in two portals: the body's portalId picks the source.
        let route = Self.route([
            .init(source: Self.portal("20000002", name: "hs-two"), secrets: [Self.secret], webhookURL: Self.url),
            .init(source: Self.portal("20000001", name: "hs-one"), secrets: [Self.secret], webhookURL: Self.url),
        ])
        #expect(try route.authenticate(request(), now: Self.sentAt).get().name == "hs-one")
    }

    @Test func resolveCollectsDistinctCallIDsAndSkipsTheRest() throws {
        let payload = try JSONValue.parse(Array("""
        [{"objectId":11,"objectTypeId":"0-48","subscriptionType":"object.propertyChange","propertyName":"hs_call_disposition"},
         {"objectId":12,"objectTypeId":"0-48","subscriptionType":"object.creation"},
         {"objectId":11,"objectTypeId":"0-48","subscriptionType":"object.propertyChange","propertyName":"hs_call_status"},
         {"objectId":501,"objectTypeId":"0-1","subscriptionType":"object.propertyChange"},
         {"objectId":13,"objectTypeId":"0-48","subscriptionType":"object.deletion"},
         {"objectId":"14","objectTypeId":"0-48","subscriptionType":"object.restore"}]
        """.utf8))
        #expect(try Self.mainRoute.resolve(payload, source: Self.portal("20000001")) == ["11", "12", "14"])
        #expect(try Self.mainRoute.resolve(.array([]), source: Self.portal("20000001")).isEmpty)
        for bad in [#"{"objectId":1,"objectTypeId":"0-48"}"#, #"[1]"#, #"[{"objectTypeId":"0-48"}]"#] {
            #expect(throws: MappingError.self, "\(bad)") {
                try Self.mainRoute.resolve(JSONValue.parse(Array(bad.utf8)), source: Self.portal("20000001"))
            }
        }
    }

    @Test func workerRefusesOverItsLimit() {
        let worker = NotificationWorker(label: "test.notifications", limit: 2)
        let gate = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        #expect(worker.submit { gate.wait(); finished.signal() })
        #expect(worker.submit { finished.signal() })
        #expect(!worker.submit { Issue.record("ran over the limit") })
        #expect(worker.pendingCount == 2)
        gate.signal()
        finished.wait()
        finished.wait()
        // The counter drops just after a job returns.
        let deadline = ContinuousClock.now + .seconds(5)
        while worker.pendingCount > 0 && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(worker.pendingCount == 0)
        #expect(worker.submit {})
    }

    // MARK: - Through the receiver, against the sandbox

    /// The receiver built from configuration (one HubSpot source with `webhook_url` and
    /// `client_secrets`), on its own port, publishing into the harness's spine.
    final class Ingest: Sendable {
        let server: HTTPServer
        let url: String
        private let box = ReceiverBox()

        /// The receiver, set once the server's port (part of the configured URL) is known.
        final class ReceiverBox: Sendable {
            let receiver = Mutex<WebhookReceiver?>(nil)
        }

        init(_ h: PollHarness, portal: String? = nil, token: String? = nil, secret: String = "hubspot-sandbox-client-secret") throws {
            let box = self.box
            server = HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0)) { request, responder in
                guard let receiver = box.receiver.withLock({ $0 }) else { return responder.respond(.error(503, "not ready")) }
                receiver.handle(request, responder)
            }
            try server.start()
            url = "http://127.0.0.1:\(server.port)/webhooks/hubspot"
            let account = h.sandbox.accounts(vendor: .hubspot)[0]
            var config = h.pipeline.config
            var source = CallFeedConfiguration.HubSpotSource()
            source.name = "hs-hook"
            source.portalID = portal ?? account.id
            source.webhookURL = url
            source.clientSecrets = [secret]
            var poll = CallFeedConfiguration.PollSource()
            poll.baseURL = h.sandbox.baseURL(for: .hubspot)
            poll.accessToken = token ?? account.credential.key
            source.poll = poll
            config.sources.hubspot = [source]
            #expect(Builders.makeRoutes(config).map(\.path).contains("/webhooks/hubspot"))
            let made = Builders.makeReceiver(config, producer: h.pipeline.producer, registry: PrometheusCollectorRegistry(), logger: h.logger)
            box.receiver.withLock { $0 = made }
        }

        func stop() { server.stop(grace: .seconds(1)) }
    }

    /// One portal, `calls` calls, the first `odd` with an unparseable `hs_timestamp`.
    static func sandbox(calls: Int, odd: Int = 0) -> SandboxConfiguration {
        SandboxConfiguration(seed: 13, accounts: 1, callsPerAccount: calls, from: HubSpotPollerTests.may1, to: HubSpotPollerTests.may4,
                             oddRecords: odd, oddKinds: [.unparseableTime])
    }

    static func batchReads(_ h: PollHarness) -> Int {
        h.sandbox.requests(for: .hubspot).filter { $0.path.hasSuffix("/crm/v3/objects/calls/batch/read") }.count
    }

    @Test("signed sandbox webhooks: each call re-read, published (channel webhook, the poll's event_id), the odd one dead-lettered")
    func sandboxWebhooksPublishTheFetchedCalls() throws {
        let h = try PollHarness(Self.sandbox(calls: 6, odd: 1))
        defer { h.stop() }
        let ingest = try Ingest(h)
        defer { ingest.stop() }
        let calls = h.sandbox.calls(vendor: .hubspot)
        let good = calls.filter { $0.oddity != .unparseableTime }
        #expect(calls.count == 6 && good.count == 5)

        let statuses = try h.sandbox.fireWebhooks(vendor: .hubspot, to: ingest.url, calls: calls)
        #expect(statuses == Array(repeating: 200, count: calls.count))
        #expect(Self.batchReads(h) == calls.count)
        // Dispositions once, for the labels.
        #expect(h.sandbox.requests(for: .hubspot).filter { $0.path.hasSuffix("/calling/v1/dispositions") }.count == 1)

        let rows = try h.waitForCalls(source: "hubspot", count: good.count)
        #expect(Set(rows.keys) == Set(good.map(\.id)))
        let labels = try HubSpotPollerTests.labels(h)
        for call in good {
            let row = try #require(rows[call.id])
            #expect(row["channel"] == .text("webhook"), "\(call.id)")
            #expect(row["event_id"] == .text(EventIdentity.eventID(source: "hubspot", accountID: call.account, callID: call.id)))
            #expect(row["revision"] == .text(EventIdentity.revision(of: try HubSpotPollerTests.expected(call, labels: labels))), "\(call.id)")
        }
        let dead = try h.deadLetters(expecting: 1)
        #expect(dead.count == 1)
        #expect(dead.first?.reason.contains("hs_timestamp") == true)
        #expect(try h.pipeline.count(h.pipeline.topics.raw) == Int64(good.count))

        // A poll of the same calls gives the same event ids: no new rows.
        _ = try h.callPoller(HubSpotPollerTests.source(h), start: HubSpotPollerTests.may1).sync(now: HubSpotPollerTests.may4)
        Thread.sleep(forTimeInterval: 1)
        #expect(Set(try h.callRows(source: "hubspot").keys) == Set(good.map(\.id)))
        #expect(try h.pipeline.rows().count == good.count)
    }

    @Test("a HubSpot outage, a rate-limit storm or a refused token: 503, nothing published")
    func outageAnswers503() throws {
        let h = try PollHarness(Self.sandbox(calls: 2))
        defer { h.stop() }
        let ingest = try Ingest(h)
        defer { ingest.stop() }
        let call = h.sandbox.calls(vendor: .hubspot)[0]
        h.sandbox.faults.fail(vendor: .hubspot, status: 503, count: 10)
        #expect(try h.sandbox.fireWebhooks(vendor: .hubspot, to: ingest.url, calls: [call]) == [503])
        h.sandbox.faults.reset()
        h.sandbox.faults.rateLimitStorm(vendor: .hubspot, count: 10, retryAfter: 0)
        #expect(try h.sandbox.fireWebhooks(vendor: .hubspot, to: ingest.url, calls: [call]) == [503])
        h.sandbox.faults.reset()

        let refused = try Ingest(h, token: "not-a-hubspot-token")
        defer { refused.stop() }
        #expect(try h.sandbox.fireWebhooks(vendor: .hubspot, to: refused.url, calls: [call]) == [503])
        Thread.sleep(forTimeInterval: 0.5)
        for topic in [h.pipeline.topics.calls, h.pipeline.topics.raw, h.pipeline.topics.deadLetters] {
            #expect(try h.pipeline.count(topic) == 0, "\(topic)")
        }
        // Once HubSpot is back, the redelivery goes through.
        #expect(try h.sandbox.fireWebhooks(vendor: .hubspot, to: ingest.url, calls: [call]) == [200])
        #expect(try h.waitForCalls(source: "hubspot", count: 1).count == 1)
    }

    @Test func aRefusedTokenNamesTheCredential() throws {
        let h = try PollHarness(Self.sandbox(calls: 1))
        defer { h.stop() }
        let source = HubSpotPollerTests.source(h, token: "not-a-hubspot-token")
        do {
            _ = try source.fetchCalls(ids: ["1"], client: h.client(maxRetries: 0))
            Issue.record("fetched with a refused token")
        } catch {
            #expect(error.kind == .credentials)
            #expect(error.description.contains("sources.hubspot[hs-test].poll.access_token"))
        }
        // With the right token: the records asked for, ids HubSpot does not know left out.
        let calls = h.sandbox.calls(vendor: .hubspot)
        let records = try HubSpotPollerTests.source(h).fetchCalls(ids: calls.map(\.id) + ["99999999999"], client: h.client())
        #expect(records.compactMap { $0["id"]?.text } == calls.map(\.id))
    }

    @Test("an unknown portal is refused; non-call and deletion events are acknowledged without a fetch")
    func unknownPortalAndNonCallEvents() throws {
        let h = try PollHarness(Self.sandbox(calls: 1))
        defer { h.stop() }
        let other = try Ingest(h, portal: "29999999")
        defer { other.stop() }
        let call = h.sandbox.calls(vendor: .hubspot)[0]
        #expect(try h.sandbox.fireWebhooks(vendor: .hubspot, to: other.url, calls: [call]) == [401])

        let ingest = try Ingest(h)
        defer { ingest.stop() }
        let portal = h.sandbox.accounts(vendor: .hubspot)[0].id
        let body = Array("""
        [{"eventId":1,"portalId":\(portal),"objectId":501,"objectTypeId":"0-1","subscriptionType":"object.propertyChange","occurredAt":1},\
        {"eventId":2,"portalId":\(portal),"objectId":\(call.id),"objectTypeId":"0-48","subscriptionType":"object.deletion","occurredAt":1}]
        """.utf8)
        let timestamp = String(Timestamp.now().millisecondsSinceEpoch)
        let response = try HTTPClient().request("POST", ingest.url, headers: [
            ("Content-Type", "application/json"), ("X-HubSpot-Request-Timestamp", timestamp),
            ("X-HubSpot-Signature-v3", WebhookSignature.hubSpotV3(clientSecret: "hubspot-sandbox-client-secret", method: "POST",
                                                                  uri: ingest.url, body: body, timestamp: timestamp)),
        ], body: body)
        #expect(response.status == 200)
        #expect(response.bodyText.contains("\"published\":0"))
        #expect(h.sandbox.requests(for: .hubspot).isEmpty)
        // A signed body that is not a batch: dead-lettered, 400.
        let object = Array(#"{"objectId":1}"#.utf8)
        let signed = try HTTPClient().request("POST", ingest.url, headers: [
            ("X-HubSpot-Request-Timestamp", timestamp),
            ("X-HubSpot-Signature-v3", WebhookSignature.hubSpotV3(clientSecret: "hubspot-sandbox-client-secret", method: "POST",
                                                                  uri: ingest.url, body: object, timestamp: timestamp)),
        ], body: object)
        #expect(signed.status == 400)
        #expect(try h.deadLetters(expecting: 1).count == 1)
        #expect(try h.pipeline.count(h.pipeline.topics.calls) == 0)
    }
}

