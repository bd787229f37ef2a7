import Glibc
import CallFeedCore

/// A warehouse the loader writes ``CallEvent``s into: one `calls` row per call (its newest revision)
/// and an append-only `call_revisions` audit (every distinct revision once); and ``EntityRecord``s,
/// one table per source entity (`ctm_accounts`, `justcall_users`, …), one row per object.
///
/// The loader owns one sink on one thread: it calls ``prepare()`` once, then ``apply(_:loadedAt:)``
/// and ``applyEntities(_:loadedAt:)`` per Kafka batch, commits the Kafka offsets only after both
/// returned, and calls ``close()`` on shutdown. Because any event or record may be delivered again
/// (after a crash between the sink's commit and the offset commit), every conformant sink must make
/// both idempotent and order-tolerant exactly as docs/warehouse.md describes:
///
/// - An exact re-send (same `event_id` and `revision`) leaves the `calls` row untouched, `loaded_at`
///   included, and adds no `call_revisions` row.
/// - A different revision replaces the row only if its `version_key` is greater than the stored one
///   (newest `source_updated_at` wins, else newest `received_at`, then the revision text).
/// - The whole batch is one transaction: after an error nothing of the batch is visible.
///
/// - Important: Sinks are not `Sendable`; use one from one thread (or one actor) at a time.
public protocol WarehouseSink: AnyObject {
    /// Creates the schema, or migrates it to the version this build expects.
    ///
    /// Idempotent: calling it on an up-to-date warehouse changes nothing. Migrations only ever add;
    /// a warehouse whose schema is newer than this build knows is refused, never rewritten.
    /// - Throws: ``WarehouseError``; `isTransient` when the warehouse was busy or unreachable.
    func prepare() throws(WarehouseError)

    /// Writes a batch of events in one transaction: all of it or none of it.
    ///
    /// Events are applied in array order, so a batch may hold several revisions of one call.
    /// - Parameters:
    ///   - events: The batch, exact duplicates already removed by the loader (keeping them is harmless).
    ///   - loadedAt: The time to record in `loaded_at` for rows this batch inserts or changes.
    /// - Returns: What happened, one count per event (see ``ApplySummary``).
    /// - Throws: ``WarehouseError``. The transaction was rolled back; retry the same batch when
    ///   `isTransient`, otherwise the batch holds something the warehouse rejects.
    func apply(_ events: [CallEvent], loadedAt: Timestamp) throws(WarehouseError) -> ApplySummary

    /// Writes a batch of entity records in one transaction: all of it or none of it.
    ///
    /// Each record is upserted on ``EntityRecord/id`` into the table ``EntityRecord/tableName``
    /// (`ctm_accounts`, …), which the sink creates on first use and lists in `entity_tables`. The
    /// rule is the calls rule: an exact re-send (same `id` and `revision`) leaves the row untouched,
    /// `loaded_at` included; a different revision replaces it only if its `version_key` is greater.
    /// Records are applied in array order. There is no audit table for entities, so the summary's
    /// `revisionsAdded` is always 0.
    /// - Parameters:
    ///   - records: The batch, exact duplicates already removed by the loader (keeping them is harmless).
    ///   - loadedAt: The time to record in `loaded_at` for rows this batch inserts or changes.
    /// - Returns: One count per record in `inserted`, `updated` or `unchanged`.
    /// - Throws: ``WarehouseError``. The transaction was rolled back (tables it created included).
    ///   A record that fails ``EntityRecord/validate()``, or whose table name is already registered
    ///   for another (source, entity), is refused as data (``WarehouseError/isDataError``), before
    ///   any name reaches SQL.
    func applyEntities(_ records: [EntityRecord], loadedAt: Timestamp) throws(WarehouseError) -> ApplySummary

    /// Releases the connection. Idempotent; afterwards `prepare` and `apply` throw.
    func close()
}

extension WarehouseSink {
    /// ``prepare()``, waiting out a warehouse that is not reachable yet (a compose stack starting, a
    /// failover): transient errors are retried with backoff (0.5 s doubling to 10 s) until `patience`
    /// would be exceeded; any other error (a refused migration, bad credentials) is thrown at once.
    /// - Parameters:
    ///   - patience: How long to keep retrying; `.zero` tries once.
    ///   - onRetry: Called before each wait with the error and the wait (for a log line).
    public func prepare(waitingUpTo patience: Duration,
                        onRetry: (WarehouseError, Duration) -> Void = { _, _ in }) throws(WarehouseError) {
        let deadline = ContinuousClock.now + patience
        var backoff = Duration.milliseconds(500)
        while true {
            do {
                try prepare()
                return
            } catch where error.isTransient && ContinuousClock.now + backoff < deadline {
                onRetry(error, backoff)
                let (seconds, attoseconds) = backoff.components
                usleep(UInt32(seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
                backoff = min(backoff * 2, .seconds(10))
            }
        }
    }
}
