import Synchronization

/// Faults a test injects into a vendor's next requests. Each call queues its fault behind any
/// earlier one of the same kind; a request takes at most one fault of each kind (and a stormed
/// request leaves queued failures for later requests).
///
/// Precedence on one request: a rate-limit storm answers 429, else an injected failure answers its
/// 5xx, else the request is served; a slow fault delays whichever answer that is (the answer is
/// sent later from another thread, so the server's thread is never blocked). With
/// ``startChaos(_:)`` every request also draws random faults (``SandboxChaos``); a queued fault
/// wins over a drawn one of the same kind.
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

    /// Chaos and how many requests each vendor has had since it started (the fate index).
    private struct Chaos {
        var settings: SandboxChaos
        var requests: [SandboxVendor: Int] = [:]
    }

    private let state = Mutex<[SandboxVendor: State]>([:])
    private let chaos = Mutex<Chaos?>(nil)

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

    /// Draws random faults for every request from now on (replacing earlier chaos), its fate
    /// sequence starting afresh.
    public func startChaos(_ settings: SandboxChaos) { chaos.withLock { $0 = Chaos(settings: settings) } }

    /// Ends chaos; queued faults stay.
    public func stopChaos() { chaos.withLock { $0 = nil } }

    /// The chaos in force, if any.
    public var currentChaos: SandboxChaos? { chaos.withLock { $0?.settings } }

    /// Drops every queued fault and ends chaos.
    public func reset() {
        state.withLock { $0 = [:] }
        stopChaos()
    }

    /// Faults still queued for `vendor` (requests they will affect), by kind.
    public func pending(vendor: SandboxVendor) -> (storms: Int, failures: Int, delays: Int) {
        state.withLock { all in
            let s = all[vendor] ?? State()
            return (s.storms.reduce(0) { $0 + $1.remaining }, s.failures.reduce(0) { $0 + $1.remaining },
                    s.delays.reduce(0) { $0 + $1.remaining })
        }
    }

    /// Takes the faults for the vendor's next request: the queued ones, completed by chaos.
    func next(for vendor: SandboxVendor) -> Plan {
        let queued = state.withLock { all -> Plan in
            guard var s = all[vendor] else { return Plan() }
            let storm = Self.take(&s.storms)
            // A stormed request leaves the queued failures for the next ones.
            let failure = storm == nil ? Self.take(&s.failures) : nil
            let plan = Plan(storm: storm, failureStatus: failure, delay: Self.take(&s.delays))
            all[vendor] = s
            return plan
        }
        // Drawn for every request, so the fate index counts requests, not faults.
        let drawn = chaos.withLock { current -> Plan? in
            guard var c = current, c.settings.vendors.contains(vendor) else { return nil }
            let index = c.requests[vendor, default: 0]
            c.requests[vendor] = index + 1
            current = c
            return c.settings.plan(vendor: vendor, index: index)
        }
        guard let drawn else { return queued }
        var plan = queued
        if plan.storm == nil && plan.failureStatus == nil {
            plan.storm = drawn.storm
            plan.failureStatus = drawn.failureStatus
        }
        plan.delay = plan.delay ?? drawn.delay
        return plan
    }

    private static func take<Value>(_ queue: inout [Queued<Value>]) -> Value? {
        guard !queue.isEmpty else { return nil }
        let value = queue[0].value
        queue[0].remaining -= 1
        if queue[0].remaining == 0 { queue.removeFirst() }
        return value
    }
}
