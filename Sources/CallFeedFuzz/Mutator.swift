import CallFeedCore

/// Turns a seed into a hostile variant, as libFuzzer's mutators would, plus mutations that know
/// JSON: a value replaced by one of another type, a huge number, a 10,000-level nesting, a long or
/// invalid-UTF-8 string, a NUL, a lone surrogate escape, a duplicate key, a re-serialisation.
///
/// One to three mutations are stacked per input. Outputs are capped at ``maximumInputBytes``, the
/// receiver's default body limit (larger bodies are answered 413 before any parser sees them).
public struct Mutator: Sendable {
    /// The largest input produced (1 MiB, `ingest.max_body_bytes`' default).
    public static let maximumInputBytes = 1 << 20

    /// Seeds to splice with.
    let pool: [[UInt8]]

    /// Makes a mutator.
    /// - Parameter pool: Inputs that splicing may borrow from (usually the whole corpus).
    public init(pool: [[UInt8]]) { self.pool = pool }

    /// A mutated copy of `seed`.
    /// - Parameters:
    ///   - seed: The input to start from.
    ///   - parsed: `seed` parsed, if it is JSON (saves parsing it again for the first mutation).
    ///   - tokens: The tokens to insert (the target's dictionary); nil: JSON's, ``tokens``.
    ///   - rng: The run's random source (advanced).
    /// - Returns: The new input, at most ``maximumInputBytes`` long.
    public func mutate(_ seed: [UInt8], parsed: JSONValue? = nil, tokens: [String]? = nil, using rng: inout FuzzRandom) -> [UInt8] {
        var bytes = seed
        var parsed = parsed
        for _ in 0...rng.index(3) {
            bytes = rng.oneIn(2) ? mutateJSON(bytes, parsed: parsed, tokens: tokens, using: &rng) : mutateBytes(bytes, tokens: tokens, using: &rng)
            parsed = nil
        }
        return bytes.count > Self.maximumInputBytes ? Array(bytes.prefix(Self.maximumInputBytes)) : bytes
    }

    // MARK: - Byte level

    /// Bytes that make parsers branch: structure, escapes, NUL, high bit, invalid UTF-8 leads.
    static let interestingBytes: [UInt8] = [0x00, 0x01, 0x1F, 0x20, 0x22, 0x2C, 0x2D, 0x30, 0x3A, 0x5B, 0x5C, 0x5D,
                                            0x75, 0x7B, 0x7D, 0x7F, 0x80, 0xC0, 0xED, 0xF4, 0xF8, 0xFF]

