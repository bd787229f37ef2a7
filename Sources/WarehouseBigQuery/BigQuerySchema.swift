import CallFeedCore
import Warehouse

/// One column of a BigQuery table schema: `{"name": …, "type": …, "mode": …}`.
public struct BigQueryField: Sendable, Equatable {
    /// The column name.
    public var name: String
    /// The GoogleSQL type: `STRING`, `INT64`, `TIMESTAMP` or `BOOL`.
    public var type: String
    /// `REQUIRED`, `NULLABLE` or `REPEATED` (an `ARRAY<type>`, never `NULL`, empty when there are none).
    public var mode: String

    /// The REST and schema-file form.
    var json: JSONValue { .object(["name": .string(name), "type": .string(type), "mode": .string(mode)]) }
}

/// The BigQuery tables, generated from the column lists every sink shares (``CallRow``, ``EntityRow``).
///
/// `schemas/bigquery/*.json` in the repository are ``publishedFiles``, committed; a test fails when
/// they differ from what this code generates, so those files are the published truth.
///
/// Types: text → `STRING`, integer → `INT64`, instant → `TIMESTAMP` (millisecond values, dumped as
/// ``CallRow/text(_:)``), flag → `BOOL`, `tags` → `STRING` `REPEATED` (an `ARRAY<STRING>`: analysts
/// `UNNEST(tags)`; the dump renders it as ``CallRow/jsonArray(_:)``). JSON documents (`event_json`,
/// entity `data` and `raw`) stay `STRING` so their exact bytes survive (`JSON_VALUE(data, '$.name')`
/// works on a STRING).
public enum BigQuerySchema {
    /// `calls`: ``CallRow/columns`` in order, typed by ``CallRow/kinds``, `REQUIRED` for
    /// ``CallRow/requiredColumns``.
    public static let calls: [BigQueryField] = CallRow.columns.map { name in
        let kind = CallRow.kinds[name] ?? .text
        let mode = kind == .stringArray ? "REPEATED" : (CallRow.requiredColumns.contains(name) ? "REQUIRED" : "NULLABLE")
        return BigQueryField(name: name, type: type(of: kind), mode: mode)
    }

    /// `call_revisions`: ``CallRow/revisionColumns`` in order.
    public static let callRevisions: [BigQueryField] = fields(
        CallRow.revisionColumns, timestamps: ["received_at", "source_updated_at", "loaded_at"],
        nullable: ["source_updated_at"])

    /// Every entity table (`ctm_accounts`, …): ``EntityRow/columns`` in order.
    public static let entityTable: [BigQueryField] = fields(
        EntityRow.columns, timestamps: ["source_updated_at", "received_at", "loaded_at"],
        nullable: ["account_id", "source_updated_at"])

    /// The committed schema files, by path below the repository root, with their exact contents:
    /// BigQuery's schema-file format (a JSON array of fields, as `bq mk --schema` reads), one field
    /// per line.
    public static var publishedFiles: [String: String] {
        [
            "schemas/bigquery/calls.json": fileText(calls),
            "schemas/bigquery/call_revisions.json": fileText(callRevisions),
            "schemas/bigquery/entity_table.json": fileText(entityTable),
        ]
    }

    /// `fields` as a schema file: `[`, one compact field object per line, `]`, final newline.
    public static func fileText(_ fields: [BigQueryField]) -> String {
        let lines = fields.map { field in
            "  {\"name\": \(jsonStringLiteral(field.name)), \"type\": \(jsonStringLiteral(field.type)), "
                + "\"mode\": \(jsonStringLiteral(field.mode))}"
        }
        return "[\n" + lines.joined(separator: ",\n") + "\n]\n"
    }

    /// The GoogleSQL type of a column kind.
    static func type(of kind: ColumnKind) -> String {
        switch kind {
        case .text, .stringArray: return "STRING"
        case .integer: return "INT64"
        case .timestamp: return "TIMESTAMP"
        case .flag: return "BOOL"
        }
    }

    /// Fields of `columns`: `TIMESTAMP` for `timestamps`, `STRING` otherwise; `NULLABLE` for `nullable`.
    private static func fields(_ columns: [String], timestamps: Set<String>, nullable: Set<String>) -> [BigQueryField] {
        columns.map { name in
            BigQueryField(name: name, type: timestamps.contains(name) ? "TIMESTAMP" : "STRING",
                          mode: nullable.contains(name) ? "NULLABLE" : "REQUIRED")
        }
    }
}

/// A table the sink creates with `tables.insert`: its schema, partitioning and clustering.
struct BigQueryTable {
    var name: String
    var fields: [BigQueryField]
    var description: String
    /// `timePartitioning.field` (DAY partitions); `nil` for an unpartitioned table.
    var partitionField: String? = nil
    /// `timePartitioning.expirationMs`: partitions older than this are deleted by BigQuery.
    var partitionExpirationMilliseconds: Int64? = nil
    /// `clustering.fields`, at most four.
    var clustering: [String] = []

