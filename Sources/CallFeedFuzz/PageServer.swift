import Foundation
import HTTPServer
import Synchronization

/// A loopback HTTP server that answers each request with the next body of a script, so the
/// pollers' real page code (`VendorClient` over libcurl, then the source's parsing) reads fuzzed
/// pages.
///
/// The first request of an input gets the fuzzed body; any further one (a source that walks
/// several pages or days for one call) gets ``afterScript``, which ends every walk. Sources that
/// need fixed round trips around the fuzzed one (Five9: `runReport`, `isReportRunning`, then the
/// fuzzed `getReportResultCsv`; CleverTap: step 1, then the fuzzed step 2) are served by
/// ``Route``s: the first route matching a request answers it, every time it is asked (so a
/// source's retry of the fuzzed request gets the fuzzed body again); requests no route matches
/// get the script.
public final class PageServer: Sendable {
    /// Answered once the script is used up: every source stops on it (an empty list, or no list).
    static let afterScript = Array("{}".utf8)

    /// An answer by request: every condition given must hold.
    struct Route: Sendable {
        /// The HTTP method, exactly (`POST`).
        var method: String?
        /// A part of the path (`/crm/v3/properties/`).
        var path: String?
        /// Bytes the request body contains (`<ser:runReport>`).
        var body: [UInt8]?
        /// The answer.
        var answer: [UInt8]

        init(method: String? = nil, path: String? = nil, body: String? = nil, answer: [UInt8]) {
            self.method = method; self.path = path; self.body = body.map { Array($0.utf8) }; self.answer = answer
        }

        func matches(_ request: HTTPRequest) -> Bool {
            if let method, request.method != method { return false }
            if let path, !request.path.contains(path) { return false }
            if let body, request.body.firstRange(of: body) == nil { return false }
            return true
        }
    }

    private let script: Script
    private let server: HTTPServer

    /// The routes and the bodies still to serve. `Sendable`: only touched under its mutex.
    private final class Script: Sendable {
        let state = Mutex<(routes: [Route], bodies: [[UInt8]])>(([], []))
    }

    /// Starts the server on a free loopback port.
    /// - Throws: ``HTTPServerError`` when it cannot listen.
    public init() throws(HTTPServerError) {
        let script = Script()
        self.script = script
        // Request bodies up to 4 MiB: HubSpot's association read POSTs the ids of a (fuzzed) page.
        server = HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, maxBodyBytes: 4 << 20)) { request, responder in
            let body = script.state.withLock { state in
                if let route = state.routes.first(where: { $0.matches(request) }) { return route.answer }
                return state.bodies.isEmpty ? PageServer.afterScript : state.bodies.removeFirst()
            }
            responder.respond(HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: body))
        }
        try server.start()
    }

    deinit { server.stop(grace: .zero) }

    /// `http://127.0.0.1:<port>`, the base URL the sources are configured with.
    public var baseURL: String { "http://127.0.0.1:\(server.port)" }

    /// Serves `bodies` to the next requests no route matches, in order, replacing what was left
    /// (routes included).
    func serve(_ bodies: [[UInt8]], routes: [Route] = []) { script.state.withLock { $0 = (routes, bodies) } }
}
