import CallFeedCore

/// What happened on one call, before any vendor writes it down: each vendor's record builder turns
/// the same facts into its own shape.
struct CallFacts: Sendable {
    enum Outcome: Sendable { case answered, missed, voicemail, busy }

    /// Per-vendor sequence number, from 1; ids are derived from it.
    var serial: Int
    var startedAt: Timestamp
    var isInbound: Bool
    var outcome: Outcome
    var ringSeconds: Int
    var talkSeconds: Int
    var holdSeconds: Int
    /// E.164 with `+`.
    var customerNumber: String
    var customerName: String?
    var customerFirstName: String
    var customerLastName: String
    var city: String
    var region: String
    var country: String
    var trackingNumber: String
    var businessNumber: String
    /// Nil when nobody answered.
    var agent: SandboxAgent?
    var source: String
    var medium: String
    var campaign: String
    var keyword: String
    var gclid: String?
    var tags: [String]
    var hasRecording: Bool
    /// Random hex for SIDs and access keys.
    var entropy: String

    /// Total length: ring, talk and hold.
    var durationSeconds: Int { ringSeconds + talkSeconds + holdSeconds }
    var isAnswered: Bool { outcome == .answered }
}
