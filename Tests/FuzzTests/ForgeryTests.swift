import CallFeedCore
import CallFeedFuzz
@testable import CallFeedIngest
import Foundation
import HTTPServer
import Testing

/// Thousands of forged, tampered and replayed webhook requests per signed route: every one must be
/// refused, while the genuine request, signed with the current or the rotated-out secret, is
/// accepted (issue 5, "Signatures").
@Suite struct ForgeryTests {
    typealias Vendor = WebhookFixtures.Vendor

    /// Forged variants per randomised kind (bit positions, truncation lengths, clock offsets).
    static let perKind = 700

    static func body(_ vendor: Vendor) -> [UInt8] { Array((FuzzSeeds.embedded["webhook.\(vendor.rawValue)"]?.first ?? "{}").utf8) }

    @Test(arguments: Vendor.allCases)
    func theGenuineRequestIsAcceptedWithEitherRotatedSecret(vendor: Vendor) throws {
        let route = WebhookFixtures.route(vendor)
        for secret in [WebhookFixtures.currentSecret, WebhookFixtures.previousSecret] {
            let request = WebhookFixtures.signedRequest(vendor, body: Self.body(vendor), secret: secret)
            #expect(throws: Never.self) { try route.authenticate(request, now: FuzzClock.now).get() }
            // Anywhere inside the tolerance, either way.
            if WebhookFixtures.timeHeader(vendor) != nil {
                for skew in [-WebhookFixtures.toleranceSeconds, WebhookFixtures.toleranceSeconds] {
                    #expect(throws: Never.self) { try route.authenticate(request, now: FuzzClock.now.adding(seconds: skew)).get() }
                }
            }
        }
    }

    @Test(arguments: Vendor.allCases)
    func everyForgeryIsRefused(vendor: Vendor) {
        let route = WebhookFixtures.route(vendor)
        let forgeries = Self.forgeries(vendor)
        var accepted: [String] = []
        for (kind, request, now) in forgeries {
            if case .success = route.authenticate(request, now: now) { accepted.append(kind) }
        }
        #expect(forgeries.count >= 2_000, "\(vendor): only \(forgeries.count) forgeries")
        #expect(accepted.isEmpty, "\(vendor): \(accepted.count) of \(forgeries.count) forgeries accepted: \(Set(accepted).sorted())")
    }

