// AWS Signature Version 4 request signing (header form), as used for AWS JSON
// APIs such as Athena (`POST https://athena.<region>.amazonaws.com/` with
// `X-Amz-Target: AmazonAthena.StartQueryExecution`).
//
// Reference: "Signature Version 4 signing process" in the AWS General Reference,
// checked against AWS's published SigV4 test suite (see the tests).

import Crypto
import Foundation

/// An AWS access key pair, optionally with the session token of temporary
/// (STS) credentials.
public struct AWSCredentials: Sendable, Equatable {
    /// The access key ID, e.g. `AKIDEXAMPLE`.
    public var accessKeyID: String
    /// The secret access key. Never sent; only used to derive the signing key.
    public var secretAccessKey: String
    /// The session token of temporary credentials, sent as `X-Amz-Security-Token`.
    public var sessionToken: String?

    /// Creates credentials from an access key pair and an optional session token.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// Signs HTTP requests with AWS Signature Version 4 (`AWS4-HMAC-SHA256`) for one
/// region and service.
///
/// The signer follows the rules for every service but Amazon S3: the path is
/// normalised (`.`/`..` segments and empty segments removed) and URI-encoded
/// once more. Each step is public so it can be checked on its own.
public struct AWSSignatureV4: Sendable {
    /// The signing algorithm's name, the first line of a string to sign.
    public static let algorithm = "AWS4-HMAC-SHA256"

    /// The region to sign for, e.g. `us-east-1`.
    public var region: String
    /// The signing name of the service, e.g. `athena`.
    public var service: String

    /// Creates a signer for one region and service.
    public init(region: String, service: String) {
        self.region = region
        self.service = service
    }

    /// The parts of one request as signed.
    public struct Request: Sendable {
        /// The HTTP method, e.g. `POST`.
        public var method: String
        /// The path exactly as it appears on the request line, before the query,
        /// e.g. `/`. It is normalised and URI-encoded once by the signer, so a
        /// path that is percent-encoded on the wire is passed in that form.
        public var path: String
        /// The query parameters as decoded names and values, in any order.
        public var query: [(String, String)]
        /// The headers as (name, value) pairs as sent; must include `Host`.
        /// Repeated names are allowed and are signed in the order given.
        public var headers: [(String, String)]
        /// The request body; its SHA-256 is the payload hash.
        public var body: [UInt8]

        /// Creates the parts of a request.
        public init(
            method: String,
            path: String,
            query: [(String, String)] = [],
            headers: [(String, String)],
            body: [UInt8] = []
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.body = body
        }
    }

    // MARK: - Signing steps

    /// The canonical request text of `r` (task 1 of the signing process).
    ///
    /// - Parameters:
    ///   - r: The request.
    ///   - signedHeaders: The names of the headers to sign (any case); `nil`
    ///     signs every header of `r`. Headers not named are left out.
    /// - Returns: `method \n uri \n query \n headers \n signed-headers \n payload-hash`.
    public func canonicalRequest(_ r: Request, signedHeaders: [String]? = nil) -> String {
        let headers = Self.canonicalHeaders(r.headers, only: signedHeaders)
        let headerLines = headers.map { "\($0.name):\($0.value)\n" }.joined()
        return [
            r.method,
            Self.canonicalURI(r.path),
            Self.canonicalQuery(r.query),
            headerLines,
            headers.map(\.name).joined(separator: ";"),
            Self.hex(SHA256.hash(data: r.body)),
        ].joined(separator: "\n")
    }

