import CMicroHTTPD
import Foundation
import Synchronization

/// Everything MHD's callbacks need to remember about one request between calls. Lives in MHD's
/// per-connection `con_cls` (retained), released by the request-completed callback.
///
/// `@unchecked Sendable`: MHD touches the request fields only from its one thread; the fields a
/// responder thread shares (`response`, `suspended`) are guarded by `lock`.
final class RequestState: @unchecked Sendable, HTTPResponder {
    let connection: OpaquePointer
    weak var server: HTTPServer?
    var method = ""
    var path = ""
    var query: [String: String] = [:]
    var headers: [String: String] = [:]
    var body: [UInt8] = []
    var tooLarge = false
    var dispatched = false
    var deadline: ContinuousClock.Instant = .now

    private let lock = NSLock()
    private var response: HTTPResponse?
    private var suspended = false

    init(connection: OpaquePointer, server: HTTPServer) {
        self.connection = connection
        self.server = server
    }

    /// First answer wins. Resumes the connection if the handler had it suspended.
    func respond(_ response: HTTPResponse) {
        lock.lock()
        guard self.response == nil else { lock.unlock(); return }
        self.response = response
        let resume = suspended
        suspended = false
        lock.unlock()
        server?.pending.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(self)) }
        if resume { MHD_resume_connection(connection) }
    }

    /// Called on MHD's thread after the handler returned: the answer if it is ready, else suspends
    /// the connection (atomically with respect to ``respond(_:)``) and returns nil.
    func answerOrSuspend() -> HTTPResponse? {
        lock.lock(); defer { lock.unlock() }
        if let response { return response }
        suspended = true
        MHD_suspend_connection(connection)
        return nil
    }

    /// The answer once resumed (nil if still waiting).
    func takeResponse() -> HTTPResponse? {
        lock.lock(); defer { lock.unlock() }
        return response
    }

    var request: HTTPRequest {
        HTTPRequest(method: method, path: path, query: query, headers: headers, body: body)
    }
}
