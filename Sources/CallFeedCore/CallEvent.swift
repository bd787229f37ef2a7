/// The canonical call record, schema v1 (`schemas/call_event.v1.json`, documented in
/// docs/call-event.md).
///
/// An event is the vendor's facts about one call (``CallContent``) plus what CallFeed adds:
/// a deterministic ``eventID`` (same call, same id, whichever way it arrived), a ``revision``
/// (a hash of the content only, so an exact re-send is recognisably the same), the ``channel``
/// it came by and when it was received. On the wire it is one flat JSON object.
public struct CallEvent: Sendable, Equatable {
    public static let schemaVersion = "1"

    public var schemaVersion: String
    /// UUID (version 5) of (source, source_account_id, source_call_id).
    public var eventID: String
    /// SHA-256 (hex) of the canonical JSON of ``content``.
    public var revision: String
    public var channel: Channel
    public var receivedAt: Timestamp
    public var content: CallContent

    /// Makes an event, deriving ``eventID`` and ``revision`` from the content.
    public init(content: CallContent, channel: Channel, receivedAt: Timestamp) {
        self.schemaVersion = Self.schemaVersion
        self.content = content
        self.channel = channel
        self.receivedAt = receivedAt
        self.eventID = EventIdentity.eventID(source: content.source, accountID: content.sourceAccountID,
                                             callID: content.sourceCallID)
        self.revision = EventIdentity.revision(of: content)
    }

    /// How the event reached CallFeed. Ingest metadata: not part of the revision.
    /// `replay`: republished by `callfeed replay` from the raw topic (re-normalised with the
    /// current mapping) or redriven from the dead-letter topic.
    public enum Channel: String, Sendable, Codable, CaseIterable {
        case webhook, poll, backfill, replay
    }
}

/// What a vendor says about a call, normalised. Everything here takes part in the revision hash.
public struct CallContent: Sendable, Equatable, Codable {
    /// Vendor key: `ctm`, `callkeeper`, `callrail`, `justcall`, `hubspot`, ...
    public var source: String
    public var sourceAccountID: String
    public var sourceCallID: String

    public var direction: Direction
    public var status: Status

    public var startedAt: Timestamp?
    public var endedAt: Timestamp?
    public var durationSeconds: Int64?
    public var talkSeconds: Int64?
    public var ringSeconds: Int64?

    /// E.164 (`+79999999999`) when it can be normalised, else the vendor's string as sent.
    public var callerNumber: String?
    /// The tracking number that was dialled.
    public var dialedNumber: String?
    /// Where the call rang (the business's real number).
    public var destinationNumber: String?
    public var callerName: String?

    public var agent: Agent
    public var tracking: Tracking
    public var location: Location
    public var recordingURL: String?
    public var tags: [String]
    public var firstCall: Bool?
    /// When the vendor last changed the record, if it says.
    public var sourceUpdatedAt: Timestamp?

    public init(source: String, sourceAccountID: String, sourceCallID: String,
                direction: Direction = .unknown, status: Status = .unknown) {
        self.source = source
        self.sourceAccountID = sourceAccountID
        self.sourceCallID = sourceCallID
        self.direction = direction
        self.status = status
        self.agent = Agent()
        self.tracking = Tracking()
        self.location = Location()
        self.tags = []
    }

    public enum Direction: String, Sendable, Codable, CaseIterable {
        case inbound, outbound, `internal`, unknown
    }

    public enum Status: String, Sendable, Codable, CaseIterable {
        case answered, missed, voicemail, busy, failed
        case inProgress = "in_progress"
        case unknown
    }

    public struct Agent: Sendable, Equatable, Codable {
        public var id: String?
        public var name: String?
        public var email: String?
        public init(id: String? = nil, name: String? = nil, email: String? = nil) {
            self.id = id; self.name = name; self.email = email
        }
    }

    /// Marketing attribution of the call.
    public struct Tracking: Sendable, Equatable, Codable {
        public var campaignID: String?
        public var campaignName: String?
        public var source: String?
        public var medium: String?
        public var campaign: String?
        public var content: String?
        public var term: String?
        public var referrer: String?
        public var landingPage: String?
        public var gclid: String?
        public var gaClientID: String?
        public init() {}

        enum CodingKeys: String, CodingKey {
            case campaignID = "campaign_id", campaignName = "campaign_name", source, medium, campaign, content, term
            case referrer, landingPage = "landing_page", gclid, gaClientID = "ga_client_id"
        }
    }

    public struct Location: Sendable, Equatable, Codable {
        public var city: String?
        public var region: String?
        public var country: String?
        public init(city: String? = nil, region: String? = nil, country: String? = nil) {
            self.city = city; self.region = region; self.country = country
        }
    }

    enum CodingKeys: String, CodingKey {
        case source, sourceAccountID = "source_account_id", sourceCallID = "source_call_id"
        case direction, status
        case startedAt = "started_at", endedAt = "ended_at", durationSeconds = "duration_seconds"
        case talkSeconds = "talk_seconds", ringSeconds = "ring_seconds"
        case callerNumber = "caller_number", dialedNumber = "dialed_number"
        case destinationNumber = "destination_number", callerName = "caller_name"
        case agent, tracking, location, recordingURL = "recording_url", tags, firstCall = "first_call"
        case sourceUpdatedAt = "source_updated_at"
    }
}