    /// The `tables.insert` body.
    func resource(project: String, dataset: String) -> JSONValue {
        var table: [String: JSONValue] = [
            "tableReference": .object(["projectId": .string(project), "datasetId": .string(dataset),
                                       "tableId": .string(name)]),
            "schema": .object(["fields": .array(fields.map(\.json))]),
            "description": .string(description),
        ]
        if let partitionField {
            var partitioning: [String: JSONValue] = ["type": .string("DAY"), "field": .string(partitionField)]
            if let partitionExpirationMilliseconds {
                partitioning["expirationMs"] = .string(String(partitionExpirationMilliseconds))
            }
            table["timePartitioning"] = .object(partitioning)
        }
        if !clustering.isEmpty {
            table["clustering"] = .object(["fields": .array(clustering.map { .string($0) })])
        }
        return .object(table)
    }
}

extension BigQueryTable {
    /// How long staged rows are kept: the batch that staged them needs them for seconds; two days
    /// leave room for partition boundaries and for looking at a failed batch.
    static let stagingExpirationMilliseconds: Int64 = 2 * 86_400_000

    /// The columns every staging table adds: which `apply` staged the row, and when (the partition).
    static let stagingColumns: [BigQueryField] = [
        BigQueryField(name: "batch_id", type: "STRING", mode: "REQUIRED"),
        BigQueryField(name: "staged_at", type: "TIMESTAMP", mode: "REQUIRED"),
    ]

    /// `calls`: partitioned by day of `started_at` (calls without one land in the `__NULL__`
    /// partition), clustered by `source`.
    static let calls = BigQueryTable(
        name: "calls", fields: BigQuerySchema.calls,
        description: "One row per call: its newest revision (docs/warehouse.md)",
        partitionField: "started_at", clustering: ["source"])

    /// `call_revisions`: partitioned by day of `received_at`, clustered by `event_id` (the batch's
    /// look-up filters on it).
    static let callRevisions = BigQueryTable(
        name: "call_revisions", fields: BigQuerySchema.callRevisions,
        description: "Every distinct (event_id, revision) once, append-only (docs/warehouse.md)",
        partitionField: "received_at", clustering: ["event_id"])

    /// `calls_staging`: the rows a batch will MERGE into `calls`, streamed in by `insertAll`.
    static let callsStaging = BigQueryTable(
        name: "calls_staging", fields: BigQuerySchema.calls + stagingColumns,
        description: "CallFeed internal: rows of one apply() before its MERGE; expire after 2 days",
        partitionField: "staged_at", partitionExpirationMilliseconds: stagingExpirationMilliseconds,
        clustering: ["batch_id"])

    /// `call_revisions_staging`: the audit rows a batch will MERGE into `call_revisions`.
    static let callRevisionsStaging = BigQueryTable(
        name: "call_revisions_staging", fields: BigQuerySchema.callRevisions + stagingColumns,
        description: "CallFeed internal: audit rows of one apply() before its MERGE; expire after 2 days",
        partitionField: "staged_at", partitionExpirationMilliseconds: stagingExpirationMilliseconds,
        clustering: ["batch_id"])

    /// `schema_migrations`: one row per applied migration, append-only.
    static let schemaMigrations = BigQueryTable(
        name: "schema_migrations",
        fields: [
            BigQueryField(name: "version", type: "INT64", mode: "REQUIRED"),
            BigQueryField(name: "name", type: "STRING", mode: "REQUIRED"),
            BigQueryField(name: "applied_at", type: "TIMESTAMP", mode: "REQUIRED"),
        ],
        description: "CallFeed schema history, one row per applied migration")

    /// `entity_tables`: the registry of entity tables.
    static let entityTables = BigQueryTable(
        name: "entity_tables",
        fields: [
            BigQueryField(name: "table_name", type: "STRING", mode: "REQUIRED"),
            BigQueryField(name: "source", type: "STRING", mode: "REQUIRED"),
            BigQueryField(name: "entity", type: "STRING", mode: "REQUIRED"),
            BigQueryField(name: "created_at", type: "TIMESTAMP", mode: "REQUIRED"),
        ],
        description: "One row per entity table (source, entity) CallFeed created")

    /// The columns an entity-staging row adds in front of ``BigQuerySchema/entityTable``: which table
    /// it goes to, and for which (source, entity), for the registry.
    static let entityRouting: [BigQueryField] = [
        BigQueryField(name: "table_name", type: "STRING", mode: "REQUIRED"),
        BigQueryField(name: "source", type: "STRING", mode: "REQUIRED"),
        BigQueryField(name: "entity", type: "STRING", mode: "REQUIRED"),
    ]

    /// `entity_staging`: the rows a batch of entity records will MERGE into their tables.
    static let entityStaging = BigQueryTable(
        name: "entity_staging", fields: entityRouting + BigQuerySchema.entityTable + stagingColumns,
        description: "CallFeed internal: rows of one applyEntities() before its MERGEs; expire after 2 days",
        partitionField: "staged_at", partitionExpirationMilliseconds: stagingExpirationMilliseconds,
        clustering: ["batch_id"])

    /// An entity table (`ctm_accounts`), clustered by `id`.
    static func entity(_ name: String, source: String, entity: String) -> BigQueryTable {
        BigQueryTable(name: name, fields: BigQuerySchema.entityTable,
                      description: "CallFeed entity records: \(source) \(entity), one row per id",
                      clustering: ["id"])
    }
}
