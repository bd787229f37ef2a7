import Foundation
import HTTPServer
import Synchronization

/// A loopback HTTP server that answers each GET with the next body of a script, so the pollers'
/// real page code (`VendorClient` over libcurl, then the source's parsing) reads fuzzed pages.
///
/// The first request of an input gets the fuzzed body; any further one (a source that walks
/// several pages or days for one call) gets ``afterScript``, which ends every walk.
public final class PageServer: Sendable {
    /// Answered once the script is used up: every source stops on it (an empty list, or no list).
    static let afterScript = Array("{}".utf8)

    private let script: Script
    private let server: HTTPServer

    /// The bodies still to serve. `Sendable`: only touched under its mutex.
    private final class Script: Sendable {
        let bodies = Mutex<[[UInt8]]>([])
    }

    /// Starts the server on a free loopback port.
    /// - Throws: ``HTTPServerError`` when it cannot listen.
    public init() throws(HTTPServerError) {
        let script = Script()
        self.script = script
        server = HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, maxBodyBytes: 1024)) { _, responder in
            let body = script.bodies.withLock { $0.isEmpty ? PageServer.afterScript : $0.removeFirst() }
            responder.respond(HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: body))
        }
        try server.start()
    }

    deinit { server.stop(grace: .zero) }

    /// `http://127.0.0.1:<port>`, the base URL the sources are configured with.
    public var baseURL: String { "http://127.0.0.1:\(server.port)" }

    /// Serves `bodies` to the next requests, in order, replacing what was left.
    func serve(_ bodies: [[UInt8]]) { script.bodies.withLock { $0 = bodies } }
}
