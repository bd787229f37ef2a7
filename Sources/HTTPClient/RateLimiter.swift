import Foundation
import Synchronization

/// Where a limiter keeps its request history so a restart within a window still honours it.
public protocol RateLimitHistory: Sendable {
    /// Request times (ms since epoch) inside the longest window, oldest first.
    func load() -> [Int64]
    func save(_ times: [Int64])
}

/// A sliding-window limiter with several windows at once (e.g. 1,000/hour and 10,000/day): a
/// request may start only if, in every window, fewer than `limit` requests started during the
/// last `period`. Sliding, so the limit holds over *any* period of that length, never just per
/// calendar hour. Vendors that report what is left (`X-Rate-Limit-Remaining`) slow it further.
public final class RateLimiter: Sendable {
    public struct Window: Sendable, Equatable, CustomStringConvertible {
        public var limit: Int
        public var period: Duration
        public init(limit: Int, period: Duration) { self.limit = limit; self.period = period }
        public static func perMinute(_ n: Int) -> Window { Window(limit: n, period: .seconds(60)) }
        public static func perHour(_ n: Int) -> Window { Window(limit: n, period: .seconds(3600)) }
        public static func perDay(_ n: Int) -> Window { Window(limit: n, period: .seconds(86_400)) }
        public var description: String { "\(limit)/\(period.components.seconds)s" }
    }

    private struct State {
        var starts: [Int64]
        /// Set when the vendor said none are left: no request before this time (ms).
        var blockedUntil: Int64 = 0
    }

    public let windows: [Window]
    private let state: Mutex<State>
    private let history: (any RateLimitHistory)?
    private let now: @Sendable () -> Int64

    public init(windows: [Window], history: (any RateLimitHistory)? = nil,
                now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) {
        self.windows = windows
        self.history = history
        self.now = now
        state = Mutex(State(starts: history?.load() ?? []))
    }

    private var longest: Int64 { windows.map { Self.ms($0.period) }.max() ?? 0 }

    static func ms(_ d: Duration) -> Int64 { d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000 }

    /// How long the next request must wait (zero if it may go now).
    public func delayBeforeNextRequest() -> Duration {
        let t = now()
        return state.withLock { s in
            var wait = max(0, s.blockedUntil - t)
            for w in windows {
                let period = Self.ms(w.period)
                let inWindow = s.starts.filter { $0 > t - period }
                if inWindow.count >= w.limit {
                    // The oldest start that must leave the window for one slot to free up.
                    let oldest = inWindow[inWindow.count - w.limit]
                    wait = max(wait, oldest + period - t + 1)
                }
            }
            return .milliseconds(wait)
        }
    }

    /// Blocks the calling thread until a request may start, then records it.
    public func acquire() {
        while true {
            let wait = delayBeforeNextRequest()
            if wait <= .zero, tryRecordStart() { return }
            Thread.sleep(forTimeInterval: max(0.001, Double(Self.ms(wait)) / 1000))
        }
    }

    /// Records a start if every window has room (atomically with the check).
    private func tryRecordStart() -> Bool {
        let t = now()
        let recorded: [Int64]? = state.withLock { s in
            guard s.blockedUntil <= t else { return nil }
            for w in windows where s.starts.filter({ $0 > t - Self.ms(w.period) }).count >= w.limit { return nil }
            s.starts.append(t)
            let horizon = t - longest
            // Starts older than the longest window count for nothing (all of them, with no window).
            let expired = s.starts.firstIndex(where: { $0 > horizon }) ?? s.starts.count
            if expired > 0 { s.starts.removeFirst(expired) }
            return s.starts
        }
        guard let recorded else { return false }
        history?.save(recorded)
        return true
    }

    /// The vendor reported its own budget (e.g. `X-Rate-Limit-Remaining` and seconds until reset):
    /// with nothing left, no request goes before the reset.
    public func observe(remaining: Int, resetAfter: Duration) {
        guard remaining <= 0 else { return }
        let until = now() + Self.ms(resetAfter)
        state.withLock { $0.blockedUntil = max($0.blockedUntil, until) }
    }

    /// The vendor answered 429: back off for `retryAfter` before any request.
    public func pause(for retryAfter: Duration) {
        let until = now() + Self.ms(retryAfter)
        state.withLock { $0.blockedUntil = max($0.blockedUntil, until) }
    }

    /// Request starts recorded inside `period` before now (for tests and metrics).
    public func recentStarts(within period: Duration) -> Int {
        let t = now()
        return state.withLock { s in s.starts.filter { $0 > t - Self.ms(period) }.count }
    }
}
