import Foundation

extension CallEvent: Codable {
    enum MetadataKeys: String, CodingKey {
        case schemaVersion = "schema_version", eventID = "event_id", revision, channel, receivedAt = "received_at"
    }

    /// Writes one flat object: the metadata keys and the content's keys side by side.
    public func encode(to encoder: any Encoder) throws {
        try content.encode(to: encoder)
        var container = encoder.container(keyedBy: MetadataKeys.self)
        try container.encode(schemaVersion, forKey: .schemaVersion)
        try container.encode(eventID, forKey: .eventID)
        try container.encode(revision, forKey: .revision)
        try container.encode(channel, forKey: .channel)
        try container.encode(receivedAt, forKey: .receivedAt)
    }

    /// Reads an event as published, keeping its id and revision as sent (the loader checks them
    /// with ``CallEvent/verifyIdentity()`` rather than silently recomputing).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: MetadataKeys.self)
        self.schemaVersion = try container.decode(String.self, forKey: .schemaVersion)
        self.eventID = try container.decode(String.self, forKey: .eventID)
        self.revision = try container.decode(String.self, forKey: .revision)
        self.channel = try container.decode(Channel.self, forKey: .channel)
        self.receivedAt = try container.decode(Timestamp.self, forKey: .receivedAt)
        self.content = try CallContent(from: decoder)
    }
}

extension CallEvent {

    /// Decodes an event from the calls topic.
    /// - Throws: ``CallEventDecodingError`` naming what is wrong (for the dead-letter record).
    public static func decode(_ bytes: some Collection<UInt8>) throws(CallEventDecodingError) -> CallEvent {
        let event = try fromWire(Array(bytes))  // CallEvent+Decode.swift: JSONDecoder's rules, a quarter of its cost
        guard event.schemaVersion == schemaVersion else {
            throw CallEventDecodingError(reason: "unsupported schema_version \(event.schemaVersion)")
        }
        try event.verifyIdentity()
        return event
    }

    /// Checks that ``eventID`` and ``revision`` are what the content implies, so a corrupted or
    /// hand-made record cannot overwrite another call's row.
    public func verifyIdentity() throws(CallEventDecodingError) {
        let expectedID = EventIdentity.eventID(source: content.source, accountID: content.sourceAccountID,
                                               callID: content.sourceCallID)
        guard eventID == expectedID else {
            throw CallEventDecodingError(reason: "event_id \(eventID) does not match its source ids (expected \(expectedID))")
        }
        guard revision == EventIdentity.revision(of: content) else {
            throw CallEventDecodingError(reason: "revision \(revision) does not match the event's content")
        }
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()
}

/// Why bytes from the calls topic are not a usable CallEvent.
public struct CallEventDecodingError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
