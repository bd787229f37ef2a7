import CallFeedCore
import Prometheus
import Synchronization
import Warehouse

/// The loader's Prometheus series, on a registry passed in: `callfeed_load_messages_total`,
/// `callfeed_load_rows_total{result}` (calls), `callfeed_load_entity_rows_total{result}` (entity
/// tables), `callfeed_load_duplicates_dropped_total`, `callfeed_load_dead_letters_total`,
/// `callfeed_load_batches_total`, `callfeed_load_retries_total`, `callfeed_load_batch_duration_seconds`,
/// and per partition the lag and loss series of ``PartitionGauges``.
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
    /// Lag and loss, per partition.
    let partitions: PartitionGauges
    /// How fresh the loaded calls are, per source and channel.
    let freshness: FreshnessHistograms

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        partitions = PartitionGauges(registry: registry)
        freshness = FreshnessHistograms(registry: registry)
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

/// The loader's lag and loss series, per topic and partition, made when a partition is first seen
/// (so each exists at 0 before anything happens): `callfeed_load_lag_messages{topic,partition}`,
/// `callfeed_load_lag_seconds{topic,partition}`, `callfeed_load_offsets_lost_total{topic,partition}`.
final class PartitionGauges: Sendable {
    private let registry: PrometheusCollectorRegistry
    private struct Series { var messages: Gauge; var seconds: Gauge; var lost: Counter }
    private let series = Mutex<[PartitionID: Series]>([:])

    struct PartitionID: Hashable, Sendable {
        var topic: String
        var partition: Int32
    }

    static var lagMessages: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "callfeed", subsystem: "load", metricName: "lag", unitName: "messages",
        helpText: "Messages in the partition not yet loaded and committed by this member (high watermark minus committed offset); 0 for a partition another member owns.") }
    static var lagSeconds: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "callfeed", subsystem: "load", metricName: "lag", unitName: "seconds",
        helpText: "Now minus the Kafka timestamp of the oldest message not yet loaded (an upper bound while it is not fetched yet); 0 when caught up.") }
    static var offsetsLost: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "callfeed", subsystem: "load", metricName: "offsets_lost", unitName: "total",
        helpText: "Offsets the loader never read because they were gone (retention deleted them, or a broker lost them): data missing from the warehouse until backfilled.") }

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    private func series(_ id: PartitionID) -> Series {
        series.withLock { all in
            if let known = all[id] { return known }
            let labels = [("topic", id.topic), ("partition", String(id.partition))]
            let made = Series(messages: registry.makeGauge(descriptor: Self.lagMessages, labels: labels),
                              seconds: registry.makeGauge(descriptor: Self.lagSeconds, labels: labels),
                              lost: registry.makeCounter(descriptor: Self.offsetsLost, labels: labels))
            all[id] = made
            return made
        }
    }

    /// Sets the lag of one partition; `seconds` nil leaves the seconds gauge as it was.
    func lag(_ id: PartitionID, messages: Int64, seconds: Double?) {
        let gauges = series(id)
        gauges.messages.set(messages)
        if let seconds { gauges.seconds.set(seconds) }
    }

    /// Every partition with series so far.
    var known: [PartitionID] { series.withLock { Array($0.keys) } }

    /// Counts a gap's messages in `callfeed_load_offsets_lost_total`.
    func lost(_ gap: OffsetGap) {
        series(PartitionID(topic: gap.topic, partition: gap.partition)).lost.increment(by: gap.count)
    }
}

/// `callfeed_load_freshness_seconds{source,channel}`: loaded_at minus received_at of every call
/// event the loader committed (how long CallFeed itself took), and
/// `callfeed_call_delay_seconds{source,channel}`: received_at minus ended_at (how long after the
/// call ended the vendor told us; events without an end time are not counted). Together they split
/// "the warehouse is stale" into "we are slow" and "the vendor is slow". Series are made when a
/// (source, channel) pair is first loaded.
final class FreshnessHistograms: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let series = Mutex<[String: (freshness: DurationHistogram, delay: DurationHistogram)]>([:])

    static let freshnessBuckets: [Duration] = [.milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                               .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
                                               .seconds(60), .seconds(300), .seconds(900), .seconds(3600)]
    static let delayBuckets: [Duration] = [.seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300), .seconds(900),
                                           .seconds(1800), .seconds(3600), .seconds(4 * 3600), .seconds(86_400), .seconds(7 * 86_400)]

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    private func histograms(source: String, channel: String) -> (freshness: DurationHistogram, delay: DurationHistogram) {
        series.withLock { all in
            let key = source + "\u{1F}" + channel
            if let known = all[key] { return known }
            let labels = [("source", source), ("channel", channel)]
            let made = (
                freshness: registry.makeDurationHistogram(
                    descriptor: MetricNameDescriptor(namespace: "callfeed", subsystem: "load", metricName: "freshness", unitName: "seconds",
                                                     helpText: "Loaded (warehouse commit) minus received_at of each call event loaded."),
                    labels: labels, buckets: Self.freshnessBuckets),
                delay: registry.makeDurationHistogram(
                    descriptor: MetricNameDescriptor(namespace: "callfeed", subsystem: "call", metricName: "delay", unitName: "seconds",
                                                     helpText: "received_at minus the call's ended_at: how long after a call ends its vendor tells CallFeed."),
                    labels: labels, buckets: Self.delayBuckets))
            all[key] = made
            return made
        }
    }

    /// Records the events of one committed batch.
    func loaded(_ events: [CallEvent], at loadedAt: Timestamp) {
        for event in events {
            let h = histograms(source: event.content.source, channel: event.channel.rawValue)
            h.freshness.record(.milliseconds(max(0, loadedAt.millisecondsSinceEpoch - event.receivedAt.millisecondsSinceEpoch)))
            if let ended = event.content.endedAt {
                h.delay.record(.milliseconds(max(0, event.receivedAt.millisecondsSinceEpoch - ended.millisecondsSinceEpoch)))
            }
        }
    }
}
