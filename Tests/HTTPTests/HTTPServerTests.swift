import Foundation
import HTTPClient
import HTTPServer
import Synchronization
import Testing

/// The libmicrohttpd server and the libcurl client, talking over real sockets on 127.0.0.1.
@Suite struct HTTPServerTests {
    /// Starts a server on a free port with `handler`, runs `body`, stops the server.
    func withServer(maxBodyBytes: Int = 1024, deadline: Duration = .seconds(5), handler: @escaping HTTPHandler,
                    _ body: (String) throws -> Void) throws {
        let server = HTTPServer(configuration: .init(port: 0, maxBodyBytes: maxBodyBytes, responseDeadline: deadline),
                                handler: handler)
        try server.start()
        defer { server.stop(grace: .seconds(1)) }
        try body("http://127.0.0.1:\(server.port)")
    }

    @Test func echoesMethodPathQueryHeadersAndBody() throws {
        try withServer(handler: { request, responder in
            let text = "\(request.method) \(request.path) token=\(request.query["token"] ?? "-") x=\(request.header("X-Test") ?? "-") body=\(String(decoding: request.body, as: UTF8.self))"
            responder.respond(.text(200, text))
        }) { base in
            let response = try HTTPClient().request("POST", base + "/echo?token=abc", headers: [("X-Test", "yes")], body: Array("hello".utf8))
            #expect(response.status == 200)
            #expect(response.bodyText == "POST /echo token=abc x=yes body=hello")
            #expect(response.headers["content-type"] == "text/plain; charset=utf-8")
        }
    }

    @Test func answersFromAnotherThreadAfterSuspending() throws {
        // The handler returns at once; the answer comes 200 ms later from another thread, as a
        // Kafka delivery report would.
        try withServer(handler: { request, responder in
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { responder.respond(.text(202, "later")) }
        }) { base in
            let client = HTTPClient()
            for _ in 0..<3 {
                let response = try client.request("POST", base + "/slow", body: Array("x".utf8))
                #expect(response.status == 202)
                #expect(response.bodyText == "later")
            }
        }
    }

    @Test func manyConcurrentSuspendedRequestsAllAnswered() throws {
        try withServer(handler: { request, responder in
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { responder.respond(.text(200, String(decoding: request.body, as: UTF8.self))) }
        }) { base in
            let ok = Atomic<Int>(0)
            DispatchQueue.concurrentPerform(iterations: 8) { worker in
                let client = HTTPClient()
                for i in 0..<25 {
                    let payload = "\(worker)-\(i)"
                    if let r = try? client.request("POST", base + "/x", body: Array(payload.utf8)), r.status == 200, r.bodyText == payload {
                        ok.add(1, ordering: .relaxed)
                    }
                }
            }
            #expect(ok.load(ordering: .relaxed) == 200)
        }
    }

    @Test func oversizeBodyIs413AndHandlerNotCalled() throws {
        let calls = Atomic<Int>(0)
        try withServer(maxBodyBytes: 100, handler: { _, responder in
            calls.add(1, ordering: .relaxed)
            responder.respond(.text(200, "ok"))
        }) { base in
            let client = HTTPClient()
            let big = try client.request("POST", base + "/x", body: [UInt8](repeating: 65, count: 5000))
            #expect(big.status == 413)
            let small = try client.request("POST", base + "/x", body: [UInt8](repeating: 65, count: 100))
            #expect(small.status == 200)
            #expect(calls.load(ordering: .relaxed) == 1)
        }
    }

    @Test func handlerThatNeverAnswersGets503AtDeadline() throws {
        try withServer(deadline: .milliseconds(300), handler: { _, _ in }) { base in
            let start = ContinuousClock.now
            let response = try HTTPClient().request("POST", base + "/never", body: Array("x".utf8))
            #expect(response.status == 503)
            #expect(ContinuousClock.now - start >= .milliseconds(250))
        }
    }

    @Test func secondAnswerIsIgnored() throws {
        try withServer(handler: { _, responder in
            responder.respond(.text(200, "first"))
            responder.respond(.text(500, "second"))
        }) { base in
            let response = try HTTPClient().request("GET", base + "/")
            #expect(response.status == 200)
            #expect(response.bodyText == "first")
        }
    }

    @Test func stopAnswersSuspendedRequests503() throws {
        let server = HTTPServer(configuration: .init(port: 0, responseDeadline: .seconds(60)), handler: { _, _ in })
        try server.start()
        let url = "http://127.0.0.1:\(server.port)/hang"
        let status = Mutex<Int?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let r = try? HTTPClient().request("POST", url, body: Array("x".utf8))
            status.withLock { $0 = r?.status }
            done.signal()
        }
        while server.inFlight == 0 { Thread.sleep(forTimeInterval: 0.01) }
        server.stop(grace: .milliseconds(100))
        done.wait()
        #expect(status.withLock { $0 } == 503)
    }

    @Test func clientReportsConnectionRefused() throws {
        // Bind and stop a server to find a port nobody listens on.
        let server = HTTPServer(configuration: .init(port: 0), handler: { _, r in r.respond(.text(200, "")) })
        try server.start()
        let port = server.port
        server.stop(grace: .zero)
        #expect(throws: HTTPClientError.self) { try HTTPClient(connectTimeoutSeconds: 2).request("GET", "http://127.0.0.1:\(port)/") }
    }
}
