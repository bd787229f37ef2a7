import Prometheus

/// The receiver's Prometheus series. Registered on a registry passed in (no global state), so the
/// embedded mode can expose ingest and load series on one `/metrics`.
public struct IngestMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let produceLatency: DurationHistogram

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        produceLatency = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(namespace: "callfeed", metricName: "produce_latency", unitName: "seconds",
                                             helpText: "Time from a webhook's arrival to Kafka acknowledging its event (acks=all)."),
            labels: [],
            buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                      .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5)])
    }

    public func request(route: String, status: Int) {
        registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "callfeed", metricName: "http_requests",
                                                              unitName: "total", helpText: "HTTP requests by route and status."),
                             labels: [("route", route), ("status", String(status))]).increment()
    }

    public func produced(source: String, topic: String) {
        registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "callfeed", metricName: "events_produced",
                                                              unitName: "total", helpText: "Records Kafka acknowledged, by source and topic."),
                             labels: [("source", source), ("topic", topic)]).increment()
    }

    /// A webhook answered 503 at once because the producer queue was saturated (load shedding).
    public func shed(route: String) {
        registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "callfeed", subsystem: "ingest", metricName: "shed",
                                                              unitName: "total",
                                                              helpText: "Webhooks answered 503 + Retry-After at once because ingest.max_outstanding_events messages awaited Kafka."),
                             labels: [("route", route)]).increment()
    }

    public func produceLatency(_ duration: Duration) { produceLatency.record(duration) }
}
