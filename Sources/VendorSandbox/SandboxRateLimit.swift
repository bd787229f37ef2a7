/// A vendor's request budget in the sandbox: fixed windows, each starting with the first request
/// after the previous one ended. A request is served only if every window has room; otherwise the
/// vendor's 429 is answered. Requests refused for any reason (auth, 429, injected faults) do not
/// count.
public struct SandboxRateLimit: Sendable, Equatable {
    /// `limit` requests per `period`.
    public struct Window: Sendable, Equatable {
        public var limit: Int
        public var period: Duration
        public init(limit: Int, period: Duration) { self.limit = limit; self.period = period }
        public static func perSecond(_ n: Int) -> Window { Window(limit: n, period: .seconds(1)) }
        public static func perMinute(_ n: Int) -> Window { Window(limit: n, period: .seconds(60)) }
        public static func perHour(_ n: Int) -> Window { Window(limit: n, period: .seconds(3600)) }
        public static func perDay(_ n: Int) -> Window { Window(limit: n, period: .seconds(86_400)) }
    }

    /// For JustCall the first window is the one in `X-Rate-Limit-*` and the second the
    /// `X-Rate-Limit-Burst-*` one.
    public var windows: [Window]
    /// Whether a 429 carries `Retry-After` (seconds until the fullest window ends). CallRail
    /// documents no such header (`callrail.md` §4), so its default is false.
    public var sendsRetryAfter: Bool

    public init(windows: [Window], sendsRetryAfter: Bool = true) {
        self.windows = windows; self.sendsRetryAfter = sendsRetryAfter
    }

    /// No limit.
    public static let unlimited = SandboxRateLimit(windows: [])

    /// The vendors' defaults: CTM 1,000/hour (seed 000, unconfirmed), CallRail 1,000/hour and
    /// 10,000/day without `Retry-After`, JustCall's Pro plan 3,600/hour with a 60/minute burst,
    /// CallKeeper none (undocumented), HubSpot 100 per 10 s without `Retry-After`; CleverTap limits
    /// concurrency, not rate, and Five9 limits each operation (``VendorAPI/operationLimit(for:configuration:)``).
    public static func vendorDefault(for vendor: SandboxVendor) -> SandboxRateLimit {
        switch vendor {
        case .ctm: SandboxRateLimit(windows: [.perHour(1000)])
        case .callrail: SandboxRateLimit(windows: [.perHour(1000), .perDay(10_000)], sendsRetryAfter: false)
        case .justcall: SandboxRateLimit(windows: [.perHour(3600), .perMinute(60)])
        // Free/Starter private app: 100 per rolling 10 s; HubSpot promises no Retry-After (`hubspot.md` §4).
        case .hubspot: SandboxRateLimit(windows: [Window(limit: 100, period: .seconds(10))], sendsRetryAfter: false)
        default: .unlimited
        }
    }

    /// Reads `N/SECONDS[,N/SECONDS…]` (`30/60,1000/3600`) or `none` (`callfeed-sandbox --rate-limit`).
    /// - Returns: nil when the text is neither.
    public static func parse(_ text: String, sendsRetryAfter: Bool = true) -> SandboxRateLimit? {
        if text == "none" { return SandboxRateLimit(windows: [], sendsRetryAfter: sendsRetryAfter) }
        var windows: [Window] = []
        for part in text.split(separator: ",") {
            let numbers = part.split(separator: "/").map { Int($0) }
            guard numbers.count == 2, let limit = numbers[0], let seconds = numbers[1], limit >= 0, seconds > 0 else { return nil }
            windows.append(Window(limit: limit, period: .seconds(seconds)))
        }
        return windows.isEmpty ? nil : SandboxRateLimit(windows: windows, sendsRetryAfter: sendsRetryAfter)
    }
}
