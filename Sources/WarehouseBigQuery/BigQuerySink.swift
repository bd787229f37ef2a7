import CallFeedCore
import Warehouse

/// A ``WarehouseSink`` writing to Google BigQuery over its REST API.
///
/// Same tables, columns, values and version rule as ``SQLiteSink`` (docs/warehouse.md), in native
/// types (docs/warehouse-bigquery.md). A batch is applied in four steps:
///
/// 1. one query reads the stored (revision, version_key) of the batch's `event_id`s and their recorded
///    revisions (the ids travel as an `ARRAY<STRING>` query parameter);
/// 2. ``VersionRule`` decides in memory, event by event in array order, the exact ``ApplySummary`` and
///    the rows to write;
/// 3. those rows are streamed into `calls_staging` / `call_revisions_staging` (`tabledata.insertAll`),
///    tagged with a fresh batch id;
/// 4. one script, in one transaction, checks the staged rows are all visible and MERGEs them into
///    `calls` (`WHEN MATCHED AND S.version_key > T.version_key THEN UPDATE`, `WHEN NOT MATCHED THEN
///    INSERT`) and `call_revisions` (insert if absent). It commits or changes nothing.
///
/// An exact re-send changes nothing and writes nothing: the rule finds no row to write.
///
/// ```swift
/// let sink = try BigQuerySink(configuration: .init(project: "acme-analytics", auth: .token(token)))
/// try sink.prepare()
/// let summary = try sink.apply(batch, loadedAt: .now())
/// ```
///
/// - Important: Not `Sendable`: one loader thread owns a sink (it owns one curl handle). The rule's
///   counts assume no other writer changes the same `event_id`s between steps 1 and 4 (the loader
///   sends each call to one partition, so to one loader); a concurrent write can skew the counts,
///   never the rows.
public final class BigQuerySink: WarehouseSink, CanonicalDumping {
    /// The configuration given to `init`.
    public let configuration: BigQueryConfiguration
    /// `nil` after ``close()``.
    var client: BigQueryClient?
    /// Set by ``prepare()``.
    var isPrepared = false
    /// Entity tables known to exist and be registered, with their (source, entity). Filled on first
    /// use by ``applyEntities(_:loadedAt:)`` after its transaction committed; emptied by ``prepare()``.
    var entityTables: [String: (source: String, entity: String)] = [:]

    /// Checks the configuration and reads the credentials; makes no request.
    ///
    /// Call ``prepare()`` before ``apply(_:loadedAt:)``.
    /// - Parameter configuration: Project, dataset, location, endpoint and credentials.
    /// - Throws: ``WarehouseError`` (not transient) for an invalid project or dataset name, or a
    ///   service-account key that cannot be used.
    public init(configuration: BigQueryConfiguration) throws(WarehouseError) {
        self.configuration = configuration
        client = try BigQueryClient(configuration: configuration)
    }

    deinit { close() }

    // MARK: - WarehouseSink

    /// Creates the dataset if missing and applies every pending migration
    /// (`BigQuerySink+Migrations.swift`).
    ///
    /// BigQuery has no transactional DDL: each migration creates its tables (an existing one is left
    /// as it is) and only then records itself in `schema_migrations`, so an interrupted `prepare()` is
    /// finished by the next one. A dataset whose recorded history is not a prefix of this build's
    /// migrations (a newer build migrated it) is refused before anything is created.
    /// - Throws: ``WarehouseError``; transient when BigQuery or the network failed.
    public func prepare() throws(WarehouseError) {
        let client = try openClient()
        try migrate(client)
        entityTables = [:]
        isPrepared = true
    }

