import CallFeedCore
import CallFeedIngest
import CallFeedLoad
import CallFeedPoll
import HTTPServer
import Warehouse
import Foundation
import Kafka
import Logging
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `callfeed dev`: the whole pipeline in one process — librdkafka's mock cluster (real Kafka
/// protocol on 127.0.0.1), the webhook receiver, and the loader writing a SQLite file.
public enum DevMode {
    public struct Options: Sendable {
        public var configPath: String?
        public var host = "127.0.0.1"
        public var port = 8080
        public var databasePath = "./callfeed.db"
        public var brokers: Int32 = 3
        public var dryRun = false
        /// Run the vendor sandbox in-process and poll it (``DevSandbox``).
        public var sandbox = false
        public init() {}
    }

    /// Sources served when no config file is given. Loopback-only dev credentials, printed at start.
    public static let devToken = "dev-callkeeper-token"
    public static let devSecret = "dev-ctm-secret"

    public static func configuration(_ options: Options) throws -> CallFeedConfiguration {
        var config: CallFeedConfiguration
        if let path = options.configPath {
            config = try CallFeedConfiguration.load(path: path)
        } else {
            config = CallFeedConfiguration()
            config.log.format = "text"
            config.sources.callkeeper = [.init(name: "callkeeper-dev", accountID: "dev", token: devToken, timezone: "UTC", defaultCountry: "RU")]
            config.sources.ctm = [.init(name: "ctm-dev", accountID: "dev", secrets: [devSecret], defaultCountry: "US")]
        }
        config.ingest.listenHost = options.host
        config.ingest.listenPort = options.port
        config.load.sqlitePath = options.databasePath
        config.load.lingerMilliseconds = min(config.load.lingerMilliseconds, 50)
        try config.validate()
        return config
    }

    public static func run(_ options: Options) async throws {
        var options = options
        var devSandbox: DevSandbox?
        if options.sandbox {
            // The JustCall signature covers the webhook URL: it must be known before the routes are.
            if options.port == 0 { options.port = Int(try freePort(host: options.host)) }
            let started = try DevSandbox()
            devSandbox = started
        }
        defer { devSandbox?.stop() }
        var config = try configuration(options)
        let webhookBase = "http://\(options.host):\(options.port)"
        if let devSandbox {
            devSandbox.configure(&config, webhookBase: webhookBase)
            try config.validate()
        }
        if options.dryRun {
            print("callfeed dev would start: a \(options.brokers)-broker mock Kafka cluster on 127.0.0.1 "
                  + "(back-pressure at \(config.dev.backlogLimitBytes) unloaded bytes per partition), then")
            print(config.redactedSummary)
            return
        }
        let logger = config.bootstrapLogging(label: "callfeed-dev")
        let cluster = try KafkaMockCluster(brokers: options.brokers)
        let topics = Topics(prefix: config.kafka.topicPrefix)
        let replication = min(options.brokers, 3)
        try cluster.createTopic(topics.calls, partitions: 6, replicationFactor: replication)
        try cluster.createTopic(topics.raw, partitions: 6, replicationFactor: replication)
        try cluster.createTopic(topics.deadLetters, partitions: 1, replicationFactor: replication)
        try cluster.createTopic(topics.entities, partitions: 6, replicationFactor: replication)
        config.kafka.bootstrapServers = cluster.bootstrapServers

        let registry = PrometheusCollectorRegistry()
        let sink = try Builders.makeSink(config)
        let backpressure = DevBackpressure(config: config, registry: registry)
        let loader = try Builders.makeLoader(config, sink: sink, registry: registry, logger: logger)
        loader.onLoaded = { [gate = backpressure.gate] in gate.loaded($0) }
        try loader.prepare()
        loader.start()
        let producer = try Builders.makeProducer(config, clientID: "callfeed-dev-ingest", gate: backpressure.gate)
        let metricsRefresh = Task { await backpressure.refreshMetrics() }
        defer { metricsRefresh.cancel() }
        let receiver = Builders.makeReceiver(config, producer: producer, registry: registry, logger: logger)
        let server = Builders.makeServer(config, receiver: receiver)
        try server.start()
        // Announce only once the loader holds its partitions, so a hook posted right after the
        // banner is in the warehouse within a second.
        if !(await readiness(of: loader)) {
            logger.warning("loader has no partitions yet; the first events will load once it joins")
        }

        // Services stop in reverse order: pollers first, then the receiver (no new events), then the
        // loader, which drains what Kafka already holds into the warehouse before the cluster goes.
        var services: [any Service] = [LoaderService(loader: loader, drain: true), IngestService(server: server, producer: producer)]
        let jobs: [PollScheduler.Job]
        if !Builders.pollSources(config).isEmpty {
            let store = try Builders.openState(config)
            jobs = Builders.pollJobs(config, producer: producer, store: store, registry: registry, logger: logger)
            let scheduler = PollScheduler(jobs: jobs, logger: logger)
            scheduler.start()
            services.append(PollerService(scheduler: scheduler, store: store))
        } else {
            jobs = []
        }
        devSandbox?.startLiveCalls(webhookBase: webhookBase, logger: logger)

        printBanner(config: config, port: server.port, bootstrap: cluster.bootstrapServers, topics: topics,
                    brokers: options.brokers, custom: options.configPath != nil || devSandbox != nil,
                    pollJobs: jobs.map(\.poller.jobName), sandbox: devSandbox?.url)
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        sink.close()
        withExtendedLifetime(cluster) {}
        say("callfeed dev stopped cleanly")
    }

