import Prometheus
import Warehouse

/// The loader's Prometheus series, on a registry passed in: `callfeed_load_messages_total`,
/// `callfeed_load_rows_total{result}` (calls), `callfeed_load_entity_rows_total{result}` (entity
/// tables), `callfeed_load_duplicates_dropped_total`, `callfeed_load_dead_letters_total`,
/// `callfeed_load_batches_total`, `callfeed_load_retries_total`, `callfeed_load_batch_duration_seconds`.
public struct LoadMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let consumed: Counter
    private let duplicates: Counter
    private let deadLetters: Counter
    private let batches: Counter
    private let retries: Counter
    private let inserted: Counter
    private let updated: Counter
    private let unchanged: Counter
    private let entityInserted: Counter
    private let entityUpdated: Counter
    private let entityUnchanged: Counter
    private let batchDuration: DurationHistogram

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        func counter(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Counter {
            registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "callfeed", subsystem: "load", metricName: name,
                                                                  unitName: "total", helpText: help), labels: labels)
        }
        consumed = counter("messages", "Messages read from the calls and entities topics.")
        duplicates = counter("duplicates_dropped",
                             "Exact duplicates (same event_id, or entity key, and revision) dropped within a batch.")
        deadLetters = counter("dead_letters", "Messages sent to the dead-letter topic.")
        batches = counter("batches", "Batches committed to the warehouse and to Kafka.")
        retries = counter("retries", "Warehouse writes retried after a transient error.")
        let rowsHelp = "Calls rows by outcome: inserted, updated, unchanged (exact re-send or older revision)."
        inserted = counter("rows", rowsHelp, [("result", "inserted")])
        updated = counter("rows", rowsHelp, [("result", "updated")])
        unchanged = counter("rows", rowsHelp, [("result", "unchanged")])
        let entityRowsHelp = "Entity table rows by outcome: inserted, updated, unchanged (exact re-send or older revision)."
        entityInserted = counter("entity_rows", entityRowsHelp, [("result", "inserted")])
        entityUpdated = counter("entity_rows", entityRowsHelp, [("result", "updated")])
        entityUnchanged = counter("entity_rows", entityRowsHelp, [("result", "unchanged")])
        batchDuration = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(namespace: "callfeed", subsystem: "load", metricName: "batch_duration",
                                             unitName: "seconds", helpText: "Decode, dedupe, warehouse commit and offset commit of one batch."),
            labels: [],
            buckets: [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                      .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)])
    }

    /// Records one committed batch.
    func batch(messages: Int, duplicatesDropped: Int, deadLettered: Int, summary: ApplySummary,
               entitySummary: ApplySummary, duration: Duration) {
        consumed.increment(by: Int64(messages))
        duplicates.increment(by: Int64(duplicatesDropped))
        deadLetters.increment(by: Int64(deadLettered))
        inserted.increment(by: Int64(summary.inserted))
        updated.increment(by: Int64(summary.updated))
        unchanged.increment(by: Int64(summary.unchanged))
        entityInserted.increment(by: Int64(entitySummary.inserted))
        entityUpdated.increment(by: Int64(entitySummary.updated))
        entityUnchanged.increment(by: Int64(entitySummary.unchanged))
        batches.increment()
        batchDuration.record(duration)
    }

    func retried() { retries.increment() }
}
