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
