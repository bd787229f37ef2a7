import CallFeedCore
import CallFeedIngest
import CallFeedVendors
import HTTPServer

/// Targets on the webhook side: the JSON parser, each route's mapping of a body (what the receiver
/// answers 202 or 400 + dead letter), and each route's `authenticate` on mutated headers, query
/// and body (401 or accepted).
enum WebhookTargets {
    static func all() -> [FuzzTarget] {
        [json()] + WebhookFixtures.Vendor.allCases.map(content) + WebhookFixtures.Vendor.allCases.map(authentication)
    }

    /// `JSONValue.parse`; an accepted document must also survive its canonical re-serialisation
    /// (what entity records and dead letters are written with).
    static func json() -> FuzzTarget {
        FuzzTarget(name: "json", seedKey: "json") { input, _ in
            let value: JSONValue
            do { value = try JSONValue.parse(input) } catch { return .rejected("\(error)") }
            guard (try? JSONValue.parse(value.canonicalJSONBytes)) != nil else {
                return .violation("canonical JSON of an accepted document does not parse")
            }
            return .accepted
        }
    }

    /// The receiver's body path after authentication: parse, map with the route, build the event.
    /// A refusal must carry a reason (it becomes the 400 body and the dead letter's `reason`).
    static func content(_ vendor: WebhookFixtures.Vendor) -> FuzzTarget {
        let route = WebhookFixtures.route(vendor)
        return FuzzTarget(name: "webhook.\(vendor.rawValue)", seedKey: "webhook.\(vendor.rawValue)") { input, _ in
            let reason: String
            do {
                let content = try route.content(from: try JSONValue.parse(input), source: WebhookFixtures.source)
                if let broken = FuzzOutcome.checkPublishable(content, channel: .webhook) { return .violation(broken) }
                return .accepted
            } catch {
                reason = "\(error)"
            }
            return reason.isEmpty ? .violation("refused without a reason") : .rejected(reason)
        }
    }

    /// `authenticate` on a genuinely signed request, then 1–3 request mutations: the body, a
    /// header's bytes, a header dropped or replaced by a hostile value, the token, the clock.
    /// CTM and CallRail sign the raw body, so accepting any other body is a violation.
    static func authentication(_ vendor: WebhookFixtures.Vendor) -> FuzzTarget {
        let route = WebhookFixtures.route(vendor)
        let mutator = Mutator(pool: [])
        return FuzzTarget(name: "auth.\(vendor.rawValue)", seedKey: "webhook.\(vendor.rawValue)") { input, rng in
            let secret = rng.oneIn(2) ? WebhookFixtures.currentSecret : WebhookFixtures.previousSecret
            var request = WebhookFixtures.signedRequest(vendor, body: input, secret: secret)
            let signedBody = request.body
            var now = FuzzClock.now
            for _ in 0...rng.index(3) {
                let names = request.headers.keys.sorted()
                switch rng.index(7) {
                case 0:
                    request.body = mutator.mutateBytes(request.body, using: &rng)
                case 1 where !names.isEmpty:
                    let name = rng.pick(names)
                    request.headers[name] = String(decoding: mutator.mutateBytes(Array((request.headers[name] ?? "").utf8), using: &rng), as: UTF8.self)
                case 2 where !names.isEmpty:
                    request.headers[rng.pick(names)] = nil
                case 3:
                    let name = names.isEmpty || rng.oneIn(4) ? "x-callfeed-token" : rng.pick(names)
                    request.headers[name] = rng.pick(hostileHeaderValues)
                case 4:
                    now = now.adding(seconds: rng.pick(clockSkews))
                case 5:
                    let token = request.query["token"] ?? ""
                    switch rng.index(3) {
                    case 0: request.query["token"] = String(decoding: mutator.mutateBytes(Array(token.utf8), using: &rng), as: UTF8.self)
                    case 1: request.query["token"] = nil; request.headers["x-callfeed-token"] = token
                    default: request.query["token"] = rng.pick(hostileHeaderValues)
                    }
                default:
                    if let name = names.isEmpty ? nil : rng.pick(names) { request.headers[name] = " \(request.headers[name] ?? "")\t" }
                }
            }
            switch route.authenticate(request, now: now) {
            case .failure(let failure):
                return failure.reason.isEmpty ? .violation("refused without a reason") : .rejected(failure.reason)
            case .success:
                if vendor == .ctm || vendor == .callrail, request.body != signedBody {
                    return .violation("a body other than the signed one was accepted")
                }
                return .accepted
            }
        }
    }

    /// Values that break naive header parsing: extreme and signed numbers, dates, empty and huge
    /// strings, NUL, non-ASCII, base64 and hex of the right length.
    static let hostileHeaderValues = [
        "", " ", "0", "-1", "1e10", "-9223372036854775808", "9223372036854775807", "9223372036854775808",
        "-9223372036854775", "9223372036854775", "-1000000000000", "1715711467000", "99999999999999999999", "+1715711467",
        "1715711467.5", "2024-05-14 18:31:07", "2024-05-14T18:31:07+14:00", "9999-12-31 23:59:59", "0000-00-00 00:00:00",
        "=", "====", "\u{0}", "é", "v2", "V1 ", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", String(repeating: "0", count: 64),
        String(repeating: "A", count: 10_000), String(repeating: "ff", count: 32) + "0", "fuzz-current-secret-000",
        "fuzz-current-secret-0001 ", "FUZZ-CURRENT-SECRET-0001",
    ]

    /// Clock offsets around the tolerance edges and far beyond.
    static let clockSkews: [Int64] = [0, 1, -1, 299, 300, 301, -300, -301, 86_400, -86_400, 1_000_000_000, -1_000_000_000]
}
