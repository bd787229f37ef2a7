import Warehouse

extension PostgresSink {
    /// Bookkeeping table: one row per applied migration.
    static let migrationsTableSQL = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    bigint      NOT NULL PRIMARY KEY,
            name       text        NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """

    /// Every migration, oldest first. Append only. The versions and names are the SQLite sink's, so
    /// `schema_migrations` reads the same in every warehouse.
    ///
    /// Types are PostgreSQL's own (`uuid`, `timestamptz`, `bigint`, `boolean`, `jsonb`), so analysts
    /// query instants and tags natively. `version_key` is `COLLATE "C"`: the version rule compares it
    /// byte by byte, which a locale's collation would not do.
    static let migrations: [SchemaMigration] = [
        SchemaMigration(version: 1, name: "create calls and call_revisions", sql: """
            CREATE TABLE calls (
                event_id               uuid        NOT NULL PRIMARY KEY,
                schema_version         text        NOT NULL,
                revision               text        NOT NULL CHECK (length(revision) = 64),
                channel                text        NOT NULL,
                received_at            timestamptz NOT NULL,
                source                 text        NOT NULL,
                source_account_id      text        NOT NULL,
                source_call_id         text        NOT NULL,
                direction              text        NOT NULL,
                status                 text        NOT NULL,
                started_at             timestamptz,
                ended_at               timestamptz,
                duration_seconds       bigint,
                talk_seconds           bigint,
                ring_seconds           bigint,
                caller_number          text,
                dialed_number          text,
                destination_number     text,
                caller_name            text,
                agent_id               text,
                agent_name             text,
                agent_email            text,
                tracking_campaign_id   text,
                tracking_campaign_name text,
                tracking_source        text,
                tracking_medium        text,
                tracking_campaign      text,
                tracking_content       text,
                tracking_term          text,
                tracking_referrer      text,
                tracking_landing_page  text,
                tracking_gclid         text,
                tracking_ga_client_id  text,
                location_city          text,
                location_region        text,
                location_country       text,
                recording_url          text,
                tags                   jsonb       NOT NULL CHECK (jsonb_typeof(tags) = 'array'),
                first_call             boolean,
                source_updated_at      timestamptz,
                version_key            text COLLATE "C" NOT NULL,
                loaded_at              timestamptz NOT NULL
            );
            CREATE INDEX calls_started_at ON calls (started_at);
            CREATE INDEX calls_source_started_at ON calls (source, started_at);
            CREATE TABLE call_revisions (
                event_id          uuid        NOT NULL,
                revision          text        NOT NULL,
                channel           text        NOT NULL,
                received_at       timestamptz NOT NULL,
                source_updated_at timestamptz,
                loaded_at         timestamptz NOT NULL,
                event_json        json        NOT NULL,
                PRIMARY KEY (event_id, revision)
            );
            """),
        SchemaMigration(version: 2, name: "create entity_tables", sql: """
            CREATE TABLE entity_tables (
                table_name text        NOT NULL PRIMARY KEY,
                source     text        NOT NULL,
                entity     text        NOT NULL,
                created_at timestamptz NOT NULL
            );
            """),
    ]

    /// The schema version this build writes.
    static var latestSchemaVersion: Int64 { migrations.last?.version ?? 0 }

    /// CallFeed's own tables, which ``count(table:)`` may be asked about (besides the entity tables
    /// listed in `entity_tables`).
    static let tables: Set<String> = ["calls", "call_revisions", "schema_migrations", "entity_tables"]

    /// An entity table (EntityRow.columns), made on first use. `table` is a quoted, validated identifier.
    static func createEntityTableSQL(_ table: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS \(table) (
            id                text        NOT NULL PRIMARY KEY CHECK (length(id) > 0),
            account_id        text,
            data              jsonb       NOT NULL CHECK (jsonb_typeof(data) = 'object'),
            raw               jsonb       NOT NULL,
            revision          text        NOT NULL CHECK (length(revision) = 64),
            channel           text        NOT NULL,
            source_updated_at timestamptz,
            received_at       timestamptz NOT NULL,
            version_key       text COLLATE "C" NOT NULL,
            loaded_at         timestamptz NOT NULL
        )
        """
    }

    // MARK: - Per-connection staging tables (temporary: private to the session, emptied at commit)

    static let callsStage = "callfeed_calls_stage"
    static let revisionsStage = "callfeed_revisions_stage"
    static let entitiesStage = "callfeed_entities_stage"

    /// Creates the session's staging tables: `calls` and `call_revisions` shapes, and one table for
    /// every entity table's rows with the target's name in `table_name`.
    static let stagingTablesSQL = """
        CREATE TEMPORARY TABLE IF NOT EXISTS \(callsStage) (LIKE calls) ON COMMIT DELETE ROWS;
        CREATE TEMPORARY TABLE IF NOT EXISTS \(revisionsStage) (LIKE call_revisions) ON COMMIT DELETE ROWS;
        CREATE TEMPORARY TABLE IF NOT EXISTS \(entitiesStage) (
            table_name        text NOT NULL,
            id                text NOT NULL,
            account_id        text,
            data              jsonb NOT NULL,
            raw               jsonb NOT NULL,
            revision          text NOT NULL,
            channel           text NOT NULL,
            source_updated_at timestamptz,
            received_at       timestamptz NOT NULL,
            version_key       text COLLATE "C" NOT NULL,
            loaded_at         timestamptz NOT NULL
        ) ON COMMIT DELETE ROWS;
        """

    // MARK: - Statements

    /// The stored (revision, version_key) of the batch's calls, locked until the commit.
    static let selectCallsSQL =
        "SELECT event_id::text, revision, version_key FROM calls WHERE event_id = ANY($1::uuid[]) FOR UPDATE"

    /// The staged rows into `calls`: new rows inserted, existing ones replaced. The staged rows are
    /// already the version rule's winners (``VersionRule``); the `WHERE` keeps a row that is newer
    /// than the staged one anyway (a concurrent loader during a rebalance).
    static let upsertCallsSQL: String = {
        let columns = CallRow.columns.joined(separator: ", ")
        let assignments = CallRow.columns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ",\n    ")
        return """
            INSERT INTO calls (\(columns))
            SELECT \(columns) FROM \(callsStage)
            ON CONFLICT (event_id) DO UPDATE SET
                \(assignments)
            WHERE excluded.version_key > calls.version_key
            """
    }()

    /// New (event_id, revision) pairs into the audit table; known ones are skipped.
    static let insertRevisionsSQL: String = {
        let columns = CallRow.revisionColumns.joined(separator: ", ")
        return "INSERT INTO call_revisions (\(columns)) SELECT \(columns) FROM \(revisionsStage) ON CONFLICT DO NOTHING"
    }()

    /// The stored (revision, version_key) of an entity table's batch rows, locked until the commit.
    static func selectEntitiesSQL(_ table: String) -> String {
        "SELECT id, revision, version_key FROM \(table) WHERE id = ANY($1::text[]) FOR UPDATE"
    }

    /// The staged rows of one entity table into it, as ``upsertCallsSQL`` does for calls.
    static func upsertEntitiesSQL(_ table: String) -> String {
        let columns = EntityRow.columns.joined(separator: ", ")
        let assignments = EntityRow.columns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        return """
            INSERT INTO \(table) (\(columns))
            SELECT \(columns) FROM \(entitiesStage) WHERE table_name = $1
            ON CONFLICT (id) DO UPDATE SET \(assignments)
            WHERE excluded.version_key > \(table).version_key
            """
    }

    /// The canonical dump's select list: every canonical column rendered as text the way SQLite
    /// stores it (instants with three fraction digits in UTC, booleans as 0/1).
    static let canonicalSelectList: String = CallRow.canonicalColumns.map { column in
        switch CallRow.kinds[column] ?? .text {
        case .timestamp: return "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
        case .flag: return "\(column)::int::text"
        case .integer, .text, .stringArray: return "\(column)::text"
        }
    }.joined(separator: ", ")
}
