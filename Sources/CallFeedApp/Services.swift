import CallFeedLoad
import CallFeedPoll
import Foundation
import HTTPServer
import Kafka
import Logging
import Warehouse
import ServiceLifecycle
import Synchronization

/// Runs blocking clean-up (joining threads, flushing librdkafka) off the cooperative pool.
func offThread(_ work: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        Thread.detachNewThread {
            work()
            continuation.resume()
        }
    }
}

/// Runs blocking work on its own thread and waits for it at most until `deadline`.
/// - Returns: The work's result, or nil if it was still running at the deadline (it goes on in
///   the background; the caller is about to exit).
func offThread<T: Sendable>(until deadline: ContinuousClock.Instant,
                            _ work: @escaping @Sendable () -> T) async -> T? {
    let result = Mutex<T?>(nil)
    let done = DispatchSemaphore(value: 0)
    return await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        Thread.detachNewThread {
            let value = work()
            result.withLock { $0 = value }
            done.signal()
        }
        // A second thread waits, so exactly one path resumes the continuation.
        Thread.detachNewThread {
            let finished = done.wait(timeout: dispatchTime(deadline)) == .success
            continuation.resume(returning: finished ? result.withLock { $0 } : nil)
        }
    }
}

/// `deadline` on the dispatch clock (both are monotonic).
private func dispatchTime(_ deadline: ContinuousClock.Instant) -> DispatchTime {
    .now() + max(0, (deadline - .now) / .milliseconds(1)) / 1000
}

/// A graceful stop whose grace period ran out with work still in hand. Nothing is lost (a webhook
/// cut off got 503 and the vendor retries; a batch whose offsets were not committed is read again)
/// but the stop was not clean, so the executables exit with ``exitCode`` instead of 0.
public struct ShutdownIncomplete: Error, Sendable, CustomStringConvertible {
    /// 75, `EX_TEMPFAIL` in sysexits.h: "temporary failure; retrying will work" (docs/operations.md).
    public static let exitCode: Int32 = 75
    /// What was still in hand.
    public var reason: String
    public var description: String { "grace period ran out: \(reason)" }
}

/// The webhook server, its producer and the pollers that share it, already started.
///
/// On graceful shutdown, within `grace` from the signal: new requests get 503 at once (the listener
/// stays open), in-flight requests finish (their acks arrive: 202) while the pollers finish their
/// page in hand, then the producer is flushed with what remains of the grace; then the listener
/// closes. Whatever is still unanswered when the grace runs out gets 503, the producer's
/// unacknowledged messages are counted in the log, and `run()` throws ``ShutdownIncomplete``.
public struct IngestService: Service {
    let server: HTTPServer
    let producer: KafkaProducer
    let scheduler: PollScheduler?
    let store: StateStore?
    let grace: Duration
    let logger: Logger

    /// - Parameters:
    ///   - scheduler: Pollers publishing through `producer` (stopped before it is flushed), with
    ///     their checkpoint `store` (closed after them).
    ///   - grace: `ingest.shutdown_grace_seconds`.
    public init(server: HTTPServer, producer: KafkaProducer, scheduler: PollScheduler? = nil, store: StateStore? = nil,
                grace: Duration = .seconds(10), logger: Logger = Logger(label: "callfeed-ingest")) {
        self.server = server
        self.producer = producer
        self.scheduler = scheduler
        self.store = store
        self.grace = grace
        self.logger = logger
    }

