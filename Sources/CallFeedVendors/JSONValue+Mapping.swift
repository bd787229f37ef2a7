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
