import CallFeedCore
import CallFeedIngest
import CallFeedLoad
import CallFeedPoll
import Foundation
import HTTPServer
import Kafka
import Logging
import Prometheus
import ServiceLifecycle
import UnixSignals
import Warehouse

/// What the executables run. Each returns when the process should exit 0; errors are fatal
/// configuration or start-up problems, printed by the caller.
public enum Commands {
    /// `callfeed-ingest`: webhook receiver -> Kafka.
    public static func runIngest(configPath: String, dryRun: Bool) async throws {
        let config = try CallFeedConfiguration.load(path: configPath)
        if dryRun {
            print("configuration OK (\(configPath)); would serve:")
            print(config.redactedSummary)
            print("routes: " + Builders.makeRoutes(config).map(\.path).joined(separator: ", "))
            return
        }
        let logger = config.log.bootstrap(label: "callfeed-ingest")
        let registry = PrometheusCollectorRegistry()
        let producer = try Builders.makeProducer(config, clientID: "callfeed-ingest")
        let receiver = Builders.makeReceiver(config, producer: producer, registry: registry, logger: logger)
        let server = Builders.makeServer(config, receiver: receiver)
        try server.start()
        logger.info("webhook receiver listening", metadata: [
            "address": "\(config.ingest.listenHost):\(server.port)", "routes": "\(receiver.webhookPaths)",
            "kafka": "\(config.kafka.bootstrapServers)",
        ])
        var services: [any Service] = []
        let pollSources = Builders.pollSources(config)
        if !pollSources.isEmpty {
            let store = try Builders.openState(config)
            let jobs = Builders.pollJobs(config, producer: producer, store: store, registry: registry, logger: logger)
            let scheduler = PollScheduler(jobs: jobs, logger: logger)
            scheduler.start()
            services.append(PollerService(scheduler: scheduler, store: store))
            logger.info("pollers running", metadata: ["jobs": "\(jobs.map(\.poller.jobName))"])
        }
        // Stopped in reverse order: pollers first, then the receiver (which flushes the producer).
        services.insert(IngestService(server: server, producer: producer), at: 0)
        let group = ServiceGroup(services: services,
                                 gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        logger.info("callfeed-ingest stopped")
    }

    /// `callfeed-load`: consumer group -> dedupe -> warehouse.
    /// - Parameter sink: Overrides `load.sink` (`callfeed-load --sink postgres`).
    public static func runLoad(configPath: String, sink sinkKind: String? = nil, dryRun: Bool) async throws {
        var config = try CallFeedConfiguration.load(path: configPath)
        if let sinkKind {
            config.load.sink = sinkKind
            try config.validate(origin: configPath)
        }
        if dryRun {
            print("configuration OK (\(configPath)); would load:")
            print(config.redactedSummary)
            return
        }
        let logger = config.log.bootstrap(label: "callfeed-load")
        let registry = PrometheusCollectorRegistry()
        let sink = try Builders.makeSink(config)
        let loader = try Builders.makeLoader(config, sink: sink, registry: registry, logger: logger)
        try loader.prepare(waitingUpTo: .seconds(120))
        let metricsServer = Builders.makeMetricsServer(host: config.load.metricsHost, port: config.load.metricsPort, registry: registry)
        try metricsServer.start()
        loader.start()
        logger.info("loader running", metadata: ["group": "\(config.load.groupID)", "sink": "\(config.load.sink)",
                                                 "metrics": "\(config.load.metricsHost):\(metricsServer.port)"])
        let group = ServiceGroup(services: [HTTPServerService(server: metricsServer), LoaderService(loader: loader, drain: false)],
                                 gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        sink.close()
        logger.info("callfeed-load stopped")
    }
}