    func mutateBytes(_ input: [UInt8], tokens: [String]? = nil, using rng: inout FuzzRandom) -> [UInt8] {
        var bytes = input
        guard !bytes.isEmpty else { return [rng.pick(Self.interestingBytes)] }
        let i = rng.index(bytes.count)
        switch rng.index(9) {
        case 0: bytes[i] ^= 1 << UInt8(rng.index(8))                                   // flip a bit
        case 1: bytes[i] = rng.pick(Self.interestingBytes)                             // set a byte
        case 2: bytes.insert(contentsOf: (0..<1 + rng.index(8)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: i)
        case 3: bytes.removeSubrange(i..<min(bytes.count, i + 1 + rng.index(32)))       // delete a range
        case 4:                                                                          // duplicate a range
            let range = i..<min(bytes.count, i + 1 + rng.index(64))
            bytes.insert(contentsOf: bytes[range], at: range.upperBound)
        case 5:                                                                          // splice two inputs
            guard let other = pool.isEmpty ? nil : rng.pick(pool), !other.isEmpty else { return bytes }
            bytes = Array(bytes[..<i]) + Array(other[rng.index(other.count)...])
        case 6: bytes.removeSubrange(i...)                                                // truncate
        case 7: bytes.insert(contentsOf: Array(rng.pick(tokens ?? Self.tokens).utf8), at: i)  // insert a token
        default: bytes[i] = UInt8(ascii: rng.pick(["0", "9", "-", "e", ".", "+"]))     // perturb a number
        }
        return bytes
    }

    static let tokens = ["{", "}", "[", "]", "\"", ",", ":", "\\", "\\u", "\\ud800", "null", "true", "-", "1e999", " "]

    // MARK: - JSON aware

    func mutateJSON(_ input: [UInt8], parsed: JSONValue? = nil, tokens: [String]? = nil, using rng: inout FuzzRandom) -> [UInt8] {
        guard let value = parsed ?? (try? JSONValue.parse(input)) else { return mutateBytes(input, tokens: tokens, using: &rng) }
        var writer = JSONFuzzWriter()
        let nodes = JSONFuzzWriter.nodeCount(value)
        switch rng.index(10) {
        case 0:
            writer.spaced = true                                                          // same meaning, other bytes
        case 1:
            writer.duplicatingKeyIn = rng.index(nodes)                                    // duplicate key (if an object)
            writer.raw = Self.hostileValue(using: &rng)
        case 2:                                                                          // nest the whole document
            let (open, close) = rng.pick(Self.nesting)
            return open + writer.write(value) + close
        default:
            writer.replacing = rng.index(nodes)                                           // replace one value
            writer.raw = Self.hostileValue(using: &rng)
        }
        return writer.write(value)
    }

    /// A JSON value (or almost one) chosen to break lenient readers: other types, extreme
    /// numbers, odd strings, dates and phone numbers that are nearly right, deep nesting.
    static func hostileValue(using rng: inout FuzzRandom) -> [UInt8] {
        switch rng.index(12) {
        case 0: return Array(rng.pick(scalars).utf8)
        case 1: return Array("\"\(rng.pick(texts))\"".utf8)
        case 2: return Array(rng.pick(numbers).utf8)
        case 3: return Array("\"\(rng.pick(numbers))\"".utf8)                              // numbers as strings
        case 4: return Array("\"\(rng.pick(dates))\"".utf8)
        case 5: return Array(rng.pick(dates).filter(\.isNumber).prefix(14).utf8)             // a date as a bare number
        case 6:                                                                            // a long string, up to 100,000 bytes
            let length = rng.pick([300, 5_000, 65_537, 100_000])
            return [0x22] + Array(repeating: UInt8(ascii: "a") + UInt8(rng.index(26)), count: length) + [0x22]
        case 7: return [0x22] + rng.pick(invalidUTF8) + [0x22]
        case 8:                                                                            // 10,000 levels
            let (open, close) = rng.pick(nesting)
            return open + [UInt8(ascii: "1")] + close
        case 9: return (0...rng.index(40)).map { _ in UInt8(ascii: "0") + UInt8(rng.index(10)) }         // a long bare integer
        case 10: return Array("[\(rng.pick(scalars)),\(rng.pick(numbers)),{\"id\":\(rng.pick(numbers))}]".utf8)
        default: return Array("{\"id\":\(rng.pick(numbers)),\"\(rng.pick(["data", "calls", "type", "start_time", "unix_time"]))\":\(rng.pick(scalars))}".utf8)
        }
    }

    /// Openings and closings of 10,000 levels of arrays and of objects (made once: they are big).
    static let nesting: [([UInt8], [UInt8])] = [
        (Array(String(repeating: "[", count: 10_000).utf8), Array(String(repeating: "]", count: 10_000).utf8)),
        (Array(String(repeating: "{\"a\":", count: 10_000).utf8), Array(String(repeating: "}", count: 10_000).utf8)),
    ]

    static let scalars = ["null", "true", "false", "0", "-1", "\"\"", "\" \"", "[]", "{}", "[null]", "{\"\":null}", "\"\\u0000\""]

    static let texts = [
        "", " ", "\\u0000", "a\\u0000b", "\\ud800", "\\udfff", "\\ud800\\u0041", "\\ud83d\\ude00", "\\uffff", "\\u00e9",
        "Москва", "😀😀😀", "\\\"", "\\\\", "%00", "${jndi}", "'; DROP TABLE calls; --", "\\n\\r\\t", "+", "++1", "+0",
        "00000000000000000000000000000", "+1 (555) 555-01234567890123", "inbound", "outbound", "completed", "call.completed",
        "call.updated", "Incorrect page is set", "No rows found", "User is not recognized", "NaN", "Infinity", "-0",
    ]

    static let numbers = [
        "0", "-0", "1", "-1", "0.5", "-0.0", "1e400", "-1e400", "1e-400", "1E+308", "1.7976931348623157e308",
        "2.2250738585072014e-308", "4.9e-324", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
        "-9223372036854775809", "18446744073709551616", "99999999999999999999999999999999999999", "1.5", "123456789012.5",
        "9007199254740993", "253402300800", "-62135596801", "9223372036854775", "-9223372036854775", "4294967296",
        "2147483648", "1715711400", "1715711400000", "3.0", "1e15", "1e18", "1e19",
    ]

    static let dates = [
        "2024-05-14 02:30 PM -04:00", "2024-05-14T14:30:00.482-04:00", "2024-05-14 18:30:00", "2024-05-14", "18:30:00",
        "2024-13-45T99:99:99Z", "0000-00-00 00:00:00", "9999-12-31T23:59:59.999+14:00", "-0001-01-01T00:00:00Z",
        "2024-02-30T00:00:00Z", "2024-05-14T14:30:00+99:99", "2024-05-14T14:30:00.9999999999999999999Z",
        "99999999999-01-01T00:00:00Z", "2024-05-14 25:61 PM", "2024-05-14T", "T14:30", "2024-05-14 02:30 XM -04:00",
        "2024-05-14 02:30 PM +9999999999:00", "2024-03-10 02:30:00", "2024-11-03 01:30:00",
        // Five9 report cells (TIMESTAMP, durations) and HubSpot's epoch milliseconds.
        "Tue, 14 May 2024 11:30:00", "14 Mayo 2024 11:30:00", "Tue, 31 Feb 2024 11:30:00", "05/14/2024 11:30:00",
        "13/45/2024 11:30:00", "05/14/2024 11:30", "05/14/99999999999 11:30:00",
        "Tue, 14 May 99999999999 11:30:00", "0:02:40", "99:99:99", "1:2:3:4", "1715711400000", "-1715711400000",
    ]

    static let invalidUTF8: [[UInt8]] = [
        [0xC3, 0x28], [0xFF], [0xFE, 0xFF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF], [0xE2, 0x82],
        [0x61, 0x00, 0x62], [0xF0, 0x9F, 0x98], [0x80, 0x80, 0x80],
    ]
}
