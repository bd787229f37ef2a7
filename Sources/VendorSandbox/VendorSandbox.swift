import CallFeedCore
import Dispatch
import HTTPServer
import Synchronization

/// Why the sandbox could not do what was asked.
public struct VendorSandboxError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// Our own server playing each vendor's documented API, quirks included: CTM under `/ctm`,
/// CallKeeper under `/callkeeper`, CallRail under `/callrail`, JustCall under `/justcall`, HubSpot
/// under `/hubspot`, CleverTap under `/clevertap`, Five9 (SOAP) under `/five9`, all on one port. Data is generated deterministically from ``SandboxConfiguration/seed``; tests read it
/// (``calls(vendor:account:)``), change it (``addCall(vendor:account:at:oddity:changes:)``,
/// ``updateCall(vendor:account:id:_:)``), inject faults (``faults``), read the request log
/// (``requests``) and fire the vendors' webhooks (``fireWebhooks(vendor:to:calls:)``). With
/// ``SandboxConfiguration/controlEndpoints`` a test in another process does the same over HTTP
/// under `/_sandbox/` (VendorSandbox+Control.swift).
///
/// Requests are answered on the HTTP server's thread from an in-memory snapshot; a slow fault
/// answers later from a dispatch queue, never blocking that thread. See docs/sandbox.md.
public final class VendorSandbox: Sendable {
    public let configuration: SandboxConfiguration
    /// Fault injection for the vendors' next requests.
    public let faults = SandboxFaults()

    let apis: [SandboxVendor: any VendorAPI]
    let data: Mutex<[SandboxVendor: VendorDataset]>
    let limiter = SandboxRateLimiter()
    private let log = Mutex<[SandboxRequest]>([])
    private let listener = Mutex<Listener?>(nil)

    private struct Listener {
        var server: HTTPServer
        var host: String
        var port: UInt16
    }

    /// Generates every vendor's data; the server starts with ``start(host:port:)``.
    public init(configuration: SandboxConfiguration = SandboxConfiguration()) {
        self.configuration = configuration
        let all: [any VendorAPI] = [CTMAPI(), CallKeeperAPI(), CallRailAPI(), JustCallAPI(), CleverTapAPI(), Five9API(), HubSpotAPI()]
        apis = Dictionary(uniqueKeysWithValues: all.map { ($0.vendor, $0) })
        data = Mutex(Dictionary(uniqueKeysWithValues: all.map { ($0.vendor, VendorDataset.generate(for: $0, configuration: configuration)) }))
    }

    deinit { stop() }

    // MARK: - Lifecycle

    /// Starts listening.
    /// - Parameters:
    ///   - host: Address to bind (`127.0.0.1` by default; `0.0.0.0` for every interface).
    ///   - port: 0 picks a free port (read it from ``port``).
    /// - Throws: ``VendorSandboxError`` when the address cannot be bound or the sandbox already runs.
    public func start(host: String = "127.0.0.1", port: UInt16 = 0) throws(VendorSandboxError) {
        try listener.withLock { (current: inout Listener?) throws(VendorSandboxError) in
            guard current == nil else { throw VendorSandboxError(reason: "the sandbox is already running on port \(current?.port ?? 0)") }
            let server = HTTPServer(configuration: HTTPServerConfiguration(host: host, port: port, maxBodyBytes: 1 << 20,
                                                                           responseDeadline: configuration.responseDeadline)) { [weak self] request, responder in
                guard let self else { return responder.respond(.error(503, "sandbox stopped")) }
                self.handle(request, responder: responder)
            }
            do {
                try server.start()
            } catch {
                throw VendorSandboxError(reason: "cannot start the vendor sandbox: \(error)")
            }
            current = Listener(server: server, host: host, port: server.port)
        }
    }

    /// Stops the server; requests still waiting (slow faults) get 503. Idempotent.
    public func stop() {
        let running = listener.withLock { current -> Listener? in
            defer { current = nil }
            return current
        }
        running?.server.stop(grace: .milliseconds(200))
    }

    /// The bound port (0 before ``start(host:port:)``).
    public var port: UInt16 { listener.withLock { $0?.port ?? 0 } }

    /// Where a poller points for `vendor`: `http://127.0.0.1:PORT/ctm`. Append the vendor's own
    /// paths (`/api/v1/accounts`, `/api/index.php?json/v3/…`, `/v3/a.json`, `/v2.1/calls`).
    public func baseURL(for vendor: SandboxVendor) -> String { rootURL + vendor.pathPrefix }

    /// `http://127.0.0.1:PORT`: the server itself, reachable also when bound to every interface.
    var rootURL: String {
        let (host, port) = listener.withLock { ($0?.host ?? "127.0.0.1", $0?.port ?? 0) }
        let reachable = host == "0.0.0.0" || host == "::" || host.isEmpty ? "127.0.0.1" : host
        return "http://\(reachable.contains(":") ? "[\(reachable)]" : reachable):\(port)"
    }

