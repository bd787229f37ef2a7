import CallFeedCore
import Foundation
import Warehouse

/// One `apply` call's rows in the staging tables: a fresh id and the instant they were staged.
///
/// Rows are streamed into `calls_staging` (and the other staging tables) with `tabledata.insertAll`,
/// tagged with this batch's id, and read back once by the batch's MERGE. They are never deleted by the
/// sink: BigQuery refuses DML on rows still in the streaming buffer (up to 30–90 minutes), so the
/// staging tables are partitioned by `staged_at` with a two-day partition expiration instead.
struct BigQueryBatch {
    /// A new UUID per call: a retried batch stages its rows again under another id, so rows of a
    /// failed attempt can never be merged by mistake.
    let id: String
    /// When the rows were staged (the wall clock, not `loadedAt`: the partition must be recent or
    /// BigQuery expires it at once).
    let stagedAt: Timestamp

    /// A new batch staged now.
    init(id: String = UUID().uuidString.lowercased(), stagedAt: Timestamp = .now()) {
        precondition(id.utf8.allSatisfy { $0 == UInt8(ascii: "-") || (48...57).contains($0) || (97...102).contains($0) },
                     "a batch id is a lower-case UUID")
        self.id = id
        self.stagedAt = stagedAt
    }

    /// The `insertId` of the batch's `index`-th row in a table: unique per row of this batch, so
    /// BigQuery's best-effort de-duplication only ever drops a re-sent copy of the same request. (A
    /// key such as `event_id + revision` would make BigQuery drop the rows of a *retried* batch
    /// staged within its de-duplication window: that batch's MERGE would then miss them.)
    func insertID(table: String, index: Int) -> String {
        "\(id)/\(table)/\(index)"
    }

    /// The batch's columns of a staged row.
    var columns: [String: JSONValue] {
        ["batch_id": .string(id), "staged_at": .string(CallRow.text(stagedAt))]
    }
}

/// How a ``CallEvent`` or an ``EntityRecord`` becomes a JSON row for `tabledata.insertAll`: the
/// shared column values (``CallRow``, ``EntityRow``) in the types of ``BigQuerySchema``.
enum BigQueryStaging {
    /// A `calls_staging` row: the event's `calls` values plus the batch columns.
    static func callRow(_ event: CallEvent, loadedAt: Timestamp, batch: BigQueryBatch) -> JSONValue {
        .object(object(columns: CallRow.columns, values: CallRow.values(of: event, loadedAt: loadedAt),
                       fields: BigQuerySchema.calls).merging(batch.columns) { $1 })
    }

    /// A `call_revisions_staging` row: the event's audit values plus the batch columns.
    static func revisionRow(_ event: CallEvent, loadedAt: Timestamp, batch: BigQueryBatch) -> JSONValue {
        .object(object(columns: CallRow.revisionColumns, values: CallRow.revisionValues(of: event, loadedAt: loadedAt),
                       fields: BigQuerySchema.callRevisions).merging(batch.columns) { $1 })
    }

    /// An `entity_staging` row: the record's table, source and entity, its row values, the batch columns.
    static func entityRow(_ record: EntityRecord, loadedAt: Timestamp, batch: BigQueryBatch) -> JSONValue {
        var row = object(columns: EntityRow.columns, values: EntityRow.values(of: record, loadedAt: loadedAt),
                         fields: BigQuerySchema.entityTable)
        row["table_name"] = .string(record.tableName)
        row["source"] = .string(record.source)
        row["entity"] = .string(record.entity)
        return .object(row.merging(batch.columns) { $1 })
    }

    /// `columns` → `values` as JSON of each field's type: `TIMESTAMP` as the text form, `INT64` as a
    /// number, `BOOL` from 0/1, a `REPEATED` column from its JSON-array text, `NULL` as `null`.
    static func object(columns: [String], values: [WarehouseValue], fields: [BigQueryField]) -> [String: JSONValue] {
        precondition(columns.count == values.count && columns.count == fields.count, "one value per column")
        var row: [String: JSONValue] = [:]
        for (field, value) in zip(fields, values) {
            row[field.name] = json(value, field: field)
        }
        return row
    }

    private static func json(_ value: WarehouseValue, field: BigQueryField) -> JSONValue {
        switch value {
        case .null:
            return field.mode == "REPEATED" ? .array([]) : .null
        case .integer(let number):
            return field.type == "BOOL" ? .bool(number != 0) : .int(number)
        case .real(let number):
            return .double(number)
        case .text(let text):
            if field.mode == "REPEATED" {
                // CallRow stores tags as JSON-array text; the column is ARRAY<STRING>.
                return (try? JSONValue.parse(Array(text.utf8))) ?? .array([])
            }
            return .string(text)
        case .blob(let bytes):
            return .string(Data(bytes).base64EncodedString())
        }
    }
}
