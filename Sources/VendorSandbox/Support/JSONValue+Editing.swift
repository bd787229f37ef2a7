import CallFeedCore

extension JSONValue {
    /// A string, or `null` when `text` is nil.
    static func string(orNull text: String?) -> JSONValue { text.map { .string($0) } ?? .null }

    /// An integer value.
    static func int(_ value: Int) -> JSONValue { .int(Int64(value)) }

    /// Sets the member at `path` (object keys, outermost first), creating objects on the way and
    /// turning a non-object on the way into one. An empty path replaces the whole value.
    mutating func set(_ path: some Collection<String>, to value: JSONValue) {
        guard let key = path.first else { self = value; return }
        var members = objectValue ?? [:]
        var child = members[key] ?? .null
        child.set(path.dropFirst(), to: value)
        members[key] = child
        self = .object(members)
    }

    /// Sets the member at a dotted path (`"call_info.recording"`).
    mutating func set(dotted path: String, to value: JSONValue) {
        set(path.split(separator: ".").map(String.init), to: value)
    }

    /// The object with only `keys` kept (keys it does not have are left out).
    func keeping(_ keys: some Sequence<String>) -> JSONValue {
        guard let members = objectValue else { return self }
        var kept: [String: JSONValue] = [:]
        for key in keys { if let value = members[key] { kept[key] = value } }
        return .object(kept)
    }
}