    /// The string to sign for a canonical request (task 2).
    ///
    /// - Parameter amzDate: The request time as `yyyyMMdd'T'HHmmss'Z'`; its first
    ///   eight characters are the credential scope's date.
    public func stringToSign(canonicalRequest: String, amzDate: String) -> String {
        [
            Self.algorithm,
            amzDate,
            scope(date: String(amzDate.prefix(8))),
            Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")
    }

    /// The hex signature of a string to sign (task 3): HMAC-SHA256 with the key
    /// derived from `secretAccessKey` for `date` (`yyyyMMdd`), region and service.
    public func signature(stringToSign: String, secretAccessKey: String, date: String) -> String {
        var key = SymmetricKey(data: Array("AWS4\(secretAccessKey)".utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: Self.hmac(part, key))
        }
        return Self.hex(Self.hmac(stringToSign, key))
    }

    /// The headers to add to the request: `X-Amz-Date`, `Authorization`, and
    /// `X-Amz-Security-Token` when the credentials have a session token (the token
    /// header is signed too).
    ///
    /// Every header of `r` is signed, except any `Authorization`, `X-Amz-Date` or
    /// `X-Amz-Security-Token` already there, which are replaced by the returned ones.
    ///
    /// - Parameter amzDate: The request time as `yyyyMMdd'T'HHmmss'Z'` (see
    ///   ``amzDate(_:)``); AWS rejects a request whose time is more than a few
    ///   minutes off.
    public func sign(_ r: Request, credentials: AWSCredentials, amzDate: String) -> [(String, String)] {
        var added = [("X-Amz-Date", amzDate)]
        if let token = credentials.sessionToken {
            added.append(("X-Amz-Security-Token", token))
        }
        let replaced: Set<String> = ["authorization", "x-amz-date", "x-amz-security-token"]
        var signed = r
        signed.headers = r.headers.filter { !replaced.contains($0.0.lowercased()) } + added

        let canonical = canonicalRequest(signed)
        let date = String(amzDate.prefix(8))
        let signatureHex = signature(
            stringToSign: stringToSign(canonicalRequest: canonical, amzDate: amzDate),
            secretAccessKey: credentials.secretAccessKey,
            date: date
        )
        let signedNames = Self.canonicalHeaders(signed.headers, only: nil).map(\.name)
        let authorization = "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope(date: date)), "
            + "SignedHeaders=\(signedNames.joined(separator: ";")), Signature=\(signatureHex)"
        return added + [("Authorization", authorization)]
    }

    /// Formats `date` in UTC as `yyyyMMdd'T'HHmmss'Z'`, the form of `X-Amz-Date`.
    public static func amzDate(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let (days, secondOfDay) = seconds.quotientAndRemainderFloored(dividingBy: 86_400)
        let (year, month, day) = civilDate(daysSince1970: days)
        func pad(_ n: Int, _ width: Int) -> String {
            let digits = String(n)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return pad(year, 4) + pad(month, 2) + pad(day, 2) + "T"
            + pad(secondOfDay / 3600, 2) + pad(secondOfDay / 60 % 60, 2) + pad(secondOfDay % 60, 2) + "Z"
    }

    // MARK: - Helpers

    /// `<yyyyMMdd>/<region>/<service>/aws4_request`.
    private func scope(date: String) -> String {
        "\(date)/\(region)/\(service)/aws4_request"
    }

    /// Lower-cased names, trimmed values with inner runs of spaces collapsed,
    /// repeated names joined with commas in order, sorted by name.
    private static func canonicalHeaders(
        _ headers: [(String, String)], only names: [String]?
    ) -> [(name: String, value: String)] {
        let wanted = names.map { Set($0.map { $0.lowercased() }) }
        var order: [String] = []
        var values: [String: [String]] = [:]
        for (rawName, rawValue) in headers {
            let name = rawName.lowercased()
            if let wanted, !wanted.contains(name) { continue }
            if values[name] == nil { order.append(name) }
            values[name, default: []].append(normalizedValue(rawValue))
        }
        return order
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            .map { (name: $0, value: values[$0, default: []].joined(separator: ",")) }
    }

    /// Trims spaces and tabs at both ends and collapses inner runs of spaces to one.
    private static func normalizedValue(_ value: String) -> String {
        var result = ""
        var pendingSpace = false
        for character in value {
            if character == " " || character == "\t" {
                pendingSpace = !result.isEmpty
            } else {
                if pendingSpace { result.append(" ") }
                pendingSpace = false
                result.append(character)
            }
        }
        return result
    }

    /// The normalised path (RFC 3986 dot-segment removal, empty segments dropped),
    /// each segment URI-encoded; `/` when nothing is left.
    private static func canonicalURI(_ path: String) -> String {
        var segments: [Substring] = []
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        for part in parts {
            switch part {
            case "", ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(part)
            }
        }
        guard !segments.isEmpty else { return "/" }
        let last = parts.last ?? ""
        let trailingSlash = last.isEmpty || last == "." || last == ".."
        return "/" + segments.map { uriEncode($0) }.joined(separator: "/") + (trailingSlash ? "/" : "")
    }

    /// Encoded `name=value` pairs sorted by encoded name, then encoded value,
    /// joined with `&`.
    private static func canonicalQuery(_ query: [(String, String)]) -> String {
        query
            .map { (uriEncode($0.0), uriEncode($0.1)) }
            .sorted { a, b in
                a.0 == b.0
                    ? a.1.utf8.lexicographicallyPrecedes(b.1.utf8)
                    : a.0.utf8.lexicographicallyPrecedes(b.0.utf8)
            }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Percent-encodes every UTF-8 byte except the unreserved `A-Z a-z 0-9 - _ . ~`,
    /// with upper-case hex digits.
    private static func uriEncode<S: StringProtocol>(_ text: S) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                 UInt8(ascii: "."), UInt8(ascii: "~"):
                bytes.append(byte)
            default:
                bytes.append(UInt8(ascii: "%"))
                bytes.append(upperHexDigits[Int(byte >> 4)])
                bytes.append(upperHexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let upperHexDigits = Array("0123456789ABCDEF".utf8)
    private static let lowerHexDigits = Array("0123456789abcdef".utf8)

    /// Lower-case hex of a byte sequence.
    private static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out: [UInt8] = []
        for byte in bytes {
            out.append(lowerHexDigits[Int(byte >> 4)])
            out.append(lowerHexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hmac(_ message: String, _ key: SymmetricKey) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: key))
    }

    /// The proleptic Gregorian (year, month, day) of a day count from 1970-01-01
    /// (Howard Hinnant's `civil_from_days`).
    private static func civilDate(daysSince1970: Int) -> (Int, Int, Int) {
        let z = daysSince1970 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int {
    /// Quotient and remainder with the quotient rounded toward negative infinity,
    /// so the remainder is never negative for a positive divisor.
    fileprivate func quotientAndRemainderFloored(dividingBy divisor: Int) -> (Int, Int) {
        let (q, r) = quotientAndRemainder(dividingBy: divisor)
        return r < 0 ? (q - 1, r + divisor) : (q, r)
    }
}
