import Foundation
import HTTPServer
import Synchronization

/// A vendor played on a loopback port of its own rather than under a path of the shared sandbox
/// (Athena's single `POST /` endpoint, LeadConduit's `/events`): one ``HTTPServer`` on 127.0.0.1,
/// a free port, every request answered synchronously by `handle`.
final class OwnPortServer: Sendable {
    private let server = Mutex<HTTPServer?>(nil)

    func start(_ handle: @escaping @Sendable (HTTPRequest) -> HTTPResponse) throws {
        let started = HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0)) { request, responder in
            responder.respond(handle(request))
        }
        try started.start()
        server.withLock { $0 = started }
    }

    /// `http://127.0.0.1:<port>` (port 0 before ``start(_:)``).
    var baseURL: String { "http://127.0.0.1:\(server.withLock { $0?.port ?? 0 })" }

    func stop() {
        let running = server.withLock { s -> HTTPServer? in defer { s = nil }; return s }
        _ = running?.stop(grace: .zero)
    }
}
