import CallFeedCore
import HTTPClient
import Synchronization

/// A webhook as a vendor would send it: headers and the exact body bytes.
public struct SandboxWebhook: Sendable {
    public var headers: [(String, String)]
    public var body: [UInt8]

    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

extension VendorSandbox {
    /// The webhook `vendor` would POST to `url` for `call` (its current version): CTM's call object
    /// with `X-CTM-Time`/`X-CTM-Signature`; CallKeeper's Webhookcall JSON (callback calls; `id` =
    /// the record's `cbCallId`) or its calltracking webhook (calltracking calls; no id); CallRail's
    /// Post-Call body with `Signature`; JustCall's `call.completed` envelope with
    /// `x-justcall-signature`. Signing keys come from ``SandboxConfiguration``.
    public func webhook(vendor: SandboxVendor, to url: String, call: SandboxCall) -> SandboxWebhook {
        guard let api = apis[vendor] else { preconditionFailure("unknown sandbox vendor \(vendor)") }
        let (current, account) = data.withLock { all -> (SandboxCall, SandboxAccount?) in
            let dataset = all[vendor]
            let latest = dataset?.calls[call.account]?.first { $0.id == call.id } ?? call
            return (latest, dataset?.account(call.account))
        }
        guard let account else { preconditionFailure("\(vendor) has no sandbox account \(call.account)") }
        let delivery = api.webhook(for: current, account: account, url: url, configuration: configuration, now: configuration.now())
        return SandboxWebhook(headers: delivery.headers, body: delivery.body)
    }

    /// POSTs the vendor's webhook for each call to `url`, one after another, and returns the
    /// statuses the receiver answered, in order.
    ///
    /// - Important: Blocks the calling thread for each round trip (libcurl); call it from a test's
    ///   thread, never from the server's own handler.
    /// - Throws: ``HTTPClient/HTTPClientError`` when a POST cannot be delivered at all.
    public func fireWebhooks(vendor: SandboxVendor, to url: String, calls: [SandboxCall]) throws(HTTPClientError) -> [Int] {
        let client = HTTPClient(connectTimeoutSeconds: 5, totalTimeoutSeconds: 30)
        var statuses: [Int] = []
        for call in calls {
            let hook = webhook(vendor: vendor, to: url, call: call)
            statuses.append(try client.request("POST", url, headers: hook.headers, body: hook.body).status)
        }
        return statuses
    }
}
