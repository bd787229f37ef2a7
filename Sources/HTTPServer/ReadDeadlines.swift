import CShims
import Foundation
import Synchronization

/// Closes connections that take too long to send a request (slowloris).
///
/// libmicrohttpd's connection timeout is an *idle* timeout: a client that sends one byte a second
/// resets it forever. So every connection also gets a deadline by which its next request must be in
/// full (headers and body): set when the connection opens and again after each response, cleared
/// while the handler works (its own response deadline applies then). The server's watchdog calls
/// ``closeOverdue(now:)``, which shuts the socket down; MHD then sees the end of the stream and
/// closes the connection on its own thread, running its usual clean-up.
///
/// The table is keyed by the `MHD_Connection` address. MHD reports a connection closed before it
/// closes its socket, and both happen under `entries`' lock, so `shutdown` never reaches a
/// descriptor that has been reused.
final class ReadDeadlines: Sendable {
    private struct Entry {
        let socket: Int32
        var deadline: ContinuousClock.Instant?
    }

    /// How long a request may take to arrive; zero disables the deadline.
    let limit: Duration
    private let entries = Mutex<[UInt: Entry]>([:])

    init(limit: Duration) { self.limit = limit }

    /// A connection was accepted: its first request is due within ``limit``.
    func opened(_ connection: OpaquePointer) {
        let socket = cshim_mhd_connection_fd(connection)
        guard limit > .zero, socket >= 0 else { return }
        entries.withLock { $0[key(connection)] = Entry(socket: socket, deadline: .now + limit) }
    }

    /// The request is in full: no read deadline while the handler works.
    func received(_ connection: OpaquePointer) {
        entries.withLock { $0[key(connection)]?.deadline = nil }
    }

    /// The response was sent: the next request on this connection is due within ``limit``.
    func finished(_ connection: OpaquePointer) {
        entries.withLock { $0[key(connection)]?.deadline = .now + limit }
    }

    func closed(_ connection: OpaquePointer) {
        _ = entries.withLock { $0.removeValue(forKey: key(connection)) }
    }

    /// Shuts down the sockets of connections past their deadline; returns how many.
    @discardableResult
    func closeOverdue(now: ContinuousClock.Instant) -> Int {
        entries.withLock { entries in
            var closed = 0
            for (id, entry) in entries {
                guard let deadline = entry.deadline, deadline <= now else { continue }
                shutdown(entry.socket, Int32(SHUT_RDWR))
                entries[id]?.deadline = nil
                closed += 1
            }
            return closed
        }
    }

    private func key(_ connection: OpaquePointer) -> UInt { UInt(bitPattern: connection) }
}
