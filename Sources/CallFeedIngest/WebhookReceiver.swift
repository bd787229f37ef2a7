import CallFeedCore
import CallFeedVendors
import Foundation
import HTTPServer
import Kafka
import Logging
import Prometheus

/// The HTTP front of `callfeed-ingest`: vendor webhook routes, `/healthz`, `/readyz`, `/metrics`.
///
/// The durability contract: a vendor gets 202 only after Kafka acknowledged (acks=all) both the
/// raw body and the CallEvent; 503 if it did not in time (the vendor retries); 401 for bad
/// credentials (nothing produced); 400 for a body that does not parse or map (the body goes to the
/// dead-letter topic first, with the reason).
///
/// A ``NotificationRoute`` (HubSpot) names records instead of carrying them: after authentication
/// its records are fetched, mapped and published on ``notifications`` (off the server's thread),
/// and the vendor gets 200 once Kafka acknowledged all of them (see `receiveNotification`).
public final class WebhookReceiver: Sendable {
    /// `Retry-After` of a 503 answered because there is no room for the event (load shedding).
    public static let retryAfterSeconds = 5
    let routes: [String: any WebhookRoute]
    let publisher: EventPublisher
    let metrics: IngestMetrics
    let logger: Logger
    let clock: @Sendable () -> Timestamp
    /// Runs the blocking fetches of notification routes.
    let notifications: NotificationWorker
    /// Load shedding: at this many messages awaiting Kafka's acknowledgement, webhooks get 503 +
    /// Retry-After at once instead of waiting for a delivery timeout (0: no bound).
    let maxOutstandingEvents: Int

