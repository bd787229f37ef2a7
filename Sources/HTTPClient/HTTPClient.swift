import CCurl
import CShims
import Foundation

/// A response as received: status, headers (names lower-cased, last value wins) and body.
public struct HTTPClientResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

public struct HTTPClientError: Error, Sendable, CustomStringConvertible {
    /// libcurl's `CURLcode`.
    public var code: Int32
    public var reason: String
    public var description: String { "HTTP client error \(code): \(reason)" }
    /// Timeouts and connection failures: worth a retry.
    public var isTransient: Bool {
        [CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_RECV_ERROR, CURLE_SEND_ERROR,
         CURLE_GOT_NOTHING, CURLE_COULDNT_RESOLVE_HOST].map { Int32($0.rawValue) }.contains(code)
    }
}

/// A blocking libcurl client that owns one easy handle and so reuses its connections
/// (keep-alive). Not thread-safe: give each thread its own client.
///
/// `@unchecked Sendable` only so that an owner can move it onto its thread; never share one.
public final class HTTPClient: @unchecked Sendable {
    private let easy: UnsafeMutableRawPointer
    public var connectTimeoutSeconds: Int
    public var totalTimeoutSeconds: Int
    /// PEM file of the certificate authorities trusted for HTTPS (`CURLOPT_CAINFO`) instead of the
    /// system's, e.g. a self-signed certificate in tests. nil: the system's.
    public var caCertificateFile: String?

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public init(connectTimeoutSeconds: Int = 30, totalTimeoutSeconds: Int = 30) {
        _ = Self.globalInit
        guard let handle = curl_easy_init() else { fatalError("curl_easy_init failed (out of memory)") }
        easy = handle
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.totalTimeoutSeconds = totalTimeoutSeconds
    }

    deinit { curl_easy_cleanup(easy) }

    /// Sends one request and waits for the whole response.
    public func request(_ method: String, _ url: String, headers: [(String, String)] = [],
                        body: [UInt8]? = nil) throws(HTTPClientError) -> HTTPClientResponse {
        curl_easy_reset(easy)
        let sink = ResponseSink()
        let context = Unmanaged.passUnretained(sink).toOpaque()
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for (name, value) in headers { list = curl_slist_append(list, "\(name): \(value)") }
        // Without this, curl sends "Expect: 100-continue" for larger bodies and waits for it.
        list = curl_slist_append(list, "Expect:")
        defer { curl_slist_free_all(list) }

        var code = CURLE_OK
        withExtendedLifetime(sink) {
            _ = cshim_curl_setopt_ptr(easy, CURLOPT_URL, url)
            _ = cshim_curl_setopt_ptr(easy, CURLOPT_CUSTOMREQUEST, method)
            _ = cshim_curl_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
            _ = cshim_curl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT, connectTimeoutSeconds)
            _ = cshim_curl_setopt_long(easy, CURLOPT_TIMEOUT, totalTimeoutSeconds)
            _ = cshim_curl_setopt_ptr(easy, CURLOPT_ACCEPT_ENCODING, "")
            if let caCertificateFile { _ = cshim_curl_setopt_ptr(easy, CURLOPT_CAINFO, caCertificateFile) }
            _ = cshim_curl_setopt_ptr(easy, CURLOPT_HTTPHEADER, list)
            _ = cshim_curl_setopt_writefunction(easy, writeCallback)
            _ = cshim_curl_setopt_ptr(easy, CURLOPT_WRITEDATA, context)
            _ = cshim_curl_setopt_headerfunction(easy, headerCallback)
            _ = cshim_curl_setopt_ptr(easy, CURLOPT_HEADERDATA, context)
            if method == "HEAD" { _ = cshim_curl_setopt_long(easy, CURLOPT_NOBODY, 1) }
            if let body {
                body.withUnsafeBytes { bytes in
                    _ = cshim_curl_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
                    _ = cshim_curl_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1))
                }
            }
            code = curl_easy_perform(easy)
        }
        guard code == CURLE_OK else {
            throw HTTPClientError(code: Int32(code.rawValue), reason: "\(method) \(Self.redacted(url)): \(String(cString: curl_easy_strerror(code)))")
        }
        var status = 0
        _ = cshim_curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return HTTPClientResponse(status: status, headers: sink.headers, body: sink.body)
    }

    /// The URL without its query string and user info, for error messages (queries may carry
    /// tokens, `user:password@` a password).
    static func redacted(_ url: String) -> String {
        var text = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
        if let scheme = text.firstRange(of: "://") {
            let authorityEnd = text[scheme.upperBound...].firstIndex(of: "/") ?? text.endIndex
            if let at = text[scheme.upperBound..<authorityEnd].lastIndex(of: "@") {
                text.removeSubrange(scheme.upperBound...at)
            }
        }
        return text
    }
}

/// Accumulates a response. Touched only by curl's callbacks on the calling thread.
private final class ResponseSink {
    var body: [UInt8] = []
    var headers: [String: String] = [:]
}

private let writeCallback: cshim_curl_data_callback = { data, size, count, context in
    guard let data, let context else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    let n = size * count
    data.withMemoryRebound(to: UInt8.self, capacity: n) { sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: n)) }
    return n
}

private let headerCallback: cshim_curl_data_callback = { data, size, count, context in
    guard let data, let context else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    let n = size * count
    let line = data.withMemoryRebound(to: UInt8.self, capacity: n) { String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self) }
    if line.hasPrefix("HTTP/") { sink.headers = [:] }  // a new response (after 100-continue or a redirect)
    if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        sink.headers[name] = value
    }
    return n
}
