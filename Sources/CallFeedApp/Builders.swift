import CallFeedCore
import CallFeedIngest
import CallFeedLoad
import CallFeedVendors
import HTTPServer
import Kafka
import Logging
import Prometheus
import Warehouse

/// Turns configuration into the running parts. The executables and the embedded mode call these;
/// tests call them too, so what is tested is what runs.
public enum Builders {
    /// librdkafka properties for every client: bootstrap servers plus the configured extras.
    public static func kafkaProperties(_ config: CallFeedConfiguration, clientID: String) -> [String: String] {
        var properties = config.kafka.properties
        properties["bootstrap.servers"] = config.kafka.bootstrapServers
        properties["client.id"] = clientID
        return properties
    }

    /// - Parameter gate: The embedded mode's back-pressure (``BacklogGate``); nil elsewhere.
    public static func makeProducer(_ config: CallFeedConfiguration, clientID: String,
                                    gate: BacklogGate? = nil) throws(KafkaError) -> KafkaProducer {
        var properties = kafkaProperties(config, clientID: clientID)
        properties["message.timeout.ms"] = String(config.kafka.deliveryTimeoutMilliseconds)
        properties["linger.ms"] = properties["linger.ms"] ?? "2"
        return try KafkaProducer(properties: properties, gate: gate)
    }

    /// The webhook routes of the configured sources (a route with no sources is not served).
    public static func makeRoutes(_ config: CallFeedConfiguration) -> [any WebhookRoute] {
        var routes: [any WebhookRoute] = []
        let callkeeper = config.sources.callkeeper.filter { !$0.acceptedTokens.isEmpty }
        let ctm = config.sources.ctm.filter(\.receivesWebhooks)
        if !callkeeper.isEmpty {
            routes.append(CallKeeperWebhookRoute(sources: callkeeper.map {
                .init(source: WebhookSource(name: $0.name, context: MappingContext(accountID: $0.accountID, timeZone: $0.timezone,
                                                                                   defaultCountry: $0.defaultCountry)),
                      tokens: $0.acceptedTokens)
            }))
        }
        if !ctm.isEmpty {
            // One route source per account: the secret that verifies a hook names its account.
            routes.append(CTMWebhookRoute(sources: ctm.flatMap { s in
                s.webhookAccounts.map { account in
                    .init(source: WebhookSource(name: s.name, context: MappingContext(accountID: account.accountID, timeZone: "UTC",
                                                                                      defaultCountry: s.defaultCountry),
                                                pinnedAccountID: s.webhookSecrets[account.accountID] != nil ? account.accountID : nil),
                          secrets: account.secrets)
                }
            }, toleranceSeconds: Int64(config.ingest.signatureToleranceSeconds)))
        }
        let callrail = config.sources.callrail.filter { !$0.signingKeys.isEmpty }
        if !callrail.isEmpty {
            routes.append(CallRailWebhookRoute(sources: callrail.map {
                .init(source: WebhookSource(name: $0.name, context: MappingContext(accountID: $0.accountID, timeZone: "UTC",
                                                                                   defaultCountry: $0.defaultCountry)),
                      signingKeys: $0.signingKeys)
            }))
        }
        let justcall = config.sources.justcall.filter { !$0.secrets.isEmpty }
        if !justcall.isEmpty {
            routes.append(JustCallWebhookRoute(sources: justcall.map {
                .init(source: WebhookSource(name: $0.name, context: MappingContext(accountID: $0.accountID, timeZone: "UTC",
                                                                                   defaultCountry: $0.defaultCountry)),
                      secrets: $0.secrets, webhookURL: $0.webhookURL)
            }, toleranceSeconds: Int64(config.ingest.signatureToleranceSeconds)))
        }
        if let hubspot = hubSpotWebhookRoute(config) { routes.append(hubspot) }
        return routes
    }

