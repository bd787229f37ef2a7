import CallFeedCore
import CallFeedVendors
import Dispatch
import Foundation
import HTTPServer
import Kafka
import Logging
import Synchronization

extension WebhookReceiver {
    /// A notification route's authenticated request: ids from the body, then — on the worker —
    /// fetch, map and publish, answering from there.
    ///
    /// - 400 (after the body is dead-lettered) for a body that does not parse or resolve.
    /// - 200 at once when nothing in it needs a fetch (other object types, deletions).
    /// - 503 when the worker is full, the vendor's API cannot answer (the vendor redelivers), or
    ///   Kafka did not acknowledge everything.
    /// - 200 `{"status":"accepted","published":N,"dead_letters":M,"not_found":K}` once every
    ///   event and raw record (and every unmappable record, dead-lettered with its reason) is
    ///   acknowledged.
    func receiveNotification(_ request: HTTPRequest, route: any NotificationRoute, source: WebhookSource,
                             receivedAt: Timestamp, started: ContinuousClock.Instant, responder: some HTTPResponder) {
        let ids: [String]
        do {
            ids = try route.resolve(JSONValue.parse(request.body), source: source)
        } catch {
            reject(request.body, reason: "\(error)", route: route, source: source, receivedAt: receivedAt, responder: responder)
            return
        }
        guard !ids.isEmpty else {
            responder.respond(.json(200, #"{"status":"accepted","published":0,"dead_letters":0,"not_found":0}"#))
            return
        }
        let accepted = notifications.submit { [self] in
            responder.respond(resolveAndPublish(ids, route: route, source: source, receivedAt: receivedAt, started: started))
        }
        if !accepted {
            logger.warning("notification worker full; answering 503 so the vendor redelivers",
                           metadata: ["route": "\(route.path)", "source": "\(source.name)", "pending": "\(notifications.limit)"])
            responder.respond(.error(503, "too many notifications in progress; retry"))
        }
    }

    /// Fetches `ids`, publishes what maps (event + raw record) and dead-letters what does not;
    /// blocks until Kafka acknowledged all of it. Runs on the worker.
    private func resolveAndPublish(_ ids: [String], route: any NotificationRoute, source: WebhookSource,
                                   receivedAt: Timestamp, started: ContinuousClock.Instant) -> HTTPResponse {
        let records: [JSONValue]
        do {
            records = try route.fetch(ids, source: source)
        } catch {
            logger.error("could not fetch the notified records; answering 503 so the vendor redelivers",
                         metadata: ["route": "\(route.path)", "source": "\(source.name)", "ids": "\(ids.count)", "error": "\(error)"])
            return .error(503, "vendor API unavailable; retry")
        }
        let group = DispatchGroup()
        let failure = Mutex<KafkaError?>(nil)
        let done: @Sendable (Result<Void, KafkaError>) -> Void = { result in
            if case .failure(let error) = result { failure.withLock { $0 = $0 ?? error } }
            group.leave()
        }
        var published = 0
        var deadLetters = 0
        let topics = publisher.topics
        for record in records {
            let raw = record.canonicalJSONBytes
            group.enter()
            do {
                let event = CallEvent(content: try route.content(from: record, source: source), channel: .webhook, receivedAt: receivedAt)
                published += 1
                publisher.publishAccepted(raw: raw, event: event, route: route.path, sourceName: source.name) { [metrics] result in
                    if case .success = result {
                        metrics.produced(source: route.vendor, topic: topics.raw)
                        metrics.produced(source: route.vendor, topic: topics.calls)
                    }
                    done(result)
                }
            } catch {
                deadLetters += 1
                logger.warning("fetched record rejected", metadata: ["route": "\(route.path)", "source": "\(source.name)", "reason": "\(error)"])
                publisher.publishDeadLetter(raw: raw, reason: "\(error)", source: route.vendor, route: route.path, sourceName: source.name,
                                            receivedAt: receivedAt) { [metrics] result in
                    if case .success = result { metrics.produced(source: route.vendor, topic: topics.deadLetters) }
                    done(result)
                }
            }
        }
        group.wait()
        if let error = failure.withLock({ $0 }) {
            logger.error("notified records not acknowledged by Kafka; answering 503 so the vendor redelivers",
                         metadata: ["route": "\(route.path)", "source": "\(source.name)", "error": "\(error)"])
            return .error(503, "events not yet durable; retry")
        }
        metrics.produceLatency(ContinuousClock.now - started)
        let notFound = max(0, ids.count - records.count)
        if notFound > 0 {
            logger.info("notified records not found at the vendor (deleted or archived since)",
                        metadata: ["route": "\(route.path)", "source": "\(source.name)", "not_found": "\(notFound)"])
        }
        return .json(200, "{\"status\":\"accepted\",\"published\":\(published),\"dead_letters\":\(deadLetters),\"not_found\":\(notFound)}")
    }
}
