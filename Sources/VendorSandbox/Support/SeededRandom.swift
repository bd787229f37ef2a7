/// A deterministic random source (SplitMix64): the same seed gives the same sequence on every
/// machine and Swift version, which the standard library's generators do not promise.
struct SeededRandom {
    private var state: UInt64

    /// A generator for `seed` and any number of further discriminators (vendor, account, call),
    /// mixed so that neighbouring inputs give unrelated sequences.
    init(_ seed: UInt64, _ parts: UInt64...) {
        var s = Self.mix(seed ^ 0x9E37_79B9_7F4A_7C15)
        for part in parts { s = Self.mix(s ^ Self.mix(part &+ 0x632B_E59B_D9B4_E019)) }
        state = s
    }

    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// A number in `range` (modulo reduction; the bias is far below anything a test could see).
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        let width = UInt64(range.upperBound - range.lowerBound) + 1
        return range.lowerBound + Int(next() % width)
    }

    /// A number in `0..<upperBound` as `Int64`.
    mutating func int64(below upperBound: Int64) -> Int64 {
        upperBound <= 0 ? 0 : Int64(next() % UInt64(upperBound))
    }

    /// `true` with probability `percent`/100.
    mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }

    /// One element of a non-empty array.
    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    /// `count` lowercase hex digits.
    mutating func hex(_ count: Int) -> String {
        let digits = Array("0123456789abcdef")
        return String((0..<count).map { _ in digits[int(0...15)] })
    }

    /// `count` decimal digits (leading zeros kept).
    mutating func digits(_ count: Int) -> String {
        String((0..<count).map { _ in Character(String(int(0...9))) })
    }
}

/// FNV-1a of a string: a stable hash (Swift's `hashValue` changes from run to run).
func stableHash(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    return hash
}
