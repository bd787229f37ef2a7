import CallFeedCore

/// How an ``EntityRecord`` becomes a row of its entity table (`ctm_accounts`, …): the column list,
/// the value of every column, and the SQL that creates and upserts such a table. Every sink uses
/// this, so all sinks store the same values.
///
/// - Important: Table names are interpolated into SQL (SQLite cannot bind an identifier). They come
///   only from records that passed ``EntityRecord/validate()``, and ``quotedIdentifier(_:)`` checks
///   them once more: nothing but `[a-z][a-z0-9_]*` ever reaches the SQL text.
public enum EntityRow {
    /// The columns of every entity table, in table order. `id` first, `loaded_at` last.
    public static let columns: [String] = [
        "id", "account_id", "data", "raw", "revision", "channel",
        "source_updated_at", "received_at", "version_key", "loaded_at",
    ]

    /// The row values of `record`, aligned with ``columns``. `data` and `raw` are canonical JSON
    /// text (``JSONValue/canonicalJSON``), so `revision` is the SHA-256 of the stored `data`.
    public static func values(of record: EntityRecord, loadedAt: Timestamp) -> [WarehouseValue] {
        [
            .text(record.id), .nullable(record.accountID), .text(record.data.canonicalJSON),
            .text(record.raw.canonicalJSON), .text(record.revision), .text(record.channel.rawValue),
            .nullable(record.sourceUpdatedAt.map(CallRow.text)), .text(CallRow.text(record.receivedAt)),
            .text(record.versionKey), .text(CallRow.text(loadedAt)),
        ]
    }

    /// `"name"` when `name` is `[a-z][a-z0-9_]*` (the only table names entity records can have),
    /// else `nil`. The quotes keep an entity name that is also an SQL keyword (`groups`) usable.
    public static func quotedIdentifier(_ name: String) -> String? {
        guard let first = name.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first),
              name.utf8.allSatisfy({ byte in
                  (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                      || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
              })
        else { return nil }
        return "\"" + name + "\""
    }

    // MARK: - SQL (SQLite)

    /// Creates the table if missing. `table` must come from ``quotedIdentifier(_:)``.
    static func createTableSQL(_ table: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS \(table) (
            id                TEXT NOT NULL PRIMARY KEY CHECK (length(id) > 0),
            account_id        TEXT,
            data              TEXT NOT NULL CHECK (json_valid(data) AND json_type(data) = 'object'),
            raw               TEXT NOT NULL CHECK (json_valid(raw)),
            revision          TEXT NOT NULL CHECK (length(revision) = 64),
            channel           TEXT NOT NULL,
            source_updated_at TEXT,
            received_at       TEXT NOT NULL,
            version_key       TEXT NOT NULL,
            loaded_at         TEXT NOT NULL
        ) STRICT
        """
    }

    /// Upsert: insert, or replace every column when the incoming record is a different revision with
    /// a greater `version_key`; otherwise leave the row as it is (0 rows changed). The calls rule.
    static func upsertSQL(_ table: String) -> String {
        let placeholders = (1...columns.count).map { "?\($0)" }.joined(separator: ", ")
        let assignments = columns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        return """
            INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders))
            ON CONFLICT (id) DO UPDATE SET \(assignments)
            WHERE excluded.revision <> \(table).revision AND excluded.version_key > \(table).version_key
            """
    }

    /// Whether a row exists, read before the upsert to tell an insert from an update.
    static func selectSQL(_ table: String) -> String {
        "SELECT revision FROM \(table) WHERE id = ?1"
    }
}