    // MARK: - Request log

    /// Every request answered so far, oldest first.
    public var requests: [SandboxRequest] { log.withLock { $0 } }

    /// The requests for one vendor.
    public func requests(for vendor: SandboxVendor) -> [SandboxRequest] { log.withLock { $0.filter { $0.vendor == vendor } } }

    /// Empties the request log.
    public func clearRequests() { log.withLock { $0.removeAll() } }

    /// Forgets the requests counted against every vendor's rate limit.
    public func resetRateLimits() { limiter.reset() }

    // MARK: - Serving

    private func handle(_ http: HTTPRequest, responder: any HTTPResponder) {
        let now = configuration.now()
        let first = http.path.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        if first == Self.controlSegment && configuration.controlEndpoints {
            return responder.respond(control(http))
        }
        guard let vendor = SandboxVendor(name: first), let api = apis[vendor] else {
            let response = index(http)
            record(nil, http, response.status, now)
            return responder.respond(response)
        }
        let host = http.header("Host") ?? "127.0.0.1:\(port)"
        let request = APIRequest(http: http, vendor: vendor, path: String(http.path.dropFirst(vendor.pathPrefix.count)),
                                 baseURL: "http://\(host)\(vendor.pathPrefix)")
        let plan = faults.next(for: vendor)
        let limit = configuration.rateLimit(for: vendor)
        var response: HTTPResponse
        let outcome: SandboxRequest.Outcome
        if let storm = plan.storm {
            (response, outcome) = (api.tooManyRequests(retryAfterSeconds: storm.retryAfterSeconds), .injectedStorm)
        } else if let status = plan.failureStatus {
            (response, outcome) = (api.serverError(status: status), .injectedFailure)
        } else {
            (response, outcome) = serve(request, api: api, limit: limit, now: now)
        }
        response.headers += api.rateLimitHeaders(limiter.state(vendor, limit: limit, now: now))
        record(vendor, http, response.status, now, outcome: outcome, delay: plan.delay)
        if let delay = plan.delay {
            let seconds = delay.timeInterval
            let answer = response
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { responder.respond(answer) }
        } else {
            responder.respond(response)
        }
    }

    /// Authentication, then the rate limit, then the vendor's route.
    private func serve(_ request: APIRequest, api: any VendorAPI, limit: SandboxRateLimit,
                       now: Timestamp) -> (HTTPResponse, SandboxRequest.Outcome) {
        guard let dataset = data.withLock({ $0[request.vendor] }) else { return (.error(500, "no data for \(request.vendor)"), .served) }
        let context = VendorContext(configuration: configuration, dataset: dataset, now: now)
        let access: VendorAccess
        switch api.authenticate(request, context: context) {
        case .success(let granted): access = granted
        case .failure(let refused): return (refused.response, .served)
        }
        if let operation = api.operationLimit(for: request, configuration: configuration),
           case .refused(let retryAfter) = limiter.admit(bucket: "\(request.vendor.name)/\(operation.operation)", limit: operation.limit, now: now) {
            return (api.tooManyRequests(retryAfterSeconds: operation.limit.sendsRetryAfter ? retryAfter : nil), .overBudget)
        }
        if case .refused(let retryAfter) = limiter.admit(request.vendor, limit: limit, now: now) {
            return (api.tooManyRequests(retryAfterSeconds: limit.sendsRetryAfter ? retryAfter : nil), .overBudget)
        }
        return (api.respond(to: request, access: access, context: context), .served)
    }

    private func record(_ vendor: SandboxVendor?, _ http: HTTPRequest, _ status: Int, _ now: Timestamp,
                        outcome: SandboxRequest.Outcome = .served, delay: Duration? = nil) {
        let entry = SandboxRequest(vendor: vendor, method: http.method, path: http.path, query: http.query, status: status,
                                   time: now, outcome: outcome, delay: delay)
        log.withLock { $0.append(entry) }
    }

    /// `GET /`: where each vendor lives; `/healthz`: ok; anything else 404.
    private func index(_ http: HTTPRequest) -> HTTPResponse {
        switch http.path {
        case "/healthz": return .text(200, "ok\n")
        case "/":
            var vendors: [String: JSONValue] = [:]
            for vendor in SandboxVendor.all { vendors[vendor.name] = .string(vendor.pathPrefix) }
            return .json(200, .object(["service": .string("callfeed vendor sandbox"), "vendors": .object(vendors),
                                       "docs": .string("docs/sandbox.md")]))
        default:
            return .error(404, "unknown path: vendors live under " + SandboxVendor.all.map(\.pathPrefix).joined(separator: ", "))
        }
    }
}
