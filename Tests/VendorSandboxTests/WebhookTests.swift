import CallFeedCore
import Foundation
import HTTPClient
import HTTPServer
import Synchronization
import Testing
import VendorSandbox

/// The signers against published vectors, and webhooks fired at a real receiver.
@Suite struct WebhookTests {
    // MARK: - Signers

    @Test func callRailSignerMatchesThePublishedVector() throws {
        // Read raw: the vector is over the exact bytes (no trailing newline).
        let path = "/work/shared/vendors/callrail.signature-vector.body.json"
        let body = try #require(FileManager.default.contents(atPath: path), "vendor vector file missing at \(path)")
        #expect(WebhookSignature.callRail(signingKey: "072e77e426f92738a72fe23c4d1953b4", body: Array(body)) == "UZAHbUdfm3GqL7qzilGozGzWV64=")
        // One byte more and it no longer matches.
        #expect(WebhookSignature.callRail(signingKey: "072e77e426f92738a72fe23c4d1953b4", body: Array(body) + [10]) != "UZAHbUdfm3GqL7qzilGozGzWV64=")
    }

    @Test func ctmSignerMatchesTheNoteVector() {
        let body = #"{"id":90000001,"direction":"inbound","caller_number":"+15555550123","tracking_number":"+15555550100","duration":125,"unix_time":1715711400}"#
        #expect(WebhookSignature.ctm(secret: "ctm_test_secret_0001", time: "1715711467", body: Array(body.utf8)) == "YGZxgsSiOeZFOy4SBRDMFLqi9dE=")
    }