    /// JustCall signs the type, URL and time, not the body (documented on the route): a body that
    /// keeps its `type` verifies, whatever else changed. Pinned so the limitation stays visible.
    @Test func justCallDoesNotSignTheBodyBeyondItsType() throws {
        let route = WebhookFixtures.route(.justcall)
        var request = WebhookFixtures.signedRequest(.justcall, body: Self.body(.justcall))
        request.body = Array(#"{"type":"call.completed","data":{"id":1}}"#.utf8)
        #expect(throws: Never.self) { try route.authenticate(request, now: FuzzClock.now).get() }
    }

    @Test func constantTimeEqualsCompares() {
        let a = Array("fuzz-current-secret-0001".utf8)
        #expect(constantTimeEquals(a, a))
        #expect(constantTimeEquals([], []))
        #expect(!constantTimeEquals(a, Array("fuzz-current-secret-0002".utf8)))
        #expect(!constantTimeEquals(a, Array(a.dropLast())))
        #expect(!constantTimeEquals(a, a + [0]))
        #expect(!constantTimeEquals([], [0]))
        #expect(!constantTimeEquals([0], []))
        // Lengths differing by a multiple of 256 differ (the length term was once truncated to a byte).
        #expect(!constantTimeEquals([UInt8](repeating: 0, count: 256), []))
        for position in a.indices {
            for bit in 0..<8 {
                var b = a
                b[position] ^= 1 << UInt8(bit)
                #expect(!constantTimeEquals(a, b))
            }
        }
    }

    // MARK: - Forgeries

    /// Labelled forged requests, each with the receive time to check it at.
    static func forgeries(_ vendor: Vendor) -> [(String, HTTPRequest, Timestamp)] {
        var rng = FuzzRandom(seed: 0xF0_4637 ^ UInt64(vendor.rawValue.utf8.count))
        let now = FuzzClock.now
        let body = Self.body(vendor)
        let genuine = WebhookFixtures.signedRequest(vendor, body: body)
        var out: [(String, HTTPRequest, Timestamp)] = []
        func add(_ kind: String, _ request: HTTPRequest, at time: Timestamp = now) { out.append((kind, request, time)) }

        if vendor == .callkeeper {
            let token = WebhookFixtures.currentSecret
            for _ in 0..<perKind {
                var bytes = Array(token.utf8)
                bytes[rng.index(bytes.count)] ^= 1 << UInt8(rng.index(8))
                add("token bit flip", withToken(genuine, String(decoding: bytes, as: UTF8.self)))
                add("token truncated", withToken(genuine, String(token.prefix(rng.index(token.count)))))
                add("token extended", withToken(genuine, token + String(UnicodeScalar(UInt8(0x21 + rng.index(90))))))
            }
            add("token missing", withToken(genuine, nil))
            add("token empty", withToken(genuine, ""))
            add("token upper-cased", withToken(genuine, token.uppercased()))
            add("token of another secret", withToken(genuine, WebhookFixtures.strangerSecret))
            add("token under another name", { var r = withToken(genuine, nil); r.query["Token"] = token; return r }())
            return out
        }

        let signatureHeader = WebhookFixtures.signatureHeader(vendor) ?? ""
        let signature = genuine.headers[signatureHeader] ?? ""
        let mac = macBytes(vendor, signature) ?? []
        for _ in 0..<perKind {
            // The signed bytes changed: the body (CTM, CallRail) or the signed type (JustCall).
            if vendor == .justcall {
                var forged = genuine
                forged.body = flippingBit(inTypeOf: body, using: &rng)
                add("type bit flip", forged)
            } else {
                var forged = genuine
                forged.body[rng.index(body.count)] ^= 1 << UInt8(rng.index(8))
                add("body bit flip", forged)
            }
            // Another MAC, encoded as the vendor encodes it.
            var flipped = mac
            flipped[rng.index(flipped.count)] ^= 1 << UInt8(rng.index(8))
            add("signature bit flip", with(genuine, signatureHeader, encode(vendor, flipped)))
            // The signature's text: a flip that leaves the same MAC (hex case, unused base64 bits)
            // is not a forgery and is skipped.
            var text = Array(signature.utf8)
            text[rng.index(text.count)] ^= 1 << UInt8(rng.index(8))
            let textForm = String(decoding: text, as: UTF8.self)
            if macBytes(vendor, textForm) != mac { add("signature text bit flip", with(genuine, signatureHeader, textForm)) }
            add("signature truncated", with(genuine, signatureHeader, String(signature.prefix(rng.index(signature.count)))))
            if let timeHeader = WebhookFixtures.timeHeader(vendor) {
                var time = Array((genuine.headers[timeHeader] ?? "").utf8)
                time[rng.index(time.count)] ^= 1 << UInt8(rng.index(8))
                add("timestamp bit flip", with(genuine, timeHeader, String(decoding: time, as: UTF8.self)))
                // A valid signature replayed (or signed) outside the tolerance, either way.
                let skew = (WebhookFixtures.toleranceSeconds + 1 + Int64(rng.index(1_000_000))) * (rng.oneIn(2) ? 1 : -1)
                add("replay outside the tolerance", genuine, at: now.adding(seconds: skew))
                add("signed outside the tolerance",
                    WebhookFixtures.signedRequest(vendor, body: body, time: String(now.secondsSinceEpoch + skew)))
            }
        }
        add("signature missing", with(genuine, signatureHeader, nil))
        add("signature empty", with(genuine, signatureHeader, ""))
        add("signed with another secret", WebhookFixtures.signedRequest(vendor, body: body, secret: WebhookFixtures.strangerSecret))
        add("signed with an empty secret", WebhookFixtures.signedRequest(vendor, body: body, secret: ""))
        if let timeHeader = WebhookFixtures.timeHeader(vendor) {
            add("timestamp missing", with(genuine, timeHeader, nil))
            add("both missing", with(with(genuine, timeHeader, nil), signatureHeader, nil))
        }
        if vendor == .justcall {
            add("version v2", with(genuine, "x-justcall-signature-version", "v2"))
            let otherURL = JustCallWebhookRoute.signature(secret: WebhookFixtures.currentSecret, webhookURL: "https://evil.example/hook",
                                                          type: "call.completed", timestamp: genuine.headers["x-justcall-request-timestamp"] ?? "")
            add("signed for another URL", with(genuine, signatureHeader, otherURL))
        } else {
            // The same JSON, other bytes: the signature covers the bytes as received.
            var reserialised = genuine
            let value = try? JSONValue.parse(body)
            reserialised.body = value?.canonicalJSONBytes ?? []
            if reserialised.body != body { add("re-serialised body", reserialised) }
            var spaced = genuine
            spaced.body = Array(String(decoding: body, as: UTF8.self).replacingOccurrences(of: ",", with: ", ").utf8)
            add("re-serialised body (spaced)", spaced)
            var empty = genuine
            empty.body = []
            add("empty body", empty)
        }
        return out
    }

    static func with(_ request: HTTPRequest, _ header: String, _ value: String?) -> HTTPRequest {
        var request = request
        request.headers[header] = value
        return request
    }

    static func withToken(_ request: HTTPRequest, _ token: String?) -> HTTPRequest {
        var request = request
        request.query["token"] = token
        return request
    }

    /// The MAC a signature header carries (base64 for CTM and CallRail, hex for JustCall).
    static func macBytes(_ vendor: Vendor, _ text: String) -> [UInt8]? {
        vendor == .justcall ? JustCallWebhookRoute.bytes(hex: text) : Data(base64Encoded: text).map(Array.init)
    }

    static func encode(_ vendor: Vendor, _ mac: [UInt8]?) -> String {
        guard let mac else { return "" }
        return vendor == .justcall ? mac.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() : Data(mac).base64EncodedString()
    }

    /// `body` with one bit flipped inside its `"type"` value (the part of a JustCall body that is signed).
    static func flippingBit(inTypeOf body: [UInt8], using rng: inout FuzzRandom) -> [UInt8] {
        let marker = Array(#""type":""#.utf8)
        guard let start = body.firstRange(of: marker)?.upperBound,
              let end = body[start...].firstIndex(of: UInt8(ascii: "\"")), end > start else { return body }
        var forged = body
        // Flip a low bit so the byte stays printable ASCII, not an escape or a quote.
        forged[start + rng.index(end - start)] ^= 1 << UInt8(rng.index(3))
        return forged
    }
}
