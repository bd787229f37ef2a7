extension CallEvent {
    /// Orders revisions of one call: the newest `source_updated_at` wins, else the newest
    /// `received_at`; the revision hash breaks exact ties so every loader picks the same winner.
    /// Fixed-width, so plain string comparison is the order (sinks store and compare it as text).
    public var versionKey: String {
        let primary = content.sourceUpdatedAt ?? receivedAt
        return Self.pad(primary.millisecondsSinceEpoch) + "|" + Self.pad(receivedAt.millisecondsSinceEpoch) + "|" + revision
    }

    private static func pad(_ ms: Int64) -> String {
        let digits = String(max(ms, 0))
        return String(repeating: "0", count: max(0, 15 - digits.count)) + digits
    }

    /// Drops exact duplicates (same event_id and revision) from a batch, keeping the first copy
    /// and the batch's order. Different revisions of one call all stay: the sink records each in
    /// `call_revisions` and its upsert keeps the newest by ``versionKey`` in `calls`.
    public static func droppingExactDuplicates(_ events: [CallEvent]) -> (events: [CallEvent], dropped: Int) {
        var seen = Set<String>()
        let kept = events.filter { seen.insert($0.eventID + "/" + $0.revision).inserted }
        return (kept, events.count - kept.count)
    }
}