    public static func makeReceiver(_ config: CallFeedConfiguration, producer: KafkaProducer,
                                    registry: PrometheusCollectorRegistry, logger: Logger) -> WebhookReceiver {
        WebhookReceiver(routes: makeRoutes(config),
                        publisher: EventPublisher(producer: producer, topics: Topics(prefix: config.kafka.topicPrefix)),
                        metrics: IngestMetrics(registry: registry), logger: logger,
                        maxOutstandingEvents: config.ingest.maxOutstandingEvents)
    }

    public static func makeServer(_ config: CallFeedConfiguration, receiver: WebhookReceiver) -> HTTPServer {
        // A request waits at most for Kafka's delivery timeout plus a margin; then the server answers 503.
        let deadline = Duration.milliseconds(config.kafka.deliveryTimeoutMilliseconds + 2_000)
        let server = HTTPServer(configuration: HTTPServerConfiguration(
            host: config.ingest.listenHost, port: UInt16(config.ingest.listenPort), maxBodyBytes: config.ingest.maxBodyBytes,
            connectionLimit: UInt32(config.ingest.connectionLimit),
            connectionTimeoutSeconds: UInt32(config.ingest.connectionTimeoutSeconds), responseDeadline: deadline,
            maxHeaderBytes: config.ingest.maxHeaderBytes, tls: config.ingestTLS),
            handler: receiver.handle)
        server.observer = receiver.observe
        return server
    }

    public static func makeLoader(_ config: CallFeedConfiguration, sink: any WarehouseSink,
                                  registry: PrometheusCollectorRegistry, logger: Logger) throws(KafkaError) -> CallLoader {
        var properties = kafkaProperties(config, clientID: "callfeed-load")
        // How long a fetch may wait for data when there is none (librdkafka: 500 ms). A real broker
        // answers as soon as data arrives; librdkafka's mock cluster (`callfeed dev`, `mock-kafka`)
        // was seen to wait the whole time, which put 0–500 ms into every row's latency
        // (docs/performance.md, "End to end"). 50 ms costs an idle fetch per broker 20 times a second.
        properties["fetch.wait.max.ms"] = properties["fetch.wait.max.ms"] ?? "50"
        // Always `earliest`, whatever kafka.properties says: a new group (or one whose committed
        // offset retention deleted) must start at the oldest message kept, never skip to the end.
        // `latest` would silently drop everything published before the loader first joined; the
        // deleted case is what the loader's offset-gap check reports (docs/reliability.md, "Loss is
        // never silent").
        properties["auto.offset.reset"] = "earliest"
        let consumer = try KafkaConsumer(groupID: config.load.groupID, properties: properties)
        let deadLetters = try makeProducer(config, clientID: "callfeed-load-dlq")
        return CallLoader(consumer: consumer, sink: sink, deadLetters: deadLetters,
                          configuration: LoaderConfiguration(topics: Topics(prefix: config.kafka.topicPrefix),
                                                             batchSize: config.load.batchSize,
                                                             linger: .milliseconds(config.load.lingerMilliseconds),
                                                             batchDelay: .milliseconds(config.load.batchDelayMilliseconds)),
                          metrics: LoadMetrics(registry: registry), logger: logger)
    }

    /// `/healthz`, `/readyz` and `/metrics` for processes without webhook routes (`callfeed-load`).
    /// - Parameter readiness: `/readyz`'s answer (ready → 200, else 503) and JSON body; without
    ///   it `/readyz` is not served.
    public static func makeMetricsServer(host: String, port: Int, registry: PrometheusCollectorRegistry,
                                         readiness: (@Sendable () -> (ready: Bool, body: String))? = nil) -> HTTPServer {
        HTTPServer(configuration: HTTPServerConfiguration(host: host, port: UInt16(port))) { request, responder in
            switch (request.method, request.path) {
            case ("GET", "/healthz"): responder.respond(.json(200, #"{"status":"ok"}"#))
            case ("GET", "/readyz") where readiness != nil:
                let (ready, body) = readiness!()
                responder.respond(.json(ready ? 200 : 503, body))
            case ("GET", "/metrics"):
                responder.respond(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")],
                                               body: registry.emitToBuffer()))
            default: responder.respond(.error(404, "no such endpoint"))
            }
        }
    }
}
