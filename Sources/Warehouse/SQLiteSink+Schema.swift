/// One step of a warehouse schema's history (the SQLite and PostgreSQL sinks share versions and
/// names, so `schema_migrations` reads the same in both).
///
/// - Warning: A migration's SQL is frozen once released: change the schema only by appending a new
///   migration with the next version. Never edit or remove an old one, and never drop or rewrite data
///   in one without a documented plan (docs/warehouse.md).
public struct SchemaMigration: Sendable {
    /// 1, 2, 3, … with no gaps; recorded in `schema_migrations.version`.
    public var version: Int64
    /// Short description, recorded in `schema_migrations.name` and checked on every `prepare()`.
    public var name: String
    /// The statements, run in the same transaction as the bookkeeping row.
    public var sql: String

    public init(version: Int64, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

extension SQLiteSink {
    /// Bookkeeping table: one row per applied migration.
    static let migrationsTableSQL = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER NOT NULL PRIMARY KEY,
            name       TEXT    NOT NULL,
            applied_at TEXT    NOT NULL
        ) STRICT
        """

    /// Every migration, oldest first. Append only.
    static let migrations: [SchemaMigration] = [
        SchemaMigration(version: 1, name: "create calls and call_revisions", sql: """
            CREATE TABLE calls (
                event_id               TEXT    NOT NULL PRIMARY KEY CHECK (length(event_id) = 36),
                schema_version         TEXT    NOT NULL,
                revision               TEXT    NOT NULL CHECK (length(revision) = 64),
                channel                TEXT    NOT NULL,
                received_at            TEXT    NOT NULL,
                source                 TEXT    NOT NULL,
                source_account_id      TEXT    NOT NULL,
                source_call_id         TEXT    NOT NULL,
                direction              TEXT    NOT NULL,
                status                 TEXT    NOT NULL,
                started_at             TEXT,
                ended_at               TEXT,
                duration_seconds       INTEGER,
                talk_seconds           INTEGER,
                ring_seconds           INTEGER,
                caller_number          TEXT,
                dialed_number          TEXT,
                destination_number     TEXT,
                caller_name            TEXT,
                agent_id               TEXT,
                agent_name             TEXT,
                agent_email            TEXT,
                tracking_campaign_id   TEXT,
                tracking_campaign_name TEXT,
                tracking_source        TEXT,
                tracking_medium        TEXT,
                tracking_campaign      TEXT,
                tracking_content       TEXT,
                tracking_term          TEXT,
                tracking_referrer      TEXT,
                tracking_landing_page  TEXT,
                tracking_gclid         TEXT,
                tracking_ga_client_id  TEXT,
                location_city          TEXT,
                location_region        TEXT,
                location_country       TEXT,
                recording_url          TEXT,
                tags                   TEXT    NOT NULL CHECK (json_valid(tags) AND json_type(tags) = 'array'),
                first_call             INTEGER CHECK (first_call IN (0, 1)),
                source_updated_at      TEXT,
                version_key            TEXT    NOT NULL,
                loaded_at              TEXT    NOT NULL
            ) STRICT;
            CREATE INDEX calls_started_at ON calls (started_at);
            CREATE INDEX calls_source_started_at ON calls (source, started_at);
            CREATE TABLE call_revisions (
                event_id          TEXT NOT NULL,
                revision          TEXT NOT NULL,
                channel           TEXT NOT NULL,
                received_at       TEXT NOT NULL,
                source_updated_at TEXT,
                loaded_at         TEXT NOT NULL,
                event_json        TEXT NOT NULL,
                PRIMARY KEY (event_id, revision)
            ) STRICT;
            """),
        // Entity tables themselves are made on first use (EntityRow.createTableSQL), not here:
        // which ones exist depends on the records the pollers publish.
        SchemaMigration(version: 2, name: "create entity_tables", sql: """
            CREATE TABLE entity_tables (
                table_name TEXT NOT NULL PRIMARY KEY,
                source     TEXT NOT NULL,
                entity     TEXT NOT NULL,
                created_at TEXT NOT NULL
            ) STRICT;
            """),
    ]

    /// The schema version this build writes.
    static var latestSchemaVersion: Int64 { migrations.last?.version ?? 0 }

    /// CallFeed's own tables, which ``count(table:)`` may be asked about (besides the entity tables
    /// listed in `entity_tables`).
    static let tables: Set<String> = ["calls", "call_revisions", "schema_migrations", "entity_tables"]

    // MARK: - Statements reused across batches

    /// `calls` upsert: insert, or replace every column when the incoming event is a different
    /// revision with a greater `version_key`; otherwise leave the row as it is (0 rows changed).
    static let upsertCallSQL: String = {
        let columns = CallRow.columns
        let placeholders = (1...columns.count).map { "?\($0)" }.joined(separator: ", ")
        let assignments = columns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ",\n    ")
        return """
            INSERT INTO calls (\(columns.joined(separator: ", ")))
            VALUES (\(placeholders))
            ON CONFLICT (event_id) DO UPDATE SET
                \(assignments)
            WHERE excluded.revision <> calls.revision AND excluded.version_key > calls.version_key
            """
    }()

    /// Whether a `calls` row exists, read before the upsert to tell an insert from an update.
    static let selectCallSQL = "SELECT revision FROM calls WHERE event_id = ?1"

    /// Audit insert; a (event_id, revision) seen before is ignored (0 rows changed).
    static let insertRevisionSQL: String = {
        let columns = CallRow.revisionColumns
        let placeholders = (1...columns.count).map { "?\($0)" }.joined(separator: ", ")
        return "INSERT OR IGNORE INTO call_revisions (\(columns.joined(separator: ", "))) VALUES (\(placeholders))"
    }()

    /// The registered (source, entity) of an entity table, if it is registered.
    static let selectEntityTableSQL = "SELECT source, entity FROM entity_tables WHERE table_name = ?1"

    /// Registers an entity table the sink has just created.
    static let insertEntityTableSQL =
        "INSERT INTO entity_tables (table_name, source, entity, created_at) VALUES (?1, ?2, ?3, ?4)"
}
