import CallFeedCore

/// Why a vendor payload could not be turned into a ``CallFeedCore/CallContent``.
///
/// Thrown for payloads that are not a call at all (an error envelope, an array, a body without a call
/// id) or that carry a value we refuse to guess about (an unparseable date-time, an unknown time zone).
/// The ingest side answers such webhooks with 4xx and sends polled records to the dead-letter topic,
/// with ``reason`` as the explanation.
public struct MappingError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, naming the vendor field in parentheses: `"missing call id (id)"`.
    public var reason: String

    /// Makes an error.
    /// - Parameter reason: What is wrong, naming the vendor field.
    public init(reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}

extension MappingError {
    /// The one reason every mapping gives for a call without a start instant: the fields it tried,
    /// with the values they carried, so operators find these dead letters by one phrase (the DLQ
    /// record's `reason` header) and see why at a glance.
    ///
    /// A call without a start cannot be placed in any report, window or partition, so no mapping
    /// loads it with an empty `started_at` (docs/call-event.md, "Missing and unparseable values").
    /// - Parameter fields: Vendor field names, in the order they were tried, and their values.
    static func unparseableStartTime(_ fields: KeyValuePairs<String, JSONValue?>) -> MappingError {
        let tried = fields.map { "\($0.key): \(JSONValue.shown($0.value))" }.joined(separator: ", ")
        return MappingError(reason: "unparseable start time (\(tried))")
    }
}
