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
/// configuration or start-up problems, printed by the caller, except ``ShutdownIncomplete`` (a stop
/// whose grace period ran out, already logged), which the caller turns into its exit code.
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
        let logger = config.bootstrapLogging(label: "callfeed-ingest")
        let registry = PrometheusCollectorRegistry()
        let producer = try Builders.makeProducer(config, clientID: "callfeed-ingest")
        let receiver = Builders.makeReceiver(config, producer: producer, registry: registry, logger: logger)
        let server = Builders.makeServer(config, receiver: receiver)
        try server.start()
        logger.info("webhook receiver listening", metadata: [
            "address": "\(config.ingest.listenHost):\(server.port)", "routes": "\(receiver.webhookPaths)",
            "kafka": "\(config.kafka.bootstrapServers)",
        ])
        var scheduler: PollScheduler?
        var store: StateStore?
        if !Builders.pollSources(config).isEmpty {
            let state = try Builders.openState(config)
            let jobs = Builders.pollJobs(config, producer: producer, store: state, registry: registry, logger: logger)
            scheduler = PollScheduler(jobs: jobs, logger: logger)
            scheduler?.start()
            store = state
            logger.info("pollers running", metadata: ["jobs": "\(jobs.map(\.poller.jobName))"])
        }
        // One service, so that on SIGTERM the webhooks get 503 at once while the pollers finish
        // their page, all under one grace period (docs/operations.md).
        let ingest = IngestService(server: server, producer: producer, scheduler: scheduler, store: store,
                                   grace: .seconds(config.ingest.shutdownGraceSeconds), logger: logger)
        let group = ServiceGroup(services: [ingest], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await runUntilStopped(group, name: "callfeed-ingest", logger: logger)
    }

    /// Runs the executable's service group; logs how it stopped.
    /// - Throws: ``ShutdownIncomplete`` if the grace period ran out (the executable exits with
    ///   its ``ShutdownIncomplete/exitCode``), or what a service threw.
    static func runUntilStopped(_ group: ServiceGroup, name: String, logger: Logger) async throws {
        do {
            try await group.run()
        } catch let error as ShutdownIncomplete {
            logger.error("\(name) stopped before its work in hand finished", metadata: [
                "reason": "\(error.reason)", "exit_code": "\(ShutdownIncomplete.exitCode)",
            ])
            throw error
        }
        logger.info("\(name) stopped")
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
        let logger = config.bootstrapLogging(label: "callfeed-load")
        let registry = PrometheusCollectorRegistry()
        let sink = try Builders.makeSink(config)
        let loader = try Builders.makeLoader(config, sink: sink, registry: registry, logger: logger)
        try loader.prepare(waitingUpTo: .seconds(120))
        let metricsServer = Builders.makeMetricsServer(host: config.load.metricsHost, port: config.load.metricsPort, registry: registry,
                                                       readiness: { [health = loader.health] in health.readiness() })
        try metricsServer.start()
        loader.start()
        logger.info("loader running", metadata: ["group": "\(config.load.groupID)", "sink": "\(config.load.sink)",
                                                 "metrics": "\(config.load.metricsHost):\(metricsServer.port)"])
        // Stopped in reverse order: the loader (within load.shutdown_grace_seconds), then /metrics.
        let service = LoaderService(loader: loader, drain: false, grace: .seconds(config.load.shutdownGraceSeconds), logger: logger)
        let group = ServiceGroup(services: [HTTPServerService(server: metricsServer), service],
                                 gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // Not closed if the grace ran out: the loader thread may still be inside the sink.
        try await runUntilStopped(group, name: "callfeed-load", logger: logger)
        sink.close()
    }
}
