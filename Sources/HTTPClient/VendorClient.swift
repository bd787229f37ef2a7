import Foundation

/// How a vendor client retries: timeouts, 429 and 5xx, with exponential backoff (factor 2, max 3
/// retries by default), honouring `Retry-After` when the vendor sends it.
public struct RetryPolicy: Sendable {
    public var maxRetries: Int
    public var initialDelay: Duration
    public var factor: Double
    public var maxDelay: Duration
    public init(maxRetries: Int = 3, initialDelay: Duration = .seconds(1), factor: Double = 2, maxDelay: Duration = .seconds(60)) {
        self.maxRetries = maxRetries; self.initialDelay = initialDelay; self.factor = factor; self.maxDelay = maxDelay
    }

    func delay(afterAttempt attempt: Int) -> Duration {
        let seconds = Double(initialDelay.components.seconds) + Double(initialDelay.components.attoseconds) / 1e18
        let d = seconds * pow(factor, Double(attempt))
        return min(.milliseconds(Int64(d * 1000)), maxDelay)
    }
}

/// Why a vendor request failed for good.
public enum VendorHTTPError: Error, Sendable, CustomStringConvertible {
    /// 401/403: the credential is wrong or lacks rights. Stop this source; do not retry.
    case unauthorized(status: Int, body: String)
    /// Still failing after every retry (the last status, or the transport error).
    case exhausted(attempts: Int, lastStatus: Int?, reason: String)
    /// A 4xx other than 401/403/429: the request itself is wrong.
    case rejected(status: Int, body: String)

    public var description: String {
        switch self {
        case .unauthorized(let status, let body): return "HTTP \(status) (credentials refused): \(body.prefix(200))"
        case .exhausted(let attempts, let status, let reason): return "gave up after \(attempts) attempts (last status \(status.map(String.init) ?? "none")): \(reason)"
        case .rejected(let status, let body): return "HTTP \(status): \(body.prefix(300))"
        }
    }
}

/// A libcurl client for one vendor source: every request first waits for the source's rate
/// limiter, retries what is worth retrying, and reads the vendor's rate-limit headers.
/// Blocking; one per poller thread.
public final class VendorClient: @unchecked Sendable {
    public let http: HTTPClient
    public let limiter: RateLimiter
    public let retry: RetryPolicy
    /// Headers sent with every request (auth).
    public var defaultHeaders: [(String, String)]
    /// Requests sent, retries included (for per-run statistics).
    public private(set) var requestCount = 0

    public init(http: HTTPClient = HTTPClient(), limiter: RateLimiter, retry: RetryPolicy = RetryPolicy(), defaultHeaders: [(String, String)] = []) {
        self.http = http; self.limiter = limiter; self.retry = retry; self.defaultHeaders = defaultHeaders
    }

    /// GET with limits and retries. Returns 2xx responses; throws ``VendorHTTPError`` otherwise.
    /// `acceptStatus` lets a connector treat a documented non-2xx body as data (e.g. CallKeeper's
    /// "No rows found").
    public func get(_ url: String, headers: [(String, String)] = [], acceptStatus: (Int) -> Bool = { (200..<300).contains($0) }) throws(VendorHTTPError) -> HTTPClientResponse {
        try send("GET", url, headers: headers, acceptStatus: acceptStatus)
    }

    /// Any method with a body (HubSpot's search and CleverTap's first step are POSTs with JSON, Five9
    /// is SOAP over POST), with the same limits and retries as ``get(_:headers:acceptStatus:)``.
    /// Only for requests that are safe to repeat: reads, whatever their method.
    public func send(_ method: String, _ url: String, body: [UInt8]? = nil, headers: [(String, String)] = [],
                     acceptStatus: (Int) -> Bool = { (200..<300).contains($0) }) throws(VendorHTTPError) -> HTTPClientResponse {
        var attempt = 0
        while true {
            limiter.acquire()
            requestCount += 1
            let response: HTTPClientResponse
            do {
                response = try http.request(method, url, headers: defaultHeaders + headers, body: body)
            } catch {
                guard error.isTransient, attempt < retry.maxRetries else {
                    throw .exhausted(attempts: attempt + 1, lastStatus: nil, reason: error.description)
                }
                Thread.sleep(forTimeInterval: seconds(retry.delay(afterAttempt: attempt)))
                attempt += 1
                continue
            }
            observeRateHeaders(response)
            if acceptStatus(response.status) { return response }
            switch response.status {
            case 401, 403:
                throw .unauthorized(status: response.status, body: response.bodyText)
            case 429, 500...599:
                guard attempt < retry.maxRetries else {
                    throw .exhausted(attempts: attempt + 1, lastStatus: response.status, reason: String(response.bodyText.prefix(200)))
                }
                var wait = retry.delay(afterAttempt: attempt)
                if let after = response.headers["retry-after"].flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) {
                    wait = .seconds(after)
                }
                if response.status == 429 { limiter.pause(for: wait) } else { Thread.sleep(forTimeInterval: seconds(wait)) }
                attempt += 1
            default:
                throw .rejected(status: response.status, body: response.bodyText)
            }
        }
    }

    /// `X-Rate-Limit-Remaining` / `X-Rate-Limit-Reset` (JustCall and others): slow down before the limit.
    private func observeRateHeaders(_ response: HTTPClientResponse) {
        // JustCall reports two windows: the plan's (`X-Rate-Limit-*`) and the burst (`X-Rate-Limit-Burst-*`).
        for prefix in ["x-rate-limit", "x-rate-limit-burst"] {
            guard let remaining = response.headers["\(prefix)-remaining"].flatMap({ Int($0) }) else { continue }
            let reset = response.headers["\(prefix)-reset"].flatMap { Int64($0) } ?? 60
            // Reset may be an epoch time or seconds from now.
            let nowSeconds = Int64(Date().timeIntervalSince1970)
            let after = reset > 1_000_000_000 ? max(0, reset - nowSeconds) : reset
            limiter.observe(remaining: remaining, resetAfter: .seconds(after))
        }
        // HubSpot: the rolling window's remaining requests and length, and a per-second budget.
        if let remaining = response.headers["x-hubspot-ratelimit-remaining"].flatMap({ Int($0) }) {
            let interval = response.headers["x-hubspot-ratelimit-interval-milliseconds"].flatMap { Int64($0) } ?? 10_000
            limiter.observe(remaining: remaining, resetAfter: .milliseconds(interval))
        }
        if let remaining = response.headers["x-hubspot-ratelimit-secondly-remaining"].flatMap({ Int($0) }) {
            limiter.observe(remaining: remaining, resetAfter: .seconds(1))
        }
    }

    private func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
}