    public init(routes: [any WebhookRoute], publisher: EventPublisher, metrics: IngestMetrics, logger: Logger,
                clock: @escaping @Sendable () -> Timestamp = { .now() },
                notifications: NotificationWorker = NotificationWorker(), maxOutstandingEvents: Int = 0) {
        self.maxOutstandingEvents = maxOutstandingEvents
        self.routes = Dictionary(routes.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        self.publisher = publisher
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
        self.notifications = notifications
    }

    /// Paths served, for start-up messages.
    public var webhookPaths: [String] { routes.keys.sorted() }

    /// The server's handler.
    public func handle(_ request: HTTPRequest, _ responder: any HTTPResponder) {
        switch (request.method, request.path) {
        case ("GET", "/healthz"):
            responder.respond(.json(200, #"{"status":"ok"}"#))
        case ("GET", "/readyz"):
            // A metadata round-trip blocks up to a second: not on the server's thread.
            let producer = publisher.producer
            if isSaturated {
                responder.respond(.error(503, "producer queue saturated: \(producer.outstandingMessages) messages await Kafka (ingest.max_outstanding_events \(maxOutstandingEvents))"))
                return
            }
            Thread.detachNewThread {
                let ok = producer.brokersReachable(timeoutMilliseconds: 1000)
                responder.respond(ok ? .json(200, #"{"status":"ready"}"#) : .error(503, "Kafka brokers not reachable"))
            }
        case ("GET", "/metrics"):
            responder.respond(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")],
                                         body: metrics.registry.emitToBuffer()))
        case (let method, let path):
            guard let route = routes[path] else {
                responder.respond(.error(404, "no such endpoint"))
                return
            }
            guard method == "POST" else {
                var response = HTTPResponse.error(405, "use POST")
                response.headers.append(("Allow", "POST"))
                responder.respond(response)
                return
            }
            receive(request, route: route, responder: responder)
        }
    }

    /// Whether the producer holds ``maxOutstandingEvents`` or more unacknowledged messages.
    var isSaturated: Bool { maxOutstandingEvents > 0 && publisher.producer.outstandingMessages >= maxOutstandingEvents }

    /// Counts an answer (the server reports every one, its own 413/503 included). Unknown paths
    /// are counted as `other` so that scanners cannot blow up the label set.
    public func observe(path: String, status: Int) {
        let route = routes[path] != nil || ["/healthz", "/readyz", "/metrics"].contains(path) ? path : "other"
        metrics.request(route: route, status: status)
    }

    private func receive(_ request: HTTPRequest, route: any WebhookRoute, responder: some HTTPResponder) {
        let receivedAt = clock()
        let started = ContinuousClock.now
        let source: WebhookSource
        switch route.authenticate(request, now: receivedAt) {
        case .failure(let failure):
            logger.warning("webhook refused", metadata: ["route": "\(route.path)", "reason": "\(failure.reason)"])
            responder.respond(.error(401, failure.reason))
            return
        case .success(let s):
            source = s
        }
        if isSaturated {
            // Shed before parsing: Kafka is not keeping up; the vendor retries later.
            metrics.shed(route: route.path)
            logger.debug("producer queue saturated; answering 503 + Retry-After", metadata: [
                "route": "\(route.path)", "outstanding": "\(publisher.producer.outstandingMessages)", "bound": "\(maxOutstandingEvents)"])
            var answer = HTTPResponse.error(503, "busy: too many events waiting for Kafka; retry")
            answer.headers.append(("Retry-After", String(Self.retryAfterSeconds)))
            responder.respond(answer)
            return
        }
        if let notification = route as? any NotificationRoute {
            receiveNotification(request, route: notification, source: source, receivedAt: receivedAt, started: started, responder: responder)
            return
        }

        let event: CallEvent
        do {
            let payload = try JSONValue.parse(request.body)
            let content = try route.content(from: payload, source: source)
            event = CallEvent(content: content, channel: .webhook, receivedAt: receivedAt)
        } catch {
            reject(request.body, reason: "\(error)", route: route, source: source, receivedAt: receivedAt, responder: responder)
            return
        }

        let metrics = self.metrics
        let logger = self.logger
        let topics = publisher.topics
        publisher.publishAccepted(raw: request.body, event: event, route: route.path, sourceName: source.name) { result in
            switch result {
            case .success:
                metrics.produceLatency(ContinuousClock.now - started)
                metrics.produced(source: route.vendor, topic: topics.raw)
                metrics.produced(source: route.vendor, topic: topics.calls)
                responder.respond(.json(202, "{\"status\":\"accepted\",\"event_id\":\"\(event.eventID)\",\"revision\":\"\(event.revision)\"}"))
            case .failure(let error) where error.isQueueFull:
                // Load shedding: refused before anything was queued, answered at once.
                logger.warning("no room for the event; answering 503 + Retry-After so the vendor retries",
                               metadata: ["route": "\(route.path)", "event_id": "\(event.eventID)", "error": "\(error)"])
                var answer = HTTPResponse.error(503, "busy: too many events waiting to be loaded; retry")
                answer.headers.append(("Retry-After", String(Self.retryAfterSeconds)))
                responder.respond(answer)
            case .failure(let error):
                logger.error("event not acknowledged by Kafka; answering 503 so the vendor retries",
                             metadata: ["route": "\(route.path)", "event_id": "\(event.eventID)", "error": "\(error)"])
                responder.respond(.error(503, "event not yet durable; retry"))
            }
        }
    }

    /// 400, after the body is safely in the dead-letter topic (503 if even that fails, so the
    /// vendor retries and nothing is lost).
    func reject(_ body: [UInt8], reason: String, route: any WebhookRoute, source: WebhookSource,
                receivedAt: Timestamp, responder: some HTTPResponder) {
        logger.warning("webhook body rejected", metadata: ["route": "\(route.path)", "source": "\(source.name)", "reason": "\(reason)"])
        let metrics = self.metrics
        let topic = publisher.topics.deadLetters
        publisher.publishDeadLetter(raw: body, reason: reason, source: route.vendor, route: route.path, sourceName: source.name,
                                    receivedAt: receivedAt) { result in
            switch result {
            case .success:
                metrics.produced(source: route.vendor, topic: topic)
                responder.respond(.error(400, reason))
            case .failure:
                responder.respond(.error(503, "could not record the rejected body; retry"))
            }
        }
    }
}