    @Test func justCallSignerMatchesThePublishedAndOwnVectors() {
        #expect(WebhookSignature.justCall(secret: "ea39089c40790e9dc7a080ec95e849b8fa0fa5fb",
                                          url: "https://webhook.site/3bcea770-370a-4b09-8b66-426f687e08a4",
                                          type: "call.completed", timestamp: "2024-03-21 17:08:22")
                == "56761bae5b27a784a3ddd2af828bc5def7176bc0a8650199b04c737bd39bbecf")
        #expect(WebhookSignature.justCall(secret: "jc_test_secret_0001", url: "https://ingest.example.com/hooks/justcall?src=jc",
                                          type: "call.completed", timestamp: "2024-05-14 18:33:10")
                == "66629012710073098d1c63611806e1a123c802c23da267661014902d57531625")
    }

    // MARK: - Firing

    /// What the receiver saw.
    struct Received: Sendable {
        var path: String
        var headers: [String: String]
        var body: [UInt8]
    }

    /// Everything the receiver got, in order.
    final class ReceivedLog: Sendable {
        private let items = Mutex<[Received]>([])
        func append(_ item: Received) { items.withLock { $0.append(item) } }
        var all: [Received] { items.withLock { $0 } }
    }

    /// A receiver that verifies each vendor's signature and answers 202 (valid) or 401.
    func withReceiver(_ configuration: SandboxConfiguration, _ body: (String, ReceivedLog) throws -> Void) throws {
        let received = ReceivedLog()
        let server = HTTPServer(configuration: .init(port: 0)) { request, responder in
            received.append(Received(path: request.path, headers: request.headers, body: request.body))
            let valid: Bool
            switch request.path {
            case "/hooks/ctm":
                let time = request.header("X-CTM-Time") ?? ""
                valid = request.header("X-CTM-Signature") == WebhookSignature.ctm(secret: configuration.ctm.secretKey, time: time, body: request.body)
            case "/hooks/callrail":
                valid = request.header("Signature") == WebhookSignature.callRail(signingKey: configuration.callRail.signingKey, body: request.body)
            case "/hooks/justcall":
                let url = "http://127.0.0.1:\(request.header("Host")?.split(separator: ":").last ?? "")/hooks/justcall"
                valid = request.header("x-justcall-signature") == WebhookSignature.justCall(
                    secret: configuration.justCall.apiSecret, url: url, type: "call.completed",
                    timestamp: request.header("x-justcall-request-timestamp") ?? "")
            default:
                valid = true  // CallKeeper signs nothing
            }
            responder.respond(.text(valid ? 202 : 401, valid ? "accepted" : "bad signature"))
        }
        try server.start()
        defer { server.stop(grace: .milliseconds(100)) }
        try body("http://127.0.0.1:\(server.port)/hooks", received)
    }

    @Test func ctmAndCallRailWebhooksCarryValidSignatures() throws {
        let configuration = testConfiguration()
        let sandbox = VendorSandbox(configuration: configuration)
        try withReceiver(configuration) { base, received in
            let ctmCalls = Array(sandbox.calls(vendor: .ctm).prefix(3))
            #expect(try sandbox.fireWebhooks(vendor: .ctm, to: base + "/ctm", calls: ctmCalls) == [202, 202, 202])
            let callRailCalls = Array(sandbox.calls(vendor: .callrail).prefix(3))
            #expect(try sandbox.fireWebhooks(vendor: .callrail, to: base + "/callrail", calls: callRailCalls) == [202, 202, 202])

            let seen = received.all
            #expect(seen.count == 6)
            // CTM's body is the API's call object (ctm.md §7).
            #expect(try JSONValue.parse(seen[0].body) == ctmCalls[0].record)
            // CallRail's carries the legacy numeric id and the CAL id as resource_id (callrail.md §7).
            let hook = try JSONValue.parse(seen[3].body)
            #expect(hook["resource_id"]?.text == callRailCalls[0].id)
            if case .int = hook["id"] ?? .null {} else { Issue.record("CallRail webhook id should be the legacy number") }
            if case .string = hook["duration"] ?? .null {} else { Issue.record("CallRail webhook duration should be a string") }
        }
        // A receiver with another signing key refuses them: the check above can fail.
        var other = configuration
        other.ctm.secretKey = "another_secret"
        try withReceiver(other) { base, _ in
            let statuses = try sandbox.fireWebhooks(vendor: .ctm, to: base + "/ctm", calls: Array(sandbox.calls(vendor: .ctm).prefix(1)))
            #expect(statuses == [401])
        }
    }

    @Test func justCallAndCallKeeperWebhooks() throws {
        let configuration = testConfiguration()
        let sandbox = VendorSandbox(configuration: configuration)
        try withReceiver(configuration) { base, received in
            let justCall = Array(sandbox.calls(vendor: .justcall, account: sandbox.accounts(vendor: .justcall)[0].id).prefix(2))
            #expect(try sandbox.fireWebhooks(vendor: .justcall, to: base + "/justcall", calls: justCall) == [202, 202])
            let callbackCalls = sandbox.calls(vendor: .callkeeper).filter { $0.record["serviceType"]?.text == "callback" }.prefix(2)
            #expect(try sandbox.fireWebhooks(vendor: .callkeeper, to: base + "/callkeeper", calls: Array(callbackCalls)) == [202, 202])

            let seen = received.all
            let envelope = try JSONValue.parse(seen[0].body)
            #expect(envelope["type"]?.text == "call.completed")
            // `data` is the API call object (JSON numbers like 0.0 come back as integers, so compare keys and ids).
            #expect(envelope["data"]?.objectValue?.keys.sorted() == justCall[0].record.objectValue?.keys.sorted())
            #expect(envelope["data"]?["id"] == justCall[0].record["id"])
            #expect(envelope["webhook_url"]?.text == base + "/justcall")
            #expect(seen[0].headers["x-justcall-signature-version"] == "v1")
            // The Webhookcall id is the API record's cbCallId, so webhook and poll name one call.
            for (hook, call) in zip(seen[2...], callbackCalls) {
                let body = try JSONValue.parse(hook.body)
                #expect(body["id"] == call.record["cbCallId"])
                #expect(body["hook_event"]?.text == "Call is over")
                #expect(body["phone2"] == call.record["clientNumber"])
            }
        }
    }

    @Test func webhooksCarryTheCallAsUpdated() throws {
        let sandbox = VendorSandbox(configuration: testConfiguration())
        let call = sandbox.calls(vendor: .ctm)[2]
        sandbox.updateCall(vendor: .ctm, account: call.account, id: call.id, .recording("https://example.invalid/late.mp3"))
        let hook = sandbox.webhook(vendor: .ctm, to: "http://127.0.0.1:1/", call: call)
        #expect(try JSONValue.parse(hook.body)["audio"]?.text == "https://example.invalid/late.mp3")
        let time = try #require(hook.header("X-CTM-Time"))
        #expect(hook.header("X-CTM-Signature") == WebhookSignature.ctm(secret: "ctm_sandbox_secret_key", time: time, body: hook.body))
    }
}
