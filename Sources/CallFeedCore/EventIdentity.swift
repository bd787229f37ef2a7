import Crypto
import Foundation

/// Derives the two identities every event carries.
public enum EventIdentity {
    /// Namespace of CallFeed's version-5 UUIDs (itself a v5 UUID of "callfeed.dev" in the URL namespace).
    static let namespace: [UInt8] = [0x3d, 0x8f, 0x5c, 0x6e, 0x1a, 0x4b, 0x5e, 0x27, 0x9c, 0x0d, 0x61, 0x2e, 0x7a, 0x44, 0x90, 0x13]

    /// A version-5 (SHA-1, name-based) UUID of `source`, `accountID` and `callID` joined by U+001F,
    /// so the same call gets the same id whether it came by webhook, poll or backfill.
    public static func eventID(source: String, accountID: String, callID: String) -> String {
        let name = Array("\(source)\u{1F}\(accountID)\u{1F}\(callID)".utf8)
        var digest = Array(Insecure.SHA1.hash(data: namespace + name).prefix(16))
        digest[6] = (digest[6] & 0x0F) | 0x50  // version 5
        digest[8] = (digest[8] & 0x3F) | 0x80  // RFC 4122 variant
        let hex = digest.map { byte in
            let s = String(byte, radix: 16)
            return byte < 16 ? "0" + s : s
        }.joined()
        let c = Array(hex)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-"
            + String(c[16..<20]) + "-" + String(c[20..<32])
    }

    /// SHA-256 (lower-case hex) of the content's canonical JSON (sorted keys, no whitespace).
    /// Ingest metadata (channel, received_at) is not part of it.
    public static func revision(of content: CallContent) -> String {
        SHA256.hash(data: content.jsonBytes()).map { byte in
            let s = String(byte, radix: 16)
            return byte < 16 ? "0" + s : s
        }.joined()
    }
}
