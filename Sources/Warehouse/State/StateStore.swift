import CSQLite
import CallFeedCore
import Foundation
import Synchronization

/// A small durable key-value store (SQLite, WAL, `synchronous=FULL`) for the pollers' checkpoints
/// and rate-limiter history, so both survive restarts. A write returns only once it is on disk.
///
/// `Sendable`: one connection behind a `Mutex`; pollers of several sources share one store.
public final class StateStore: Sendable {
    private let connection: Mutex<SQLiteConnection?>
    public let path: String

    public init(path: String) throws(WarehouseError) {
        self.path = path
        let db = try SQLiteConnection.open(path: path, busyTimeoutMilliseconds: 5_000)
        try db.execute("""
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=FULL;
            CREATE TABLE IF NOT EXISTS callfeed_state (
                key TEXT PRIMARY KEY NOT NULL,
                value TEXT NOT NULL,
                updated_at TEXT NOT NULL
            ) STRICT;
            """)
        connection = Mutex(db)
    }

    /// The value stored under `key`, if any.
    public func value(for key: String) throws(WarehouseError) -> String? {
        try connection.withLock { (db: inout SQLiteConnection?) throws(WarehouseError) -> String? in
            guard let db else { throw Self.closedError(path) }
            let rows = try db.makeStatement("SELECT value FROM callfeed_state WHERE key = ?1").query([.text(key)])
            if case .text(let value)? = rows.first?.first { return value }
            return nil
        }
    }

    /// Stores every pair in one transaction (all or nothing), durably.
    public func set(_ values: [String: String]) throws(WarehouseError) {
        try connection.withLock { (db: inout SQLiteConnection?) throws(WarehouseError) in
            guard let db else { throw Self.closedError(path) }
            try db.execute("BEGIN IMMEDIATE")
            do throws(WarehouseError) {
                let statement = try db.makeStatement("""
                    INSERT INTO callfeed_state (key, value, updated_at) VALUES (?1, ?2, ?3)
                    ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                    """)
                let now = Timestamp.now().rfc3339
                for (key, value) in values.sorted(by: { $0.key < $1.key }) {
                    try statement.run([.text(key), .text(value), .text(now)])
                }
                try db.execute("COMMIT")
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
        }
    }

    public func set(_ value: String, for key: String) throws(WarehouseError) { try set([key: value]) }

    /// Removes keys (e.g. a finished backfill's cursor).
    public func remove(_ keys: [String]) throws(WarehouseError) {
        try connection.withLock { (db: inout SQLiteConnection?) throws(WarehouseError) in
            guard let db else { throw Self.closedError(path) }
            let statement = try db.makeStatement("DELETE FROM callfeed_state WHERE key = ?1")
            for key in keys { try statement.run([.text(key)]) }
        }
    }

    /// Every key starting with `prefix`, with its value (for `callfeed status`-style listings and tests).
    public func values(withPrefix prefix: String) throws(WarehouseError) -> [String: String] {
        try connection.withLock { (db: inout SQLiteConnection?) throws(WarehouseError) -> [String: String] in
            guard let db else { throw Self.closedError(path) }
            var result: [String: String] = [:]
            for row in try db.makeStatement("SELECT key, value FROM callfeed_state WHERE substr(key, 1, length(?1)) = ?1").query([.text(prefix)]) {
                if case .text(let k) = row[0], case .text(let v) = row[1] { result[k] = v }
            }
            return result
        }
    }

    public func close() {
        connection.withLock { db in
            db?.close()
            db = nil
        }
    }

    private static func closedError(_ path: String) -> WarehouseError {
        WarehouseError(code: SQLITE_MISUSE, reason: "state store \(path) is closed", isTransient: false)
    }
}
