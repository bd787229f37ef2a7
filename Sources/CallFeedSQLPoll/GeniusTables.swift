/// Genius (seed 001: a PostgreSQL CRM database read directly): the seven tables the seed syncs,
/// as they are named by default. Installations differ, so each can be re-mapped (or more added)
/// under `sources.genius[].tables` (docs/pollers-genius.md).
///
/// The seed pages `WHERE modified >= %s ORDER BY modified LIMIT %s OFFSET %s`; CallFeed reads the
/// same rows by keyset on (`modified`, key) instead (``SQLDialect``), which the seed's OFFSET
/// cannot do without skipping rows that change during a sync.
public enum GeniusTables {
    public static let vendor = "genius"

    public static let defaults: [SQLTable] = [
        // The seed's query selects lead_id from leads; the other tables' keys are `id` by default.
        SQLTable(entity: "leads", table: "leads", key: ["lead_id"], modified: "modified"),
        SQLTable(entity: "prospects", table: "prospects", key: ["id"], modified: "modified"),
        SQLTable(entity: "appointments", table: "appointments", key: ["id"], modified: "modified"),
        SQLTable(entity: "users", table: "users", key: ["id"], modified: "modified"),
        SQLTable(entity: "divisions", table: "divisions", key: ["id"], modified: "modified"),
        SQLTable(entity: "contacts", table: "contacts", key: ["id"], modified: "modified"),
        SQLTable(entity: "division_groups", table: "division_groups", key: ["id"], modified: "modified"),
    ]

    public static var names: [String] { defaults.map(\.entity) }
}