    /// Applies the batch (see the type's description): one look-up query, `insertAll` of the rows to
    /// write, one MERGE script in one transaction.
    /// - Parameters:
    ///   - events: The batch; an empty batch does nothing.
    ///   - loadedAt: Written to `loaded_at` of rows inserted or replaced, and of new audit rows.
    /// - Returns: One count per event, plus the number of new audit rows.
    /// - Throws: ``WarehouseError``; nothing of the batch is visible then. Transient for network,
    ///   5xx, rate-limit and quota errors and lost transaction races; code 19 for a malformed event
    ///   (an `event_id` that is not 36 bytes, a `revision` that is not 64), code 20 for values
    ///   BigQuery refused.
    public func apply(_ events: [CallEvent], loadedAt: Timestamp) throws(WarehouseError) -> ApplySummary {
        let client = try preparedClient("apply")
        guard !events.isEmpty else { return ApplySummary() }
        for event in events where event.eventID.utf8.count != 36 || event.revision.utf8.count != 64 {
            throw WarehouseError(code: BigQueryErrorCode.refused,
                                 reason: "BigQuerySink: event \(jsonStringLiteral(event.eventID)) refused: an event_id "
                                     + "has 36 bytes and a revision 64",
                                 isTransient: false)
        }
        // 1. What is stored.
        var ids: [String] = []
        var seenIDs = Set<String>()
        for event in events where seenIDs.insert(event.eventID).inserted { ids.append(event.eventID) }
        let found = try client.query(BigQueryStatements.lookupCalls(client), parameters: [.stringArray("ids", ids)],
                                     action: "reading the stored rows of \(ids.count) calls")
        var stored: [String: (revision: String, versionKey: String)] = [:]
        var recorded = Set<String>()
        for row in found.rows {
            let cells = row.map(BigQueryQueryResult.text)
            guard cells.count == 4, let kind = cells[0], let id = cells[1], let revision = cells[2] else { continue }
            if kind == "calls" {
                stored[id] = (revision, cells[3] ?? "")
            } else {
                recorded.insert(id + "|" + revision)
            }
        }
        // 2. The version rule, and the audit rows: each new (event_id, revision) once, first copy wins.
        let outcome = VersionRule.apply(events, stored: stored, key: \.eventID, revision: \.revision,
                                        versionKey: CallRow.versionKey(of:))
        var summary = outcome.summary
        let newRevisions = events.filter { recorded.insert($0.eventID + "|" + $0.revision).inserted }
        summary.revisionsAdded = newRevisions.count
        guard !outcome.rows.isEmpty || !newRevisions.isEmpty else { return summary }
        // 3. Stage.
        let batch = BigQueryBatch()
        try client.insertAll("calls_staging", rows: outcome.rows.enumerated().map { index, event in
            (batch.insertID(table: "calls", index: index),
             BigQueryStaging.callRow(event, loadedAt: loadedAt, batch: batch))
        })
        try client.insertAll("call_revisions_staging", rows: newRevisions.enumerated().map { index, event in
            (batch.insertID(table: "call_revisions", index: index),
             BigQueryStaging.revisionRow(event, loadedAt: loadedAt, batch: batch))
        })
        // 4. Merge, atomically.
        _ = try client.query(
            BigQueryStatements.applyCalls(client, batch: batch, callRows: outcome.rows.count,
                                          revisionRows: newRevisions.count),
            action: "merging batch \(batch.id) (\(outcome.rows.count) calls, \(newRevisions.count) revisions)",
            kind: .data)
        return summary
    }

    /// Releases the HTTP client. Idempotent; afterwards every call throws.
    public func close() {
        client = nil
        isPrepared = false
        entityTables = [:]
    }

    // MARK: - Internal

    /// The client, or a misuse error after ``close()``.
    func openClient(file: String = #fileID, line: UInt = #line) throws(WarehouseError) -> BigQueryClient {
        guard let client else { throw .bigQueryMisuse("the sink is closed", file: file, line: line) }
        return client
    }

    /// The client of a prepared sink, or a misuse error.
    func preparedClient(_ call: String, file: String = #fileID, line: UInt = #line) throws(WarehouseError)
        -> BigQueryClient {
        let client = try openClient(file: file, line: line)
        guard isPrepared else { throw .bigQueryMisuse("\(call) called before prepare()", file: file, line: line) }
        return client
    }
}

@available(*, unavailable, message: "one loader thread owns a sink")
extension BigQuerySink: Sendable {}
