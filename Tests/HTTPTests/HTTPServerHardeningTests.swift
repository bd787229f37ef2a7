import Foundation
import HTTPClient
import HTTPServer
import Synchronization
import Testing

/// Hostile and bad input against the libmicrohttpd server: TLS, header size, connection count and
/// slow clients (issue 5). Real sockets on 127.0.0.1.
@Suite struct HTTPServerHardeningTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tls")
    /// TEST-ONLY self-signed certificate for 127.0.0.1 and its public key (Tests/Fixtures/tls/README.md).
    static let certificate = fixtures.appendingPathComponent("test-only-localhost.cert.pem").path
    static let key = fixtures.appendingPathComponent("test-only-localhost.key.pem").path

    static let ok: HTTPHandler = { request, responder in responder.respond(.text(200, "ok \(request.body.count)")) }

    /// Starts a server on a free port, runs `body` with it, stops it.
    func withServer(_ configuration: HTTPServerConfiguration, handler: @escaping HTTPHandler = ok,
                    _ body: (HTTPServer) throws -> Void) throws {
        var configuration = configuration
        configuration.port = 0
        let server = HTTPServer(configuration: configuration, handler: handler)
        try server.start()
        defer { server.stop(grace: .seconds(1)) }
        try body(server)
    }

    // MARK: TLS

    @Test(.enabled(if: HTTPServerTLS.isSupported))
    func servesHTTPSWithTheConfiguredCertificateAndRefusesPlainHTTP() throws {
        let tls = HTTPServerTLS(certificateFile: Self.certificate, keyFile: Self.key)
        try withServer(.init(tls: tls)) { server in
            let client = HTTPClient(connectTimeoutSeconds: 5, totalTimeoutSeconds: 5)
            client.caCertificateFile = Self.certificate
            let response = try client.request("POST", "https://127.0.0.1:\(server.port)/x", body: Array("hello".utf8))
            #expect(response.status == 200)
            #expect(response.bodyText == "ok 5")
            // Plain HTTP to the TLS port gets no HTTP answer.
            #expect(throws: HTTPClientError.self) { try HTTPClient(totalTimeoutSeconds: 5).request("GET", "http://127.0.0.1:\(server.port)/") }
            // Without trusting the certificate, the client refuses the server.
            #expect(throws: HTTPClientError.self) { try HTTPClient(totalTimeoutSeconds: 5).request("GET", "https://127.0.0.1:\(server.port)/") }
        }
    }

    @Test func unreadableOrWrongTLSFilesAreClearStartUpErrors() throws {
        func startError(_ tls: HTTPServerTLS) -> String {
            let server = HTTPServer(configuration: .init(port: 0, tls: tls), handler: Self.ok)
            defer { server.stop(grace: .zero) }
            do { try server.start(); return "started" } catch { return error.reason }
        }
        #expect(startError(.init(certificateFile: "/nonexistent/cert.pem", keyFile: Self.key))
            == "cannot read the TLS certificate file /nonexistent/cert.pem: No such file or directory")
        #expect(startError(.init(certificateFile: Self.certificate, keyFile: "/nonexistent/key.pem"))
            == "cannot read the TLS private key file /nonexistent/key.pem: No such file or directory")
        // Certificate and key swapped: neither file holds what it should.
        #expect(startError(.init(certificateFile: Self.key, keyFile: Self.certificate)).contains("holds no PEM CERTIFICATE"))
    }

    // MARK: Header size

    /// Headers over `maxHeaderBytes` are answered by MHD (431) without reaching the handler or
    /// hurting the server; headers under it are served.
    @Test func oversizeHeadersAre431AndTheServerGoesOn() throws {
        let calls = Atomic<Int>(0)
        try withServer(.init(maxHeaderBytes: 8 * 1024), handler: { request, responder in
            calls.add(1, ordering: .relaxed)
            responder.respond(.text(200, "ok"))
        }) { server in
            let url = "http://127.0.0.1:\(server.port)/x"
            let small = try HTTPClient().request("GET", url, headers: [("X-Filler", String(repeating: "a", count: 8 * 1024 - 100))])
            #expect(small.status == 200)
            for size in [10 * 1024, 20 * 1024] {
                let big = try? HTTPClient().request("GET", url, headers: [("X-Filler", String(repeating: "a", count: size))])
                #expect(big?.status == 431, "header of \(size) bytes")
            }
            // A client still sending a huge header when the 431 comes may see the reset instead.
            let huge = try? HTTPClient().request("GET", url, headers: [("X-Filler", String(repeating: "a", count: 1 << 20))])
            #expect(huge == nil || huge?.status == 431)
            // Many small headers add up the same way.
            let many = (0..<400).map { ("X-Filler-\($0)", String(repeating: "b", count: 40)) }
            #expect((try? HTTPClient().request("GET", url, headers: many))?.status == 431)
            #expect(try HTTPClient().request("GET", url).status == 200)
            #expect(calls.load(ordering: .relaxed) == 2)
        }
    }

    // MARK: Connection count

    /// With `connectionLimit` N, an N+1th connection is not served while N are open; once they
    /// close, new connections are served again.
    @Test func connectionsBeyondTheLimitWaitOrAreClosed() throws {
        try withServer(.init(connectionLimit: 3)) { server in
            let held = try (0..<3).map { _ in try RawConnection(port: server.port) }
            for connection in held { connection.send("GET /held HTTP/1.1\r\nHost: x\r\n") }  // headers never finished
            Thread.sleep(forTimeInterval: 0.2)
            let extra = try RawConnection(port: server.port)
            extra.send("GET /extra HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = extra.receive(timeout: .seconds(1))
            #expect(answer.bytes.isEmpty, "the connection over the limit was served: \(String(decoding: answer.bytes, as: UTF8.self))")
            for connection in held { connection.close() }
            let response = try HTTPClient(connectTimeoutSeconds: 5, totalTimeoutSeconds: 5).request("GET", "http://127.0.0.1:\(server.port)/after")
            #expect(response.status == 200)
        }
    }

    // MARK: Slow clients

    /// 50 clients trickle a byte a second (25 in their headers, 25 in their body). A normal request
    /// is still answered at once, and every slow one is closed once `connectionTimeoutSeconds`
    /// has passed, although none is ever idle that long (MHD's own timeout would not close them).
    @Test func slowClientsDoNotBlockOthersAndAreClosedAtTheReadDeadline() throws {
        try withServer(.init(connectionTimeoutSeconds: 2)) { server in
            let headers = "POST /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Padding: abcdefghijklmnopqrstuvwxyz\r\n"
            let slowHeaders = try (0..<25).map { _ in (try RawConnection(port: server.port), Array(headers.utf8)) }
            let slowBodies = try (0..<25).map { _ -> (RawConnection, [UInt8]) in
                let connection = try RawConnection(port: server.port)
                connection.send(headers + "Content-Length: 1000\r\n\r\n")
                return (connection, [UInt8](repeating: 120, count: 1000))
            }
            let slow = slowHeaders + slowBodies
            let opened = ContinuousClock.now
            // A normal request half a second in, from another thread.
            let normal = Mutex<(status: Int, took: Duration)?>(nil)
            let url = "http://127.0.0.1:\(server.port)/normal"
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: 0.5)
                let started = ContinuousClock.now
                let status = (try? HTTPClient(totalTimeoutSeconds: 5).request("POST", url, body: Array("hi".utf8)))?.status ?? -1
                normal.withLock { $0 = (status, ContinuousClock.now - started) }
            }
            var closedAt: [Int: Duration] = [:]
            for second in 0..<5 {
                for (i, (connection, bytes)) in slow.enumerated() where closedAt[i] == nil {
                    if !connection.send([bytes[second]]) || connection.isClosedByServer { closedAt[i] = ContinuousClock.now - opened }
                }
                Thread.sleep(forTimeInterval: 1)
            }
            // Each slow connection is closed by now (2 s read deadline, checked every 50 ms).
            for (i, (connection, _)) in slow.enumerated() where closedAt[i] == nil {
                if connection.receive(timeout: .milliseconds(500)).closed { closedAt[i] = ContinuousClock.now - opened }
            }
            let answer = normal.withLock { $0 }
            #expect(answer?.status == 200)
            #expect(answer.map { $0.took < .seconds(1) } == true, "the normal request took \(answer.map { "\($0.took)" } ?? "forever")")
            let closed = closedAt
            #expect(closed.count == 50)
            #expect(closed.values.allSatisfy { $0 >= .milliseconds(1900) }, "closed before the deadline: \(closed.values.min().map { "\($0)" } ?? "-")")
        }
    }

    // MARK: Client errors

    /// HTTP client errors never show a URL's query (CallKeeper's API key) or `user:password@`.
    @Test func clientErrorsHideQueryAndUserInfo() throws {
        let server = HTTPServer(configuration: .init(port: 0), handler: Self.ok)
        try server.start()
        let port = server.port
        server.stop(grace: .zero)
        let url = "http://admin:pa55word-xyz@127.0.0.1:\(port)/api/index.php?json/v3/SECRET-API-KEY-123/call/get"
        do {
            _ = try HTTPClient(connectTimeoutSeconds: 2).request("GET", url)
            Issue.record("expected a connection error")
        } catch {
            #expect(!error.description.contains("SECRET-API-KEY-123"))
            #expect(!error.description.contains("pa55word-xyz"))
            #expect(error.description.contains("GET http://127.0.0.1:\(port)/api/index.php"))
        }
    }
}