    /// What a stop found and left.
    struct StopReport: Sendable {
        /// Requests waiting for their acks when the stop began.
        var inFlight = 0
        /// Requests answered 503 because the grace ran out.
        var cutOff = 0
        /// Produced messages Kafka had not acknowledged when the grace ran out (purged).
        var unflushed = 0
        /// Whether every poller stopped within the grace.
        var pollersStopped = true
        var isClean: Bool { cutOff == 0 && unflushed == 0 && pollersStopped }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        let deadline = ContinuousClock.now + grace
        // At once, before anything else: new requests get 503 from here on.
        server.beginDraining()
        logger.info("shutting down: new requests are answered 503", metadata: [
            "in_flight": "\(server.inFlight)", "grace_seconds": "\(grace.components.seconds)",
        ])
        let report = await offThread(until: deadline + .seconds(5)) { [self] in stop(by: deadline) }
        guard let report, report.isClean else {
            let metadata: Logger.Metadata = report.map {
                ["in_flight": "\($0.inFlight)", "cut_off": "\($0.cutOff)", "unflushed_messages": "\($0.unflushed)",
                 "pollers_stopped": "\($0.pollersStopped)"]
            } ?? ["stuck": "closing the producer"]
            logger.warning("grace period ran out: the rest was answered 503 (vendors retry)", metadata: metadata)
            throw ShutdownIncomplete(reason: "ingest: \(metadata.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " "))")
        }
        logger.info("stopped cleanly: every in-flight request answered, producer flushed",
                    metadata: ["in_flight": "\(report.inFlight)"])
    }

    /// The blocking part of the stop, in order; every wait ends at `deadline`.
    func stop(by deadline: ContinuousClock.Instant) -> StopReport {
        var report = StopReport()
        report.inFlight = server.inFlight
        // The pollers finish their page while the in-flight requests wait for their acks.
        let pollersStopped = Atomic<Bool>(true)
        let pollersDone = DispatchSemaphore(value: 0)
        if let scheduler {
            Thread.detachNewThread {
                pollersStopped.store(scheduler.stop(deadline: deadline), ordering: .releasing)
                pollersDone.signal()
            }
        } else {
            pollersDone.signal()
        }
        server.waitForInFlight(until: deadline)
        pollersDone.wait()
        report.pollersStopped = pollersStopped.load(ordering: .acquiring)
        // What the pollers (and the DLQ writes) produced, bounded by what remains of the grace.
        let left = max(0, (deadline - .now) / .milliseconds(1))
        producer.flush(timeoutMilliseconds: Int32(min(left, Double(Int32.max))))
        report.unflushed = producer.outstanding
        report.cutOff = server.stop(grace: .zero)
        // A poller still running may still produce: the handle must outlive it (the process exits).
        guard report.pollersStopped else { return report }
        producer.close(flushTimeoutMilliseconds: 0)
        store?.close()
        return report
    }
}

/// The loader, already started; on graceful shutdown it finishes its batch (or, with `drain`,
/// loads all that is in the topic), commits and leaves the group.
///
/// With a `grace`, a loader thread still busy when it runs out (a warehouse call that hangs) is
/// abandoned: `run()` logs it and throws ``ShutdownIncomplete`` (the batch's offsets are not
/// committed; the next member of the group reads it again).
public struct LoaderService: Service {
    let loader: CallLoader
    let drain: Bool
    let grace: Duration?
    let logger: Logger

    /// Leaving the group (the consumer's close) may take this much beyond the grace.
    static let closeAllowance = Duration.seconds(5)

    /// - Parameter grace: `load.shutdown_grace_seconds`; nil waits as long as it takes (the
    ///   embedded mode's drain).
    public init(loader: CallLoader, drain: Bool, grace: Duration? = nil,
                logger: Logger = Logger(label: "callfeed-load")) {
        self.loader = loader
        self.drain = drain
        self.grace = grace
        self.logger = logger
    }

    public func run() async throws {
        try? await gracefulShutdown()
        guard let grace else {
            await offThread { [loader, drain] in loader.stop(drain: drain) }
            return
        }
        let deadline = ContinuousClock.now + grace
        logger.info("shutting down: finishing the batch in hand", metadata: ["grace_seconds": "\(grace.components.seconds)"])
        let stopped = await offThread(until: deadline + Self.closeAllowance) { [loader, drain] in
            loader.stop(drain: drain, deadline: deadline)
        }
        guard stopped == true else {
            logger.error("grace period ran out with the loader still in the warehouse; its batch's offsets are not committed and the group will read it again")
            throw ShutdownIncomplete(reason: "load: batch in hand not finished")
        }
        logger.info("stopped cleanly: batch committed, group left")
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
/// hand (its cursor saved), then the state store closes. (`callfeed-ingest` stops its pollers
/// inside ``IngestService``, under the same grace as the webhooks.)
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
