import HTTPClient
import Synchronization
import Testing

@Suite struct RateLimiterTests {
    /// A clock the test moves by hand.
    final class Clock: Sendable {
        let ms = Atomic<Int64>(1_000_000)
        func advance(_ d: Int64) { ms.add(d, ordering: .relaxed) }
        var read: @Sendable () -> Int64 { { [self] in ms.load(ordering: .relaxed) } }
    }

    final class MemoryHistory: RateLimitHistory, Sendable {
        let stored = Mutex<[Int64]>([])
        func load() -> [Int64] { stored.withLock { $0 } }
        func save(_ times: [Int64]) { stored.withLock { $0 = times } }
    }

    @Test func slidingWindowNeverExceedsEitherLimit() {
        let clock = Clock()
        let limiter = RateLimiter(windows: [.init(limit: 3, period: .seconds(10)), .init(limit: 5, period: .seconds(100))], now: clock.read)
        for _ in 0..<3 { #expect(limiter.delayBeforeNextRequest() == .zero); limiter.acquire() }
        // Fourth within 10 s must wait until the first leaves the window.
        #expect(limiter.delayBeforeNextRequest() == .milliseconds(10_001))
        clock.advance(10_001)
        limiter.acquire()
        limiter.acquire()
        // Five in the last 100 s: the long window now binds.
        clock.advance(20_000)
        #expect(limiter.recentStarts(within: .seconds(100)) == 5)
        #expect(limiter.delayBeforeNextRequest() == .milliseconds(100_000 - 30_001 + 1))
    }

    /// Without windows nothing limits, so nothing is kept: the history neither grows per request
    /// nor is written (it once grew by one entry per request, found by the fuzzer's slowdown).
    @Test func aLimiterWithoutWindowsKeepsNoHistory() {
        let clock = Clock()
        let history = MemoryHistory()
        let limiter = RateLimiter(windows: [], history: history, now: clock.read)
        for _ in 0..<1_000 { limiter.acquire(); clock.advance(1) }
        #expect(limiter.recentStarts(within: .seconds(3600)) == 0)
        #expect(history.load().isEmpty)
    }

    @Test func historySurvivesARestart() {
        let clock = Clock()
        let history = MemoryHistory()
        let first = RateLimiter(windows: [.perHour(2)], history: history, now: clock.read)
        first.acquire(); first.acquire()
        clock.advance(60_000)
        let second = RateLimiter(windows: [.perHour(2)], history: history, now: clock.read)
        #expect(second.delayBeforeNextRequest() == .milliseconds(3_600_000 - 60_000 + 1))
    }

    @Test func vendorReportedExhaustionAndRetryAfterPause() {
        let clock = Clock()
        let limiter = RateLimiter(windows: [.perMinute(100)], now: clock.read)
        limiter.observe(remaining: 5, resetAfter: .seconds(30))
        #expect(limiter.delayBeforeNextRequest() == .zero)
        limiter.observe(remaining: 0, resetAfter: .seconds(30))
        #expect(limiter.delayBeforeNextRequest() == .seconds(30))
        clock.advance(30_000)
        #expect(limiter.delayBeforeNextRequest() == .zero)
        limiter.pause(for: .seconds(7))
        #expect(limiter.delayBeforeNextRequest() == .seconds(7))
    }
}
