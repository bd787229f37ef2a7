/// The version rule (docs/warehouse.md) applied in memory, for sinks that write a batch set-wise
/// (PostgreSQL's one `INSERT … SELECT`, ClickHouse's inserts, BigQuery's `MERGE`) instead of event by
/// event as ``SQLiteSink`` does.
///
/// Applying a batch one item at a time, each against the row the previous ones left, decides both the
/// summary counts and the final row of every key. ``apply(_:stored:key:revision:versionKey:)`` does
/// exactly that over the stored (revision, version_key) of the batch's keys and returns the rows to
/// write: so a set-wise sink ends with the same rows as SQLite, even when a batch holds a revision,
/// another one, then the first one again.
public enum VersionRule {
    /// What applying a batch one item at a time does.
    public struct Outcome<Item> {
        /// One count per item (``ApplySummary/revisionsAdded`` is left 0 for the sink to fill).
        public var summary = ApplySummary()
        /// For each key whose row the batch changes, the item that ends as its row, in the order the
        /// keys first appear. Keys whose row stays as stored are absent.
        public var rows: [Item] = []
    }

    /// Applies `items` in array order over `stored`.
    /// - Parameters:
    ///   - items: The batch.
    ///   - stored: The warehouse's current (revision, version_key) of the batch's keys; keys without
    ///     a row are absent.
    ///   - key: An item's key (`event_id`, entity `id`).
    ///   - revision: An item's revision.
    ///   - versionKey: An item's version key.
    /// - Returns: The counts and the rows to write. An item replaces the current row when its revision
    ///   differs and its version key is greater; an item whose key has no row inserts.
    public static func apply<Item>(_ items: [Item], stored: [String: (revision: String, versionKey: String)],
                                   key: (Item) -> String, revision: (Item) -> String,
                                   versionKey: (Item) -> String) -> Outcome<Item> {
        var outcome = Outcome<Item>()
        var current = stored
        var winner: [String: Int] = [:]
        var order: [String] = []
        for (index, item) in items.enumerated() {
            let k = key(item)
            let (r, v) = (revision(item), versionKey(item))
            let existed: Bool
            let replaces: Bool
            if let row = current[k] {
                existed = true
                replaces = r != row.revision && v > row.versionKey
            } else {
                existed = false
                replaces = true
            }
            outcome.summary.countUpsert(existed: existed, changed: replaces)
            guard replaces else { continue }
            current[k] = (r, v)
            if winner.updateValue(index, forKey: k) == nil { order.append(k) }
        }
        outcome.rows = order.map { items[winner[$0]!] }
        return outcome
    }
}
