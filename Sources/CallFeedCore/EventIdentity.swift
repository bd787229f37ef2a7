import Crypto
import Foundation

/// Derives the two identities every event carries.
public enum EventIdentity {
    /// Namespace of CallFeed's version-5 UUIDs (itself a v5 UUID of "callfeed.dev" in the URL namespace).
    static let namespace: [UInt8] = [0x3d, 0x8f, 0x5c, 0x6e, 0x1a, 0x4b, 0x5e, 0x27, 0x9c, 0x0d, 0x61, 0x2e, 0x7a, 0x44, 0x90, 0x13]

    /// A version-5 (SHA-1, name-based) UUID of `source`, `accountID` and `callID` joined by U+001F,
    /// so the same call gets the same id whether it came by webhook, poll or backfill.
    public static func eventID(source: String, accountID: String, callID: String) -> String {
        var name = namespace
        name.reserveCapacity(namespace.count + source.utf8.count + accountID.utf8.count + callID.utf8.count + 2)
        name += source.utf8
        name.append(0x1F)
        name += accountID.utf8
        name.append(0x1F)
        name += callID.utf8
        var digest = Array(Insecure.SHA1.hash(data: name).prefix(16))
        digest[6] = (digest[6] & 0x0F) | 0x50  // version 5
        digest[8] = (digest[8] & 0x3F) | 0x80  // RFC 4122 variant
        // 8-4-4-4-12 lower-case hex digits.
        return String(unsafeUninitializedCapacity: 36) { out in
            var i = 0
            for (n, byte) in digest.enumerated() {
                if n == 4 || n == 6 || n == 8 || n == 10 {
                    out[i] = UInt8(ascii: "-")
                    i += 1
                }
                out[i] = lowerHexDigits[Int(byte >> 4)]
                out[i + 1] = lowerHexDigits[Int(byte & 0x0F)]
                i += 2
            }
            return i
        }
    }

    /// SHA-256 (lower-case hex) of the content's canonical JSON (sorted keys, no whitespace).
    /// Ingest metadata (channel, received_at) is not part of it.
    public static func revision(of content: CallContent) -> String {
        lowerHex(SHA256.hash(data: content.jsonBytes()))
    }
}
