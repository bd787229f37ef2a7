/// The fuzzer's only source of randomness: SplitMix64, so a run is a pure function of its seed
/// (the same `--seed` replays the same inputs on every machine and build).
public struct FuzzRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Makes a generator.
    /// - Parameter seed: Any value; equal seeds give equal sequences.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform index in `0..<count` (`count` must be positive).
    public mutating func index(_ count: Int) -> Int { Int.random(in: 0..<count, using: &self) }

    /// True with probability `1 / n`.
    public mutating func oneIn(_ n: Int) -> Bool { index(n) == 0 }

    /// A uniform element of a non-empty array.
    public mutating func pick<T>(_ items: [T]) -> T { items[index(items.count)] }
}
