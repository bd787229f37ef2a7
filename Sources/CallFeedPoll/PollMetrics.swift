import Prometheus

/// The pollers' Prometheus series.
public struct PollMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    public init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    private func counter(_ name: String, _ help: String, _ labels: [(String, String)]) -> Counter {
        registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "callfeed", subsystem: "poll", metricName: name,
                                                              unitName: "total", helpText: help), labels: labels)
    }

    func page(vendor: String, records: Int, rejected: Int) {
        counter("pages", "Vendor pages fetched and acknowledged by Kafka.", [("vendor", vendor)]).increment()
        counter("records", "Records published by pollers, by outcome.", [("vendor", vendor), ("result", "published")]).increment(by: Int64(records))
        counter("records", "Records published by pollers, by outcome.", [("vendor", vendor), ("result", "rejected")]).increment(by: Int64(rejected))
    }

    func run(vendor: String, stats: RunStatistics) {
        counter("runs", "Completed poll runs.", [("vendor", vendor)]).increment()
        counter("api_calls", "Vendor API requests, retries included.", [("vendor", vendor)]).increment(by: Int64(stats.apiCalls))
    }

    func capSplit(vendor: String) {
        counter("cap_splits", "Windows split because the vendor's result cap would have truncated them.", [("vendor", vendor)]).increment()
    }

    func capExceeded(vendor: String) {
        counter("cap_exceeded", "Smallest windows still over the vendor's result cap (records lost at the vendor).", [("vendor", vendor)]).increment()
    }
}
