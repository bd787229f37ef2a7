import CallFeedLoad
import CallFeedPoll
import Foundation
import HTTPServer
import Kafka
import Warehouse
import ServiceLifecycle

/// Runs blocking clean-up (joining threads, flushing librdkafka) off the cooperative pool.
func offThread(_ work: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        Thread.detachNewThread {
            work()
            continuation.resume()
        }
    }
}

/// The webhook server and its producer, already started; on graceful shutdown it stops accepting
/// (503), lets in-flight requests finish, then flushes the producer.
public struct IngestService: Service {
    let server: HTTPServer
    let producer: KafkaProducer

    public init(server: HTTPServer, producer: KafkaProducer) {
        self.server = server
        self.producer = producer
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await offThread { [server, producer] in
            server.stop(grace: .seconds(10))
            producer.close()
        }
    }
}

/// The loader, already started; on graceful shutdown it finishes its batch (or, with `drain`,
/// loads all that is in the topic) and commits.
public struct LoaderService: Service {
    let loader: CallLoader
    let drain: Bool

    public init(loader: CallLoader, drain: Bool) {
        self.loader = loader
        self.drain = drain
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await offThread { [loader, drain] in loader.stop(drain: drain) }
    }
}

/// A started HTTP server (e.g. the loader's `/metrics`), stopped on graceful shutdown.
public struct HTTPServerService: Service {
    let server: HTTPServer
    public init(server: HTTPServer) { self.server = server }

    public func run() async throws {
        try? await gracefulShutdown()
        await offThread { [server] in server.stop(grace: .seconds(1)) }
    }
}

/// The poll scheduler, already started; on graceful shutdown every poller stops after the page in
/// hand (its cursor saved), then the state store closes.
public struct PollerService: Service {
    let scheduler: PollScheduler
    let store: StateStore

    public init(scheduler: PollScheduler, store: StateStore) {
        self.scheduler = scheduler
        self.store = store
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await offThread { [scheduler, store] in
            scheduler.stop()
            store.close()
        }
    }
}
