import CallFeedCore
import Synchronization

/// One window's state as a vendor reports it (JustCall's `X-Rate-Limit-*`).
struct RateWindowState: Sendable, Equatable {
    var limit: Int
    var remaining: Int
    /// When the window ends, epoch seconds (UTC).
    var resetEpochSeconds: Int64
}

/// Enforces each vendor's ``SandboxRateLimit`` with fixed windows that start at the first request
/// after the previous window ended. Thread-safe.
final class SandboxRateLimiter: Sendable {
    private struct Window {
        var start: Int64 = 0
        var end: Int64 = 0
        var used = 0
    }

    /// Whether a request may proceed.
    enum Decision: Equatable {
        case admitted
        /// Refused; the fullest window ends in this many seconds (at least 1).
        case refused(retryAfterSeconds: Int)
    }

    private let state = Mutex<[String: [Window]]>([:])

    /// Counts a request against `vendor`'s budget.
    func admit(_ vendor: SandboxVendor, limit: SandboxRateLimit, now: Timestamp) -> Decision {
        admit(bucket: vendor.name, limit: limit, now: now)
    }

    /// Counts a request against every window of `limit` if all have room. `bucket` is a vendor's
    /// name or `<vendor>/<operation>` for a per-operation budget.
    func admit(bucket vendor: String, limit: SandboxRateLimit, now: Timestamp) -> Decision {
        guard !limit.windows.isEmpty else { return .admitted }
        let t = now.millisecondsSinceEpoch
        return state.withLock { all in
            var windows = Self.current(all[vendor], limit: limit, at: t)
            var wait: Int64 = 0
            for (n, window) in limit.windows.enumerated() where windows[n].used >= window.limit {
                wait = max(wait, windows[n].end - t)
            }
            if wait > 0 {
                all[vendor] = windows
                return .refused(retryAfterSeconds: Int(max(1, (wait + 999) / 1000)))
            }
            for n in windows.indices {
                if windows[n].used == 0 && windows[n].end <= t {
                    windows[n].start = t
                    windows[n].end = t + RateLimiterMath.milliseconds(limit.windows[n].period)
                }
                windows[n].used += 1
            }
            all[vendor] = windows
            return .admitted
        }
    }

    /// The windows as they stand now, without counting anything.
    func state(_ vendor: SandboxVendor, limit: SandboxRateLimit, now: Timestamp) -> [RateWindowState] {
        let t = now.millisecondsSinceEpoch
        let windows = state.withLock { Self.current($0[vendor.name], limit: limit, at: t) }
        return zip(limit.windows, windows).map { spec, window in
            // An idle window would start now, so it would end one period from now.
            let end = window.used == 0 ? t + RateLimiterMath.milliseconds(spec.period) : window.end
            return RateWindowState(limit: spec.limit, remaining: max(0, spec.limit - window.used),
                                   resetEpochSeconds: (end + 999) / 1000)
        }
    }

    /// Forgets every count (between test phases).
    func reset() { state.withLock { $0 = [:] } }

    /// Windows that ended are emptied; a changed configuration starts afresh.
    private static func current(_ stored: [Window]?, limit: SandboxRateLimit, at t: Int64) -> [Window] {
        guard var windows = stored, windows.count == limit.windows.count else {
            return Array(repeating: Window(), count: limit.windows.count)
        }
        for n in windows.indices where windows[n].end <= t { windows[n] = Window() }
        return windows
    }
}

enum RateLimiterMath {
    static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }
}
