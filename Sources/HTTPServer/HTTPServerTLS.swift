import CMicroHTTPD
import Foundation

/// HTTPS for a server: a certificate chain and its private key, PEM files read at ``HTTPServer/start()``.
///
/// The key must not be encrypted (no passphrase): protect the file by its permissions instead.
/// libmicrohttpd hands both to GnuTLS; only TLS 1.2 and newer are offered.
public struct HTTPServerTLS: Sendable, Equatable {
    /// PEM: the server certificate, then any intermediates.
    public var certificateFile: String
    /// PEM: the certificate's private key (PKCS#8, PKCS#1 or SEC1), unencrypted.
    public var keyFile: String

    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    /// Whether this libmicrohttpd was built with TLS support (Debian's is: GnuTLS).
    public static var isSupported: Bool { MHD_is_feature_supported(.FEATURE_TLS) == .YES }

    /// Both files' text, or an error naming the file that cannot be used.
    func readPEM() throws(HTTPServerError) -> (certificate: String, key: String) {
        (try Self.read(certificateFile, what: "certificate", marker: "CERTIFICATE"),
         try Self.read(keyFile, what: "private key", marker: "PRIVATE KEY"))
    }

    private static func read(_ path: String, what: String, marker: String) throws(HTTPServerError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HTTPServerError(reason: "cannot read the TLS \(what) file \(path): \(String(cString: strerror(errno)))")
        }
        let text = String(decoding: data, as: UTF8.self)
        guard text.contains("-----BEGIN "), text.contains(marker) else {
            throw HTTPServerError(reason: "the TLS \(what) file \(path) holds no PEM \(marker)")
        }
        if marker == "PRIVATE KEY", text.contains("ENCRYPTED") {
            throw HTTPServerError(reason: "the TLS private key file \(path) is encrypted; give an unencrypted key")
        }
        return text
    }
}
