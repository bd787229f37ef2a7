/// What one ``WarehouseSink/apply(_:loadedAt:)`` call did, event by event.
///
/// Every event of the batch is counted exactly once in ``inserted``, ``updated`` or ``unchanged``,
/// so `inserted + updated + unchanged == events.count`. ``revisionsAdded`` counts audit rows and is
/// independent of the other three.
public struct ApplySummary: Sendable, Equatable, CustomStringConvertible {
    /// Events whose `event_id` had no row yet: a new `calls` row.
    public var inserted: Int
    /// Events that replaced the current row: a different revision that is newer by the version rule.
    public var updated: Int
    /// Events that left the row as it was: an exact re-send (same `event_id` and revision), or a
    /// different revision that is older than the stored one (arrived out of order).
    public var unchanged: Int
    /// New `call_revisions` rows: events whose (`event_id`, `revision`) had not been recorded before.
    public var revisionsAdded: Int

    /// Makes a summary; every count defaults to zero.
    public init(inserted: Int = 0, updated: Int = 0, unchanged: Int = 0, revisionsAdded: Int = 0) {
        self.inserted = inserted
        self.updated = updated
        self.unchanged = unchanged
        self.revisionsAdded = revisionsAdded
    }

    /// Counts one upsert: a new row if none `existed`, else updated if the statement `changed` it.
    public mutating func countUpsert(existed: Bool, changed: Bool) {
        if !existed {
            inserted += 1
        } else if changed {
            updated += 1
        } else {
            unchanged += 1
        }
    }

    public var description: String {
        "inserted=\(inserted) updated=\(updated) unchanged=\(unchanged) revisionsAdded=\(revisionsAdded)"
    }
}
