import CallFeedPoll

/// One table of a vendor database read as an entity list (Genius `leads`, MarketSharp `Contact`):
/// where it is, its key, and the column that says when a row last changed.
///
/// Real Genius and MarketSharp schemas differ between installations, so every name here comes from
/// the configuration (`sources.genius[].tables`, docs/pollers-genius.md) with the documented
/// defaults (``GeniusTables``, ``MarketSharpTables``).
public struct SQLTable: Sendable, Equatable {
    /// The record's `entity` (`leads`): the warehouse table is `<vendor>_<entity>`.
    public var entity: String
    /// The table, optionally schema-qualified (`public.leads`, `dbo.Contact`).
    public var table: String
    /// The primary-key columns: the record id (joined with `/`) and the keyset's tie-breaker.
    public var key: [String]
    /// The last-modified column; nil reads the whole table on every run (small lookup tables).
    public var modified: String?
    /// The columns to read; nil reads every column (`*`).
    public var columns: [String]?

    public init(entity: String, table: String, key: [String], modified: String?, columns: [String]? = nil) {
        self.entity = entity; self.table = table; self.key = key; self.modified = modified; self.columns = columns
    }

    /// Whether the table is read incrementally (it has a modified column).
    public var isIncremental: Bool { modified != nil }

    /// The keyset's order: the modified column (when there is one), then the key.
    public var order: [String] { (modified.map { [$0] } ?? []) + key }

    /// Checks every name: identifiers are quoted in the SQL, never taken as SQL text, so only
    /// `[A-Za-z_][A-Za-z0-9_$]*` (and one `schema.` prefix for the table) is allowed.
    public func validate() throws(PollError) {
        guard Self.isName(entity, lowercase: true) else {
            throw PollError(.configuration, "entity \"\(entity)\" must match ^[a-z][a-z0-9_]*$ (it names a warehouse table)")
        }
        let parts = table.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ Self.isName(String($0)) }) else {
            throw PollError(.configuration, "\(entity): table \"\(table)\" must be a name or schema.name (letters, digits, _)")
        }
        guard !key.isEmpty else { throw PollError(.configuration, "\(entity): key needs at least one column (the primary key)") }
        for name in key + (modified.map { [$0] } ?? []) + (columns ?? []) where !Self.isName(name) {
            throw PollError(.configuration, "\(entity): column \"\(name)\" must be a plain name (letters, digits, _)")
        }
        if let columns, let missing = order.first(where: { !columns.contains($0) }) {
            throw PollError(.configuration, "\(entity): columns must include the key and modified column \(missing)")
        }
    }

    static func isName(_ text: String, lowercase: Bool = false) -> Bool {
        guard let first = text.unicodeScalars.first, first.isASCII, !text.isEmpty, text.utf8.count <= 128 else { return false }
        let letter: (Unicode.Scalar) -> Bool = { lowercase ? ("a"..."z").contains($0) : (("a"..."z").contains($0) || ("A"..."Z").contains($0) || $0 == "_") }
        guard letter(first) else { return false }
        return text.unicodeScalars.allSatisfy { s in
            ("a"..."z").contains(s) || ("0"..."9").contains(s) || s == "_" || (!lowercase && (("A"..."Z").contains(s) || s == "$"))
        }
    }
}
