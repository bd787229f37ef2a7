import CMicroHTTPD
import CShims
import Foundation
import Synchronization

/// Server limits and address.
public struct HTTPServerConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port (see ``HTTPServer/port``).
    public var port: UInt16
    /// Bodies larger than this are answered 413 without being buffered.
    public var maxBodyBytes: Int
    public var connectionLimit: UInt32
    /// Idle seconds before MHD closes a connection (a slow client cannot hold one forever).
    public var connectionTimeoutSeconds: UInt32
    /// A handler that has not answered by then gets a 503 from the server.
    public var responseDeadline: Duration

    public init(host: String = "127.0.0.1", port: UInt16 = 8080, maxBodyBytes: Int = 1 << 20,
                connectionLimit: UInt32 = 4096, connectionTimeoutSeconds: UInt32 = 30,
                responseDeadline: Duration = .seconds(30)) {
        self.host = host; self.port = port; self.maxBodyBytes = maxBodyBytes
        self.connectionLimit = connectionLimit; self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.responseDeadline = responseDeadline
    }
}

public struct HTTPServerError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// A libmicrohttpd server with one internal polling thread.
///
/// Handlers answer asynchronously: while a handler waits (for Kafka to acknowledge), its connection
/// is *suspended*, so no thread blocks, and resumed when the handler calls
/// ``HTTPResponder/respond(_:)``. Suspended connections never time out in MHD, so the server keeps
/// a deadline per request and answers 503 itself when it passes, and resumes every suspended
/// connection before stopping the daemon.
///
/// `@unchecked Sendable`: the daemon pointer is set once in `start()` and cleared in `stop()`, both
/// under `lock`; MHD calls the handlers on its own thread.
public final class HTTPServer: @unchecked Sendable {
    let configuration: HTTPServerConfiguration
    let handler: HTTPHandler
    private let lock = NSLock()
    private var daemon: OpaquePointer?
    /// Requests handed to a handler and not answered yet.
    let pending = Mutex<[ObjectIdentifier: RequestState]>([:])
    /// Set while shutting down: new requests get 503.
    let draining = Atomic<Bool>(false)
    private let watchdog = Watchdog()
    public private(set) var port: UInt16 = 0
    /// Sees every answer sent, the server's own (413, 503) included: path and status, for metrics.
    /// Set before ``start()``.
    public var observer: (@Sendable (_ path: String, _ status: Int) -> Void)?

    public init(configuration: HTTPServerConfiguration, handler: @escaping HTTPHandler) {
        self.configuration = configuration
        self.handler = handler
    }

    deinit { stop(grace: .zero) }

    public func start() throws(HTTPServerError) {
        lock.lock(); defer { lock.unlock() }
        guard daemon == nil else { return }
        let flags = MHD_USE_POLL_INTERNAL_THREAD.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue | MHD_USE_ERROR_LOG.rawValue
        let me = Unmanaged.passUnretained(self).toOpaque()
        guard let d = cshim_mhd_start(flags, configuration.host, configuration.port, accessHandler, me,
                                      completedHandler, me, configuration.connectionLimit,
                                      configuration.connectionTimeoutSeconds, 64 * 1024) else {
            throw HTTPServerError(reason: "cannot listen on \(configuration.host):\(configuration.port): \(String(cString: strerror(errno)))")
        }
        daemon = d
        port = cshim_mhd_bound_port(d)
        watchdog.start(server: self)
    }

    /// Stops accepting work (new requests get 503), gives in-flight requests up to `grace` to be
    /// answered, answers the rest 503, and stops the daemon. Idempotent.
    public func stop(grace: Duration = .seconds(10)) {
        lock.lock(); defer { lock.unlock() }
        guard let d = daemon else { return }
        draining.store(true, ordering: .releasing)
        let deadline = ContinuousClock.now + grace
        while pending.withLock({ !$0.isEmpty }) && ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        for state in pending.withLock({ Array($0.values) }) {
            state.respond(.error(503, "server shutting down"))
        }
        watchdog.stop()
        // Give MHD's thread a moment to send the resumed answers before it stops.
        Thread.sleep(forTimeInterval: 0.05)
        MHD_stop_daemon(d)
        daemon = nil
    }

    /// Requests currently waiting for their handler's answer.
    public var inFlight: Int { pending.withLock { $0.count } }

    /// Answers overdue requests with 503 (called by the watchdog thread).
    func expireOverdue(now: ContinuousClock.Instant) {
        let overdue = pending.withLock { $0.values.filter { $0.deadline <= now } }
        for state in overdue { state.respond(.error(503, "timed out waiting for the event to be accepted; retry")) }
    }
}

/// Checks deadlines every 50 ms on its own thread.
final class Watchdog: Sendable {
    private let running = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    func start(server: HTTPServer) {
        running.store(true, ordering: .releasing)
        let weakServer = WeakBox(server)
        let thread = Thread { [self] in
            while running.load(ordering: .acquiring) {
                weakServer.value?.expireOverdue(now: .now)
                Thread.sleep(forTimeInterval: 0.05)
            }
            done.signal()
        }
        thread.name = "http-deadline-watchdog"
        thread.start()
    }

    func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        done.wait()
    }
}

final class WeakBox<T: AnyObject>: @unchecked Sendable {
    weak var value: T?
    init(_ value: T) { self.value = value }
}