    static func readiness(of loader: CallLoader) async -> Bool {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: loader.waitUntilAssigned(timeout: .seconds(15))) }
        }
    }

    static func printBanner(config: CallFeedConfiguration, port: UInt16, bootstrap: String, topics: Topics, brokers: Int32, custom: Bool,
                            pollJobs: [String], sandbox: String?) {
        let base = "http://\(config.ingest.listenHost):\(port)"
        let db = URL(fileURLWithPath: config.load.sqlitePath).standardizedFileURL.path
        var lines = [
            "CallFeed dev (embedded) is running",
            "  Kafka (mock, \(brokers) brokers): \(bootstrap)",
            "    topics: \(topics.calls), \(topics.entities), \(topics.raw), \(topics.deadLetters)",
        ]
        if let sandbox {
            lines.append("  Vendor sandbox: \(sandbox)  (CTM, CallKeeper, CallRail, JustCall, HubSpot, Five9, CleverTap; a new call + webhook every 10 s)")
        }
        if !pollJobs.isEmpty {
            lines.append("  Polling: \(pollJobs.joined(separator: ", "))  (state: \(config.poll.statePath))")
        }
        if custom {
            for path in Builders.makeRoutes(config).map(\.path) { lines.append("  Webhook: POST \(base)\(path)") }
        } else {
            lines.append("  Webhook: POST \(base)/webhooks/callkeeper?token=\(devToken)")
            lines.append("  Webhook: POST \(base)/webhooks/ctm  (X-CTM-Time + X-CTM-Signature, secret \(devSecret))")
        }
        lines += [
            "  Health:  \(base)/healthz  \(base)/readyz  \(base)/metrics",
        ]
        if config.load.sink == "sqlite" {
            lines += [
                "  Warehouse (SQLite): \(db)",
                "    sqlite3 \(db) 'select * from calls'",
                "    sqlite3 \(db) 'select table_name from entity_tables'",
            ]
        } else {
            lines.append("  Warehouse:" + config.warehouseSummary.dropFirst(1))
        }
        lines += [
            "Ctrl-C to stop.",
        ]
        say(lines.joined(separator: "\n"))
    }

    /// A port free on `host` right now (bound, read, released).
    static func freePort(host: String) throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ConfigurationError("cannot open a socket to find a free port") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr(host)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw ConfigurationError("cannot find a free port on \(host)") }
        return UInt16(bigEndian: address.sin_port)
    }

    /// Writes to stdout unbuffered (the banner must reach a pipe at once).
    static func say(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
