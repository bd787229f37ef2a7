/// The Kafka topics CallFeed writes, under a configurable prefix (default `callfeed`).
public struct Topics: Sendable, Equatable {
    public var prefix: String
    public init(prefix: String = "callfeed") { self.prefix = prefix }

    /// CallEvent JSON, key = event_id (all copies of a call land in one partition, in order).
    public var calls: String { "\(prefix).calls.v1" }
    /// Every accepted webhook body, unmodified, with headers source/route/received_at/event_id.
    public var raw: String { "\(prefix).raw.v1" }
    /// Rejected input (bodies that do not parse or map, events the loader cannot use), value
    /// unmodified, the reason in the `reason` header.
    public var deadLetters: String { "\(prefix).dlq.v1" }
    /// ``EntityRecord`` JSON (vendor objects that are not calls: accounts, users, trackers, …),
    /// key = `source/entity/id` (``EntityRecord/key``), so all revisions of one object stay in order.
    public var entities: String { "\(prefix).entities.v1" }

    /// Every topic CallFeed writes (what a test or `callfeed dev` creates).
    public var all: [String] { [calls, raw, entities, deadLetters] }
}

/// Header names on raw and dead-letter records.
public enum RecordHeader {
    public static let source = "source"
    public static let route = "route"
    public static let receivedAt = "received_at"
    public static let eventID = "event_id"
    public static let reason = "reason"
    /// Which stage rejected a dead letter: `ingest`, `poll` or `load`.
    public static let stage = "stage"
    /// The configured source (`sources.<vendor>[].name`) that sent or was polled for the record:
    /// which mapping context a replay uses.
    public static let sourceName = "source_name"
    /// The entity list (`accounts`, `users`, …) an entity record or its dead letter came from.
    public static let entity = "entity"
    /// The vendor account a polled record was read for (poll routes only).
    public static let account = "account"
    /// The revision the accepted CallEvent had (raw records): a replay whose re-normalised event
    /// has the same revision changes nothing and is not republished.
    public static let revision = "revision"
    /// Dead letters: how many times this record has failed (absent = 1). `callfeed replay dlq`
    /// does not redrive a record at its max attempts, so a poison record cannot loop.
    public static let attempt = "attempt"
    /// Load-stage dead letters: `topic/partition/offset` of the message the loader refused.
    public static let origin = "origin"
}

extension RecordHeader {
    /// The headers of an accepted event's raw record (webhooks, polls and redriven dead letters
    /// write the same set): source, route, received_at, event_id, revision, then `provenance`
    /// (``sourceName`` and, for polls, ``account``: what a replay maps the record with again).
    public static func raw(for event: CallEvent, route: String, provenance: [(String, String)]) -> [(String, String)] {
        [
            (source, event.content.source), (Self.route, route), (receivedAt, event.receivedAt.rfc3339),
            (eventID, event.eventID), (revision, event.revision),
        ] + provenance
    }
}
