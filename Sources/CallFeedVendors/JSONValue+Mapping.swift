import CallFeedCore

extension JSONValue {
    /// Member `key` as text; `nil` when absent, `null`, blank, an array or an object.
    func string(_ key: String) -> String? {
        self[key]?.text
    }

    /// Member `key` as a positive integer; `nil` for `0` (CallKeeper's "none"), negatives and non-numbers.
    func positiveInteger(_ key: String) -> Int64? {
        guard let value = self[key]?.integer, value > 0 else { return nil }
        return value
    }

    /// Member `key` as a non-negative integer; `nil` when absent, negative or not a number.
    func nonNegativeInteger(_ key: String) -> Int64? {
        guard let value = self[key]?.integer, value >= 0 else { return nil }
        return value
    }

    /// A field's value as a rejection reason quotes it: strings quoted (at most 40 characters),
    /// numbers as written, else the JSON kind; `absent` when the key is missing.
    static func shown(_ value: JSONValue?) -> String {
        guard let value else { return "absent" }
        if case .string(let text) = value { return "\"\(text.prefix(40))\"" }
        return value.text ?? value.kindName
    }

    /// The JSON kind, for error messages.
    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension Timestamp {
    /// The last second of year 9999 (RFC 3339's last year). Vendor epochs and ends beyond it are
    /// not taken: `Timestamp` keeps milliseconds in an `Int64`, and a huge `unix_time` or
    /// `duration` overflowed it (a trap; found by callfeed-fuzz, docs/fuzzing.md).
    static let latestMappedSecond: Int64 = 253_402_300_799

    /// `seconds` since the epoch, or `nil` outside 0…``latestMappedSecond``.
    static func mapped(secondsSinceEpoch seconds: Int64) -> Timestamp? {
        (0...latestMappedSecond).contains(seconds) ? Timestamp(secondsSinceEpoch: seconds) : nil
    }

    /// This instant plus `seconds` (a call's length), or `nil` when the end would lie outside
    /// 0…``latestMappedSecond``: an absurd length then leaves `ended_at` unset.
    func mappedAdding(seconds: Int64) -> Timestamp? {
        let (end, overflow) = secondsSinceEpoch.addingReportingOverflow(seconds)
        guard !overflow, Timestamp.mapped(secondsSinceEpoch: end) != nil else { return nil }
        return adding(seconds: seconds)
    }
}
