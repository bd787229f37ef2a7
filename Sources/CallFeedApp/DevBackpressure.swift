import CallFeedCore
import Foundation
import Kafka
import Prometheus
import Synchronization

/// `callfeed dev`'s guarantee that a slow loader loses nothing: the mock cluster deletes a
/// partition's oldest messages beyond 5 MiB whether or not they were read, so the in-process
/// producer is gated on what the in-process loader has committed (``BacklogGate``). Past
/// `dev.backlog_limit_bytes` webhooks are answered 503 + `Retry-After` and pollers wait.
///
/// Metrics (refreshed every second):
/// - `callfeed_dev_backlog_bytes`: the fullest partition's unloaded bytes plus those in flight;
/// - `callfeed_dev_backpressure_refused_total`: messages refused (webhooks answered 503);
/// - `callfeed_dev_backpressure_waits_total`: publishes that waited for the loader (pollers).
final class DevBackpressure: Sendable {
    let gate: BacklogGate
    private let backlog: Gauge
    private let refused: Counter
    private let waits: Counter
    /// The gate's counts already added to the counters.
    private let reported = Mutex((refused: 0, waited: 0))

    init(config: CallFeedConfiguration, registry: PrometheusCollectorRegistry) {
        let topics = Topics(prefix: config.kafka.topicPrefix)
        gate = BacklogGate(limitBytes: config.dev.backlogLimitBytes, topics: [topics.calls, topics.entities])
        backlog = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "callfeed", subsystem: "dev", metricName: "backlog", unitName: "bytes",
            helpText: "Bytes of the fullest calls/entities partition not yet loaded, plus those being acknowledged (limit: dev.backlog_limit_bytes)."))
        refused = registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "callfeed", subsystem: "dev", metricName: "backpressure_refused", unitName: "total",
            helpText: "Messages refused because the loader was too far behind (webhooks answered 503 + Retry-After)."))
        waits = registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "callfeed", subsystem: "dev", metricName: "backpressure_waits", unitName: "total",
            helpText: "Publishes (pollers) that waited for the loader to make room."))
    }

    /// Copies the gate's figures into the metrics once a second until the task is cancelled.
    func refreshMetrics() async {
        while !Task.isCancelled {
            let now = gate.snapshot
            backlog.set(Double(now.largestPartitionBytes + now.pendingBytes))
            let (refusedDelta, waitsDelta) = reported.withLock { seen in
                defer { seen = (now.refused, now.waited) }
                return (now.refused - seen.refused, now.waited - seen.waited)
            }
            if refusedDelta > 0 { refused.increment(by: Int64(refusedDelta)) }
            if waitsDelta > 0 { waits.increment(by: Int64(waitsDelta)) }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
