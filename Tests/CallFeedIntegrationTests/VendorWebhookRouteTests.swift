import CallFeedCore
import CallFeedIngest
import CallFeedVendors
import Crypto
import Foundation
import HTTPServer
import Kafka
import Logging
import Prometheus
import Synchronization
import Testing

/// CallRail and JustCall webhook routes: signatures with the vendors' published vectors, rotation,
/// tampering, and one request of each through the real receiver into a mock Kafka cluster.
@Suite struct VendorWebhookRouteTests {
    static let callRailSource = WebhookSource(name: "callrail-main",
                                              context: MappingContext(accountID: "123456789", timeZone: "UTC", defaultCountry: "US"))
    static let justCallSource = WebhookSource(name: "justcall-main",
                                              context: MappingContext(accountID: "jc-account-1", timeZone: "UTC", defaultCountry: "US"))

    // MARK: - Fixtures (the CallFeedCoreTests copies of /work/shared/vendors, read byte-exact)

    static func fixtureBytes(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("CallFeedCoreTests/Fixtures/\(name)")
        return Array(try Data(contentsOf: url))
    }

    // MARK: - CallRail

    static let callRailVectorKey = "072e77e426f92738a72fe23c4d1953b4"
    static let callRailVectorSignature = "UZAHbUdfm3GqL7qzilGozGzWV64="

    func callRailRequest(signature: String?, body: [UInt8]) -> HTTPRequest {
        HTTPRequest(method: "POST", path: "/webhooks/callrail",
                    headers: signature.map { ["signature": $0, "content-type": "application/json"] } ?? [:], body: body)
    }

    @Test func callRailPublishedTestVector() throws {
        let body = try Self.fixtureBytes("callrail.signature-vector.body.json")
        #expect(body.count == 2279 && body.last == UInt8(ascii: "}"))  // byte-exact, no trailing newline
        #expect(CallRailWebhookRoute.signature(key: Self.callRailVectorKey, body: body) == Self.callRailVectorSignature)
        let route = CallRailWebhookRoute(sources: [.init(source: Self.callRailSource, signingKeys: [Self.callRailVectorKey])])
        #expect(route.path == "/webhooks/callrail")
        #expect(route.vendor == "callrail")
        let accepted = try route.authenticate(callRailRequest(signature: Self.callRailVectorSignature, body: body), now: .now()).get()
        #expect(accepted.name == "callrail-main")
    }

