/// Random faults on every request ("429 / 5xx / timeout storms"), seeded so a run can be replayed:
/// the *n*-th request a vendor receives after ``SandboxFaults/startChaos(_:)`` always meets the
/// same fate, whatever the other vendors' traffic in between.
///
/// Each request independently gets the vendor's 429 with probability ``stormRate``, else one of
/// ``failStatuses`` with probability ``failRate``; independently of both it is answered
/// ``slowDelay`` late with probability ``slowRate``. Faults queued on ``SandboxFaults`` take
/// precedence over chaos of the same kind.
public struct SandboxChaos: Sendable, Equatable {
    /// Probability (0...1) of a 429 storm answer.
    public var stormRate: Double
    /// Probability (0...1) of a 5xx answer; `stormRate + failRate` must not exceed 1.
    public var failRate: Double
    /// Probability (0...1) of a late answer.
    public var slowRate: Double
    /// How late a slow answer is sent.
    public var slowDelay: Duration
    /// Seed of the fate sequence.
    public var seed: UInt64
    /// `Retry-After` seconds on a storm answer; nil sends none.
    public var retryAfterSeconds: Int?
    /// The 5xx statuses a failure picks from (seeded, uniformly).
    public var failStatuses: [Int]
    /// The vendors it applies to.
    public var vendors: Set<SandboxVendor>

    /// - Throws: ``VendorSandboxError`` when a rate is outside 0...1, the storm and failure rates add
    ///   up to more than 1, or `failStatuses` is empty or holds a status outside 500...599.
    public init(stormRate: Double = 0, failRate: Double = 0, slowRate: Double = 0, slowDelay: Duration = .seconds(5),
                seed: UInt64 = 1, retryAfterSeconds: Int? = 1, failStatuses: [Int] = [500, 502, 503, 504],
                vendors: Set<SandboxVendor> = Set(SandboxVendor.all)) throws(VendorSandboxError) {
        for rate in [stormRate, failRate, slowRate] where !(0...1).contains(rate) {
            throw VendorSandboxError(reason: "chaos rates must be between 0 and 1, got \(rate)")
        }
        guard stormRate + failRate <= 1 else {
            throw VendorSandboxError(reason: "chaos storm rate + fail rate must not exceed 1")
        }
        guard !failStatuses.isEmpty, failStatuses.allSatisfy((500...599).contains) else {
            throw VendorSandboxError(reason: "chaos fail statuses must be 5xx, got \(failStatuses)")
        }
        self.stormRate = stormRate; self.failRate = failRate; self.slowRate = slowRate; self.slowDelay = slowDelay
        self.seed = seed; self.retryAfterSeconds = retryAfterSeconds; self.failStatuses = failStatuses
        self.vendors = vendors
    }

    /// The fate of the vendor's request number `index` (0-based, counted from the start of chaos).
    func plan(vendor: SandboxVendor, index: Int) -> SandboxFaults.Plan {
        var random = SeededRandom(seed, stableHash(vendor.name), UInt64(index))
        let kind = Self.unit(random.next()), slow = Self.unit(random.next())
        var plan = SandboxFaults.Plan()
        if kind < stormRate {
            plan.storm = SandboxFaults.Storm(retryAfterSeconds: retryAfterSeconds)
        } else if kind < stormRate + failRate {
            plan.failureStatus = random.pick(failStatuses)
        }
        if slow < slowRate { plan.delay = slowDelay }
        return plan
    }

    /// A uniform number in [0, 1) from 53 random bits.
    private static func unit(_ bits: UInt64) -> Double { Double(bits >> 11) / Double(UInt64(1) << 53) }
}
