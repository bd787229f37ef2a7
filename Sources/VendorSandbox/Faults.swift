import Synchronization

/// Faults a test injects into a vendor's next requests. Each call queues its fault behind any
/// earlier one of the same kind; a request takes at most one fault of each kind (and a stormed
/// request leaves queued failures for later requests).
///
/// Precedence on one request: a rate-limit storm answers 429, else an injected failure answers its
/// 5xx, else the request is served; a slow fault delays whichever answer that is (the answer is
/// sent later from another thread, so the server's thread is never blocked).
public final class SandboxFaults: Sendable {
    struct Storm: Sendable, Equatable { var retryAfterSeconds: Int? }

    /// What happens to one request.
    struct Plan: Sendable, Equatable {
        var storm: Storm?
        var failureStatus: Int?
        var delay: Duration?
    }

    private struct Queued<Value> {
        var value: Value
        var remaining: Int
    }

    private struct State {
        var storms: [Queued<Storm>] = []
        var failures: [Queued<Int>] = []
        var delays: [Queued<Duration>] = []
    }

    private let state = Mutex<[SandboxVendor: State]>([:])

    init() {}

    /// The vendor's next `count` requests fail with `status` (500, 502, 503, 504 ...), answered
    /// as the vendor's gateway would (an HTML page).
    public func fail(vendor: SandboxVendor, status: Int = 503, count: Int = 1) {
        guard count > 0 else { return }
        state.withLock { $0[vendor, default: State()].failures.append(Queued(value: status, remaining: count)) }
    }

    /// The vendor's next `count` answers are sent `delay` late.
    public func slow(vendor: SandboxVendor, delay: Duration, count: Int = 1) {
        guard count > 0 else { return }
        state.withLock { $0[vendor, default: State()].delays.append(Queued(value: delay, remaining: count)) }
    }

    /// The vendor's next `count` requests get its 429 whatever the budget, with
    /// `Retry-After: retryAfter` (seconds) unless it is nil.
    public func rateLimitStorm(vendor: SandboxVendor, count: Int, retryAfter: Int? = 1) {
        guard count > 0 else { return }
        state.withLock { $0[vendor, default: State()].storms.append(Queued(value: Storm(retryAfterSeconds: retryAfter), remaining: count)) }
    }

    /// Drops every queued fault.
    public func reset() { state.withLock { $0 = [:] } }

    /// Faults still queued for `vendor` (requests they will affect), by kind.
    public func pending(vendor: SandboxVendor) -> (storms: Int, failures: Int, delays: Int) {
        state.withLock { all in
            let s = all[vendor] ?? State()
            return (s.storms.reduce(0) { $0 + $1.remaining }, s.failures.reduce(0) { $0 + $1.remaining },
                    s.delays.reduce(0) { $0 + $1.remaining })
        }
    }

    /// Takes the faults for the vendor's next request.
    func next(for vendor: SandboxVendor) -> Plan {
        state.withLock { all in
            guard var s = all[vendor] else { return Plan() }
            let storm = Self.take(&s.storms)
            // A stormed request leaves the queued failures for the next ones.
            let failure = storm == nil ? Self.take(&s.failures) : nil
            let plan = Plan(storm: storm, failureStatus: failure, delay: Self.take(&s.delays))
            all[vendor] = s
            return plan
        }
    }

    private static func take<Value>(_ queue: inout [Queued<Value>]) -> Value? {
        guard !queue.isEmpty else { return nil }
        let value = queue[0].value
        queue[0].remaining -= 1
        if queue[0].remaining == 0 { queue.removeFirst() }
        return value
    }
}