    @Test func callRailRejectsTamperedBodySignatureOrMissingHeader() throws {
        let body = try Self.fixtureBytes("callrail.signature-vector.body.json")
        let route = CallRailWebhookRoute(sources: [.init(source: Self.callRailSource, signingKeys: [Self.callRailVectorKey])])
        var tampered = body
        tampered[tampered.count - 3] ^= 1
        // Same JSON, other bytes: the signature is over the raw body, never a re-serialisation.
        let reserialised = Array(String(decoding: body, as: UTF8.self).replacingOccurrences(of: "\",\"", with: "\", \"").utf8)
        let cases: [(String, HTTPRequest, String)] = [
            ("tampered body", callRailRequest(signature: Self.callRailVectorSignature, body: tampered), "invalid signature"),
            ("re-serialised body", callRailRequest(signature: Self.callRailVectorSignature, body: reserialised), "invalid signature"),
            ("other signature", callRailRequest(signature: "VZAHbUdfm3GqL7qzilGozGzWV64=", body: body), "invalid signature"),
            ("truncated signature", callRailRequest(signature: "UZAHbUdfm3GqL7qzilGozGzW", body: body), "invalid signature"),
            ("not base64", callRailRequest(signature: "not base64!", body: body), "Signature is not base64"),
            ("missing header", callRailRequest(signature: nil, body: body), "missing Signature"),
        ]
        for (label, request, reason) in cases {
            switch route.authenticate(request, now: .now()) {
            case .success: Issue.record("\(label): accepted")
            case .failure(let failure): #expect(failure.reason == reason, "\(label)")
            }
        }
        // No key at all (or only empty ones) verifies nothing.
        let keyless = CallRailWebhookRoute(sources: [.init(source: Self.callRailSource, signingKeys: [""])])
        #expect(throws: AuthenticationFailure.self) {
            try keyless.authenticate(callRailRequest(signature: CallRailWebhookRoute.signature(key: "", body: body), body: body), now: .now()).get()
        }
    }

    @Test func callRailRotationAndSourceSelection() throws {
        let body = try Self.fixtureBytes("callrail.webhook.post-call.sample.json")
        let other = WebhookSource(name: "callrail-other", context: MappingContext(accountID: "555", timeZone: "UTC", defaultCountry: "US"))
        let route = CallRailWebhookRoute(sources: [
            .init(source: Self.callRailSource, signingKeys: ["old-key-0001", "new-key-0002"]),
            .init(source: other, signingKeys: ["other-key-0003"]),
        ])
        for key in ["old-key-0001", "new-key-0002"] {
            let request = callRailRequest(signature: CallRailWebhookRoute.signature(key: key, body: body), body: body)
            #expect(try route.authenticate(request, now: .now()).get().name == "callrail-main", "\(key)")
        }
        let viaOther = callRailRequest(signature: CallRailWebhookRoute.signature(key: "other-key-0003", body: body), body: body)
        #expect(try route.authenticate(viaOther, now: .now()).get().name == "callrail-other")
        let retired = callRailRequest(signature: CallRailWebhookRoute.signature(key: "retired-key", body: body), body: body)
        #expect(throws: AuthenticationFailure.self) { try route.authenticate(retired, now: .now()).get() }
    }

    @Test func callRailRouteMapsWithTheSourceContext() throws {
        let route = CallRailWebhookRoute(sources: [])
        let body = try JSONValue.parse(Self.fixtureBytes("callrail.webhook.post-call.sample.json"))
            .setting("resource_id", .string("CAL00000000000000000000000000000001"))
        let content = try route.content(from: body, source: Self.callRailSource)
        #expect(content.sourceAccountID == "123456789")
        #expect(content.sourceCallID == "CAL00000000000000000000000000000001")
    }

    // MARK: - JustCall

    static let justCallSecret = "jc_test_secret_0001"
    static let justCallURL = "https://ingest.example.com/hooks/justcall?src=jc"
    static let justCallTimestamp = "2024-05-14 18:33:10"
    static let justCallSignature = "66629012710073098d1c63611806e1a123c802c23da267661014902d57531625"
    /// `justCallTimestamp` read as UTC.
    static let justCallSentAt = Timestamp(secondsSinceEpoch: 1_715_711_590)

    func justCallRequest(signature: String? = justCallSignature, timestamp: String? = justCallTimestamp,
                         version: String? = "v1", body: [UInt8]) -> HTTPRequest {
        var headers = ["content-type": "application/json"]
        headers["x-justcall-signature"] = signature
        headers["x-justcall-request-timestamp"] = timestamp
        headers["x-justcall-signature-version"] = version
        return HTTPRequest(method: "POST", path: "/webhooks/justcall", headers: headers, body: body)
    }

    func justCallRoute(secrets: [String] = [justCallSecret], url: String = justCallURL) -> JustCallWebhookRoute {
        JustCallWebhookRoute(sources: [.init(source: Self.justCallSource, secrets: secrets, webhookURL: url)])
    }

    @Test func justCallPublishedAndSampleVectors() {
        // The vendor's vector (developer.justcall.io, "Dynamic Webhook Signatures").
        #expect(JustCallWebhookRoute.signature(secret: "ea39089c40790e9dc7a080ec95e849b8fa0fa5fb",
                                               webhookURL: "https://webhook.site/3bcea770-370a-4b09-8b66-426f687e08a4",
                                               type: "call.completed", timestamp: "2024-03-21 17:08:22")
                == "56761bae5b27a784a3ddd2af828bc5def7176bc0a8650199b04c737bd39bbecf")
        // justcall.md §7's vector for the sample file (a URL with `?` and `=` to encode).
        #expect(JustCallWebhookRoute.signature(secret: Self.justCallSecret, webhookURL: Self.justCallURL,
                                               type: "call.completed", timestamp: Self.justCallTimestamp)
                == Self.justCallSignature)
    }

    @Test func justCallAcceptsTheSampleWithinToleranceAndEitherRotatedSecret() throws {
        let body = try Self.fixtureBytes("justcall.webhook.call-completed.sample.json")
        let route = justCallRoute(secrets: ["jc_old_secret", Self.justCallSecret])
        #expect(route.path == "/webhooks/justcall")
        #expect(route.vendor == "justcall")
        let request = justCallRequest(body: body)
        #expect(try route.authenticate(request, now: Self.justCallSentAt.adding(seconds: 299)).get().name == "justcall-main")
        #expect(try route.authenticate(request, now: Self.justCallSentAt.adding(seconds: -299)).get().name == "justcall-main")
        // Upper-case hex and a missing version header (v1 assumed) are fine.
        let upper = justCallRequest(signature: Self.justCallSignature.uppercased(), version: nil, body: body)
        #expect(try route.authenticate(upper, now: Self.justCallSentAt).get().name == "justcall-main")
        // Replays outside the window are refused.
        for offset: Int64 in [301, -301] {
            switch route.authenticate(request, now: Self.justCallSentAt.adding(seconds: offset)) {
            case .success: Issue.record("accepted at \(offset) s")
            case .failure(let failure): #expect(failure.reason == "x-justcall-request-timestamp outside the 300 s tolerance")
            }
        }
        // Rotation: a secret that is no longer listed does not verify.
        #expect(throws: AuthenticationFailure.self) {
            try justCallRoute(secrets: ["jc_old_secret"]).authenticate(request, now: Self.justCallSentAt).get()
        }
    }

    @Test func justCallEpochTimestamp() throws {
        let body = try Self.fixtureBytes("justcall.webhook.call-completed.sample.json")
        let epoch = "1715711590"
        let signature = JustCallWebhookRoute.signature(secret: Self.justCallSecret, webhookURL: Self.justCallURL,
                                                       type: "call.completed", timestamp: epoch)
        let request = justCallRequest(signature: signature, timestamp: epoch, body: body)
        #expect(try justCallRoute().authenticate(request, now: Self.justCallSentAt.adding(seconds: 10)).get().name == "justcall-main")
    }

    @Test func justCallRejectsChangesToWhatIsSigned() throws {
        let body = try Self.fixtureBytes("justcall.webhook.call-completed.sample.json")
        let route = justCallRoute()
        let now = Self.justCallSentAt
        let otherType = Array(String(decoding: body, as: UTF8.self)
            .replacingOccurrences(of: "\"call.completed\"", with: "\"call.updated\"").utf8)
        var flipped = Array(Self.justCallSignature)
        flipped[0] = flipped[0] == "6" ? "7" : "6"
        let cases: [(String, HTTPRequest, JustCallWebhookRoute, String)] = [
            ("other type in the body", justCallRequest(body: otherType), route, "invalid signature"),
            ("other timestamp", justCallRequest(timestamp: "2024-05-14 18:33:11", body: body), route, "invalid signature"),
            ("other configured URL", justCallRequest(body: body), justCallRoute(url: "https://ingest.example.com/hooks/justcall"),
             "invalid signature"),
            ("tampered signature", justCallRequest(signature: String(flipped), body: body), route, "invalid signature"),
            ("short signature", justCallRequest(signature: String(Self.justCallSignature.dropLast(2)), body: body), route,
             "x-justcall-signature is not 64 hex digits"),
            ("not hex", justCallRequest(signature: String(repeating: "zz", count: 32), body: body), route,
             "x-justcall-signature is not 64 hex digits"),
            ("missing signature", justCallRequest(signature: nil, body: body), route,
             "missing x-justcall-signature or x-justcall-request-timestamp"),
            ("missing timestamp", justCallRequest(timestamp: nil, body: body), route,
             "missing x-justcall-signature or x-justcall-request-timestamp"),
            ("bad timestamp", justCallRequest(timestamp: "soon", body: body), route, "x-justcall-request-timestamp is not a time"),
            ("other version", justCallRequest(version: "v2", body: body), route,
             "unsupported x-justcall-signature-version \"v2\" (expected v1)"),
            ("no type", justCallRequest(body: Array(#"{"data":{"id":1}}"#.utf8)), route, "body has no type to verify the signature with"),
            ("not JSON", justCallRequest(body: Array("type=call.completed".utf8)), route, "body has no type to verify the signature with"),
        ]
        for (label, request, route, reason) in cases {
            switch route.authenticate(request, now: now) {
            case .success: Issue.record("\(label): accepted")
            case .failure(let failure): #expect(failure.reason == reason, "\(label)")
            }
        }
    }

    @Test func justCallSignsTheConfiguredURLNotTheBodysAndNotTheData() throws {
        let body = try JSONValue.parse(Self.fixtureBytes("justcall.webhook.call-completed.sample.json"))
        // The body's webhook_url is ignored: pointing it elsewhere changes nothing.
        let otherURL = try body.setting("webhook_url", .string("https://attacker.example/hook")).bytes()
        #expect(try justCallRoute().authenticate(justCallRequest(body: otherURL), now: Self.justCallSentAt).get().name == "justcall-main")
        // JustCall does not sign `data` (documented limitation): a changed call still verifies.
        let data = try #require(body["data"]).setting("contact_number", .string("15555550999"))
        let otherData = try body.setting("data", data).bytes()
        #expect(try justCallRoute().authenticate(justCallRequest(body: otherData), now: Self.justCallSentAt).get().name == "justcall-main")
    }

    @Test func justCallURLEncodingMatchesPythonQuoteSafeEmpty() {
        let url = "https://a.example/p?q=1&r=a b~._-ü"
        // Python: urllib.parse.quote(url, safe="")
        let encoded = "https%3A%2F%2Fa.example%2Fp%3Fq%3D1%26r%3Da%20b~._-%C3%BC"
        let code = HMAC<SHA256>.authenticationCode(for: Data("s|\(encoded)|t|1".utf8), using: SymmetricKey(data: Data("s".utf8)))
        let expected = code.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
        #expect(JustCallWebhookRoute.signature(secret: "s", webhookURL: url, type: "t", timestamp: "1") == expected)
    }

    // MARK: - Through the receiver

    // The limit only catches a hang: on 2 cores the blocking poller suites can hold the cooperative
    // pool for minutes before this async test runs (a fresh-clone run took 203 s under a 1-minute limit).
    @Test(.timeLimit(.minutes(6)))
    func signedHooksThroughTheReceiver() async throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        let topics = Topics(prefix: "vendor-route-test")
        for topic in topics.all { try cluster.createTopic(topic, partitions: 1) }
        let producer = try KafkaProducer(properties: ["bootstrap.servers": cluster.bootstrapServers, "message.timeout.ms": "10000"])
        defer { producer.close() }
        let receiver = WebhookReceiver(
            routes: [
                CallRailWebhookRoute(sources: [.init(source: Self.callRailSource, signingKeys: ["cr-key-0001"])]),
                justCallRoute(),
            ],
            publisher: EventPublisher(producer: producer, topics: topics),
            metrics: IngestMetrics(registry: PrometheusCollectorRegistry()),
            logger: Logger(label: "vendor-route-test", factory: { _ in SwiftLogNoOpLogHandler() }),
            clock: { Self.justCallSentAt.adding(seconds: 5) })

        // CallRail: a current body (with resource_id) → 202 with the API record's event_id.
        let callRailJSON = try JSONValue.parse(Self.fixtureBytes("callrail.webhook.post-call.sample.json"))
        let callRailBody = try callRailJSON.setting("resource_id", .string("CAL00000000000000000000000000000001")).bytes()
        let signed = callRailRequest(signature: CallRailWebhookRoute.signature(key: "cr-key-0001", body: callRailBody), body: callRailBody)
        let accepted = await Self.answer(receiver, signed)
        #expect(accepted.status == 202)
        let expectedCallRailID = EventIdentity.eventID(source: "callrail", accountID: "123456789",
                                                       callID: "CAL00000000000000000000000000000001")
        #expect(String(decoding: accepted.body, as: UTF8.self).contains("\"event_id\":\"\(expectedCallRailID)\""))
        // Bad signature: 401. Legacy body (numeric id only), correctly signed: 400 with the reason.
        let forged = callRailRequest(signature: CallRailWebhookRoute.signature(key: "wrong", body: callRailBody), body: callRailBody)
        #expect(await Self.answer(receiver, forged).status == 401)
        let legacyBody = try Self.fixtureBytes("callrail.webhook.post-call.sample.json")
        let legacy = await Self.answer(receiver, callRailRequest(signature: CallRailWebhookRoute.signature(key: "cr-key-0001", body: legacyBody),
                                                                  body: legacyBody))
        #expect(legacy.status == 400)
        #expect(String(decoding: legacy.body, as: UTF8.self).contains("missing call id (resource_id)"))

        // JustCall: the sample with the sample's vector → 202 with the call's event_id.
        let justCall = await Self.answer(receiver, justCallRequest(body: try Self.fixtureBytes("justcall.webhook.call-completed.sample.json")))
        #expect(justCall.status == 202)
        let expectedJustCallID = EventIdentity.eventID(source: "justcall", accountID: "jc-account-1", callID: "918273645")
        #expect(String(decoding: justCall.body, as: UTF8.self).contains("\"event_id\":\"\(expectedJustCallID)\""))
        let stale = justCallRequest(timestamp: "2024-05-14 18:20:00", body: try Self.fixtureBytes("justcall.webhook.call-completed.sample.json"))
        #expect(await Self.answer(receiver, stale).status == 401)
    }

    /// The receiver's one answer to `request`.
    static func answer(_ receiver: WebhookReceiver, _ request: HTTPRequest) async -> HTTPResponse {
        await withCheckedContinuation { continuation in
            receiver.handle(request, OnceResponder(continuation))
        }
    }
}

/// Resumes a continuation with the first response; later ones are ignored, as `HTTPResponder` requires.
private final class OnceResponder: HTTPResponder {
    private let continuation: Mutex<CheckedContinuation<HTTPResponse, Never>?>

    init(_ continuation: CheckedContinuation<HTTPResponse, Never>) {
        self.continuation = Mutex(continuation)
    }

    func respond(_ response: HTTPResponse) {
        continuation.withLock { pending in
            pending?.resume(returning: response)
            pending = nil
        }
    }
}

extension JSONValue {
    /// A copy of this object with member `key` set, or removed when `value` is `nil`.
    fileprivate func setting(_ key: String, _ value: JSONValue?) -> JSONValue {
        guard case .object(var members) = self else { return self }
        members[key] = value
        return .object(members)
    }

    /// The value as JSON bytes.
    fileprivate func bytes() throws -> [UInt8] {
        Array(try JSONEncoder().encode(self))
    }
}
