import CallFeedCore
import Kafka

/// A raw-topic or dead-letter record as a replay reads it back: the bytes and what the headers
/// say about where they came from.
public struct ReplayRecord: Sendable {
    public var message: KafkaMessage
    /// `/webhooks/<vendor>` or `poll:<source name>`.
    public var route: String
    /// Vendor key (`ctm`, `callrail`, …).
    public var vendor: String
    /// The configured source (absent on records written before the header existed).
    public var sourceName: String?
    /// The vendor account a polled record was read for.
    public var account: String?
    /// The event_id the record was accepted as (raw records).
    public var eventID: String?
    /// The revision the accepted event had (raw records, when recorded).
    public var revision: String?
    public var receivedAt: Timestamp?
    /// Dead letters: `ingest`, `poll` or `load`.
    public var stage: String?
    public var reason: String?
    /// Entity dead letters: the list the record came from.
    public var entity: String?
    /// How many times the record has failed (dead letters; 1 when the header is absent).
    public var attempt: Int

    public init(_ message: KafkaMessage) {
        self.message = message
        route = message.header(RecordHeader.route) ?? ""
        vendor = message.header(RecordHeader.source) ?? ""
        sourceName = message.header(RecordHeader.sourceName)
        account = message.header(RecordHeader.account)
        eventID = message.header(RecordHeader.eventID)
        revision = message.header(RecordHeader.revision)
        receivedAt = message.header(RecordHeader.receivedAt).flatMap { Timestamp.parseISO8601($0) }
        stage = message.header(RecordHeader.stage)
        reason = message.header(RecordHeader.reason)
        entity = message.header(RecordHeader.entity)
        attempt = message.header(RecordHeader.attempt).flatMap { Int($0) } ?? 1
    }

    /// When the record was accepted: its `received_at` header, else the Kafka timestamp.
    public var acceptedAt: Timestamp? {
        receivedAt ?? message.timestampMilliseconds.map { Timestamp(millisecondsSinceEpoch: $0) }
    }
}

/// Why a record cannot be re-normalised.
public struct ReplayFailure: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// The current mapping, as a replay needs it: a record's bytes and provenance to call content.
/// `CallFeedApp` builds it from the configuration (the same routes and poll sources ingest uses).
public protocol Renormalising: Sendable {
    /// The call content the current mapping gives for `record`. When the record names the event
    /// it was accepted as, the content must give that event_id (the mapping context is chosen so).
    func content(of record: ReplayRecord) -> Result<CallContent, ReplayFailure>
}
