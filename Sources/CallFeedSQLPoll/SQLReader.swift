import CallFeedPoll

/// Rows of one query as the driver gives them: each cell as text (nil for NULL) and each
/// column's name and kind.
public struct SQLRows: Sendable {
    public struct Column: Sendable, Equatable {
        public var name: String
        public var type: SQLColumnType
        public init(name: String, type: SQLColumnType) { self.name = name; self.type = type }
    }
    public var columns: [Column]
    public var rows: [[String?]]
    public init(columns: [Column], rows: [[String?]]) { self.columns = columns; self.rows = rows }
}

/// A read-only connection to a vendor's database: the only part of a SQL source that differs per
/// database server (``PostgresReader`` for Genius; a TDS driver for MarketSharp).
public protocol SQLReader: AnyObject, Sendable {
    var dialect: SQLDialect { get }
    /// Runs one query with text parameters (in the order of the dialect's placeholders).
    /// Connection failures are retried by the reader; what it throws is final for this run.
    func rows(_ sql: String, _ parameters: [String?]) throws(PollError) -> SQLRows
}
