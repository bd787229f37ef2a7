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
    /// Connections beyond this many are not served until others close.
    public var connectionLimit: UInt32
    /// A connection idle this long is closed, and so is one whose request (headers and body) has
    /// not arrived in full this long after the connection opened or its previous answer was sent
    /// (a slow client cannot hold one forever). 0 disables both.
    public var connectionTimeoutSeconds: UInt32
    /// A handler that has not answered by then gets a 503 from the server.
    public var responseDeadline: Duration
    /// The request line and headers must fit in about this many bytes, else MHD answers 431 and
    /// closes the connection. It sizes each connection's memory (``connectionMemoryBytes``), which
    /// also holds body chunks as they are read and the answer's headers.
    public var maxHeaderBytes: Int
    /// Serve HTTPS instead of HTTP.
    public var tls: HTTPServerTLS?

    public init(host: String = "127.0.0.1", port: UInt16 = 8080, maxBodyBytes: Int = 1 << 20,
                connectionLimit: UInt32 = 4096, connectionTimeoutSeconds: UInt32 = 30,
                responseDeadline: Duration = .seconds(30), maxHeaderBytes: Int = 16 * 1024, tls: HTTPServerTLS? = nil) {
        self.host = host; self.port = port; self.maxBodyBytes = maxBodyBytes
        self.connectionLimit = connectionLimit; self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.responseDeadline = responseDeadline; self.maxHeaderBytes = maxHeaderBytes; self.tls = tls
    }

    /// libmicrohttpd's per-connection memory pool (MHD_OPTION_CONNECTION_MEMORY_LIMIT). MHD answers
    /// 431 once headers leave less than about 1 KiB of it free (measured on 0.9.75), so 2 KiB on top
    /// of ``maxHeaderBytes`` lets headers of that size through.
    var connectionMemoryBytes: Int { maxHeaderBytes + 2048 }
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
    /// Closes connections whose request is too slow to arrive (see ``ReadDeadlines``).
    let readDeadlines: ReadDeadlines
    public private(set) var port: UInt16 = 0
    /// Sees every answer sent, the server's own (413, 503) included: path and status, for metrics.
    /// Set before ``start()``.
    public var observer: (@Sendable (_ path: String, _ status: Int) -> Void)?

    public init(configuration: HTTPServerConfiguration, handler: @escaping HTTPHandler) {
        self.configuration = configuration
        self.handler = handler
        self.readDeadlines = ReadDeadlines(limit: .seconds(configuration.connectionTimeoutSeconds))
    }

    deinit { stop(grace: .zero) }

    public func start() throws(HTTPServerError) {
        lock.lock(); defer { lock.unlock() }
        guard daemon == nil else { return }
        var flags = MHD_USE_POLL_INTERNAL_THREAD.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue | MHD_USE_ERROR_LOG.rawValue
        let pem = try configuration.tls?.readPEM()
        if pem != nil {
            guard HTTPServerTLS.isSupported else { throw HTTPServerError(reason: "this libmicrohttpd was built without TLS support") }
            flags |= MHD_USE_TLS.rawValue
        }
        let me = Unmanaged.passUnretained(self).toOpaque()
        let started = withOptionalCString(pem?.certificate) { certificate in
            withOptionalCString(pem?.key) { key in
                cshim_mhd_start(flags, configuration.host, configuration.port, accessHandler, me, completedHandler, me,
                                connectionNotifier, me, configuration.connectionLimit, configuration.connectionTimeoutSeconds,
                                configuration.connectionMemoryBytes, certificate, key)
            }
        }
        guard let d = started else {
            let why = pem == nil ? String(cString: strerror(errno))
                : "the TLS certificate or key was refused (not a matching pair?), or \(String(cString: strerror(errno)))"
            throw HTTPServerError(reason: "cannot listen on \(configuration.host):\(configuration.port): \(why)")
        }
        daemon = d
        port = cshim_mhd_bound_port(d)
        watchdog.start(server: self)
    }

    /// Starts the graceful stop: from now on every new request is answered 503 at once, while the
    /// listener stays open (a load balancer sees 503 and retries elsewhere, not a refused
    /// connection). Requests already handed to a handler go on. Idempotent.
    public func beginDraining() {
        draining.store(true, ordering: .releasing)
    }

    /// Whether ``beginDraining()`` (or ``stop(grace:)``) was called.
    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Blocks until every in-flight request has been answered or `deadline` passes.
    /// - Returns: true if none is left.
    @discardableResult
    public func waitForInFlight(until deadline: ContinuousClock.Instant) -> Bool {
        while pending.withLock({ !$0.isEmpty }) {
            if ContinuousClock.now >= deadline { return false }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return true
    }

    /// Stops accepting work (new requests get 503), gives in-flight requests up to `grace` to be
    /// answered, answers the rest 503, and stops the daemon (the listener closes: from then on
    /// connections are refused). Idempotent.
    /// - Returns: How many in-flight requests were cut off with 503 when the grace ran out.
    @discardableResult
    public func stop(grace: Duration = .seconds(10)) -> Int {
        lock.lock(); defer { lock.unlock() }
        guard let d = daemon else { return 0 }
        beginDraining()
        waitForInFlight(until: .now + grace)
        var cutOff = 0
        // Twice: a request that passed the draining check just before it was set is registered
        // by MHD's thread a moment later.
        for _ in 0..<2 {
            for state in pending.withLock({ Array($0.values) }) {
                state.respond(.error(503, "server shutting down"))
                cutOff += 1
            }
            // Give MHD's thread a moment to send the resumed answers before it stops.
            Thread.sleep(forTimeInterval: 0.05)
        }
        watchdog.stop()
        MHD_stop_daemon(d)
        daemon = nil
        return cutOff
    }

    /// Requests currently waiting for their handler's answer.
    public var inFlight: Int { pending.withLock { $0.count } }

    /// Answers overdue requests with 503 and closes connections whose request is overdue (called by
    /// the watchdog thread).
    func expireOverdue(now: ContinuousClock.Instant) {
        let overdue = pending.withLock { $0.values.filter { $0.deadline <= now } }
        for state in overdue { state.respond(.error(503, "timed out waiting for the event to be accepted; retry")) }
        readDeadlines.closeOverdue(now: now)
    }
}

/// Calls `body` with a C string of `text`, or with nil.
private func withOptionalCString<R>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let text else { return body(nil) }
    return text.withCString { body($0) }
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
