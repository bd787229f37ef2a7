/// One step of the ClickHouse schema's history.
///
/// ClickHouse has no transactional DDL, so every statement must be safe to run again
/// (`CREATE TABLE IF NOT EXISTS`): a `prepare()` that stopped between a migration's statements and
/// its `schema_migrations` row simply runs them again next time.
///
/// - Warning: A migration's SQL is frozen once released: change the schema only by appending a new
///   migration with the next version. Never edit or remove an old one. Versions and names are the
///   SQLite sink's, so both warehouses describe their history alike.
struct ClickHouseMigration {
    /// 1, 2, 3, … with no gaps; recorded in `schema_migrations.version`.
    var version: UInt64
    /// Short description, recorded in `schema_migrations.name` and checked on every `prepare()`.
    var name: String
    /// The statements, one HTTP request each, in order. Each must be idempotent.
    var statements: [String]
}

extension ClickHouseSink {
    /// Bookkeeping table, one row per applied migration. A `ReplacingMergeTree` keyed by version,
    /// so two loaders preparing at once leave one row per version (read with `FINAL`).
    static let migrationsTableSQL = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    UInt64,
            name       String,
            applied_at String
        ) ENGINE = ReplacingMergeTree ORDER BY version
        """

    /// Every migration, oldest first. Append only.
    ///
    /// Types (ClickHouse 18.16 has no `DateTime64` and no `CHECK` constraints): instants are
    /// `String` in ``CallRow/text(_:)`` form (fixed width, so text order is time order and the
    /// canonical dump is exact to the millisecond), each with an `ALIAS` column `<name>_time`
    /// (`DateTime`, second precision, UTC) for date functions; `tags` is `Array(String)`; `first_call`
    /// is `UInt8` 0/1; optional fields are `Nullable`. `calls` and the entity tables are
    /// `ReplacingMergeTree(_version)` keyed by their id, without partitions (a partition key that
    /// could differ between a row's versions would keep them from ever replacing each other).
    static let migrations: [ClickHouseMigration] = [
        ClickHouseMigration(version: 1, name: "create calls and call_revisions", statements: [
            """
            CREATE TABLE IF NOT EXISTS calls (
                event_id               String,
                schema_version         String,
                revision               String,
                channel                String,
                received_at            String,
                source                 String,
                source_account_id      String,
                source_call_id         String,
                direction              String,
                status                 String,
                started_at             Nullable(String),
                ended_at               Nullable(String),
                duration_seconds       Nullable(Int64),
                talk_seconds           Nullable(Int64),
                ring_seconds           Nullable(Int64),
                caller_number          Nullable(String),
                dialed_number          Nullable(String),
                destination_number     Nullable(String),
                caller_name            Nullable(String),
                agent_id               Nullable(String),
                agent_name             Nullable(String),
                agent_email            Nullable(String),
                tracking_campaign_id   Nullable(String),
                tracking_campaign_name Nullable(String),
                tracking_source        Nullable(String),
                tracking_medium        Nullable(String),
                tracking_campaign      Nullable(String),
                tracking_content       Nullable(String),
                tracking_term          Nullable(String),
                tracking_referrer      Nullable(String),
                tracking_landing_page  Nullable(String),
                tracking_gclid         Nullable(String),
                tracking_ga_client_id  Nullable(String),
                location_city          Nullable(String),
                location_region        Nullable(String),
                location_country       Nullable(String),
                recording_url          Nullable(String),
                tags                   Array(String),
                first_call             Nullable(UInt8),
                source_updated_at      Nullable(String),
                version_key            String,
                loaded_at              String,
                _version               UInt64,
                received_at_time       DateTime ALIAS parseDateTimeBestEffort(received_at),
                started_at_time        Nullable(DateTime) ALIAS parseDateTimeBestEffortOrNull(started_at),
                ended_at_time          Nullable(DateTime) ALIAS parseDateTimeBestEffortOrNull(ended_at),
                source_updated_at_time Nullable(DateTime) ALIAS parseDateTimeBestEffortOrNull(source_updated_at),
                loaded_at_time         DateTime ALIAS parseDateTimeBestEffort(loaded_at)
            ) ENGINE = ReplacingMergeTree(_version) ORDER BY event_id
            """,
            """
            CREATE TABLE IF NOT EXISTS call_revisions (
                event_id          String,
                revision          String,
                channel           String,
                received_at       String,
                source_updated_at Nullable(String),
                loaded_at         String,
                event_json        String
            ) ENGINE = ReplacingMergeTree ORDER BY (event_id, revision)
            """,
        ]),
        // Entity tables themselves are made on first use (entityTableSQL), not here: which ones
        // exist depends on the records the pollers publish.
        ClickHouseMigration(version: 2, name: "create entity_tables", statements: [
            """
            CREATE TABLE IF NOT EXISTS entity_tables (
                table_name String,
                source     String,
                entity     String,
                created_at String
            ) ENGINE = ReplacingMergeTree ORDER BY table_name
            """,
        ]),
    ]

    /// The schema version this build writes.
    static var latestSchemaVersion: UInt64 { migrations.last?.version ?? 0 }

    /// CallFeed's own tables, which ``count(table:)`` may be asked about (besides the entity tables
    /// listed in `entity_tables`).
    static let tables: Set<String> = ["calls", "call_revisions", "schema_migrations", "entity_tables"]

    /// Creates an entity table if missing: ``EntityRow/columns`` plus `_version`, replaced on `id`.
    /// - Parameter table: A name from ``ClickHouseSQL/tableIdentifier(_:)``.
    static func entityTableSQL(_ table: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS \(table) (
            id                String,
            account_id        Nullable(String),
            data              String,
            raw               String,
            revision          String,
            channel           String,
            source_updated_at Nullable(String),
            received_at       String,
            version_key       String,
            loaded_at         String,
            _version          UInt64
        ) ENGINE = ReplacingMergeTree(_version) ORDER BY id
        """
    }
}
