import CallFeedCore
import CallFeedIngest
import Foundation
import HTTPServer

/// `callfeed bench ingest-path`: CallFeed's own CPU per webhook, without HTTP and without Kafka.
///
/// It runs, for each request, exactly the steps `WebhookReceiver` runs between libmicrohttpd
/// handing over a body and librdkafka taking the two records: authenticate, parse the body, map
/// it, derive the event's identity (event_id and revision), build the raw record's headers, write
/// the event's bytes, and write the 202 answer. Each request is a distinct call: every
/// `@@SEQ@@@@@@@` in the body becomes the request's 12-digit sequence number, as `bench/c/loadgen.c`
/// does. Two passes: the first times the whole path (process CPU per webhook, the figure to
/// compare across runs of a noisy machine); the second times each step (wall clock, with the
/// clock reads' own cost in it). Profile it with `perf record -g` (docs/performance.md; the
/// Debian valgrind cannot read Swift 6.3's DWARF 5).
public enum IngestPathBench {
    public struct Steps: Sendable {
        public var authenticate = Duration.zero, parse = Duration.zero, map = Duration.zero, identity = Duration.zero
        public var headers = Duration.zero, eventBytes = Duration.zero, answer = Duration.zero
    }

    /// What a run measured.
    public struct Result: Sendable {
        public var requests: Int
        /// Process CPU (user + system) per webhook in the untimed pass, µs.
        public var cpuMicrosPerWebhook: Double
        public var steps: Steps
        /// Bytes made per webhook (event, answer, header count), so the passes cannot be optimised away.
        public var bytesPerWebhook: Double
    }

    /// The body with its placeholder replaced by `sequence`.
    static func body(_ template: [UInt8], offsets: [Int], sequence: Int) -> [UInt8] {
        var body = template
        let digits = Array(String(format: "%012d", sequence).utf8)
        for offset in offsets { body.replaceSubrange(offset..<offset + 12, with: digits) }
        return body
    }

    static func placeholderOffsets(_ template: [UInt8]) -> [Int] {
        let marker = Array("@@SEQ@@@@@@@".utf8)
        guard template.count >= marker.count else { return [] }
        return (0...(template.count - marker.count)).filter { template[$0..<$0 + marker.count].elementsEqual(marker) }
    }

    /// One webhook's CPU path; returns the bytes written. `step` is called after each step.
    @inline(__always)
    static func handle(_ request: HTTPRequest, route: any WebhookRoute, now: Timestamp, step: (Int) -> Void) throws -> Int {
        guard case .success(let source) = route.authenticate(request, now: now) else { throw BenchError("authentication failed") }
        step(0)
        let payload = try JSONValue.parse(request.body)
        step(1)
        let content = try route.content(from: payload, source: source)
        step(2)
        let event = CallEvent(content: content, channel: .webhook, receivedAt: now)
        step(3)
        let headers = RecordHeader.raw(for: event, route: route.path, provenance: [(RecordHeader.sourceName, source.name)])
        step(4)
        let bytes = event.jsonBytes()
        step(5)
        let answer = "{\"status\":\"accepted\",\"event_id\":\"\(event.eventID)\",\"revision\":\"\(event.revision)\"}"
        step(6)
        return bytes.count + answer.utf8.count + headers.count
    }

    public static func run(config: CallFeedConfiguration, routePath: String, query: [String: String], template: [UInt8],
                           requests: Int) throws -> Result {
        guard let route = Builders.makeRoutes(config).first(where: { $0.path == routePath }) else {
            throw BenchError("no webhook route \(routePath) in the config")
        }
        let offsets = placeholderOffsets(template)
        let now = Timestamp.now()
        func request(_ n: Int) -> HTTPRequest {
            HTTPRequest(method: "POST", path: routePath, query: query, headers: ["content-type": "application/json"],
                        body: body(template, offsets: offsets, sequence: n))
        }
        // Bodies are made before the clock starts: the load generator's work, not the server's.
        let warmup = min(requests, 1_000)
        for n in 0..<warmup { _ = try handle(request(n), route: route, now: now) { _ in } }

        let bodies = (0..<requests).map { request(warmup + $0) }
        var written = 0
        let cpuBefore = processCPU()
        for r in bodies { written += try handle(r, route: route, now: now) { _ in } }
        let cpu = processCPU() - cpuBefore

        var steps = Steps()
        let stepBodies = (0..<requests).map { request(warmup + requests + $0) }
        let clock = ContinuousClock()
        for r in stepBodies {
            var last = clock.now
            written += try handle(r, route: route, now: now) { step in
                let t = clock.now
                let d = t - last
                last = t
                switch step {
                case 0: steps.authenticate += d
                case 1: steps.parse += d
                case 2: steps.map += d
                case 3: steps.identity += d
                case 4: steps.headers += d
                case 5: steps.eventBytes += d
                default: steps.answer += d
                }
            }
        }
        return Result(requests: requests, cpuMicrosPerWebhook: cpu * 1e6 / Double(requests), steps: steps,
                      bytesPerWebhook: Double(written) / Double(2 * requests))
    }

    /// User + system CPU of this process so far, seconds.
    static func processCPU() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// One JSON line: the figures per webhook, µs.
    public static func line(_ r: Result) -> String {
        func us(_ d: Duration) -> String { String(format: "%.2f", d / .microseconds(1) / Double(r.requests)) }
        let s = r.steps
        let total = s.authenticate + s.parse + s.map + s.identity + s.headers + s.eventBytes + s.answer
        return "{\"requests\":\(r.requests),\"cpu_us_per_webhook\":\(String(format: "%.2f", r.cpuMicrosPerWebhook)),"
            + "\"steps_us\":{\"authenticate\":\(us(s.authenticate)),\"parse\":\(us(s.parse)),\"map\":\(us(s.map)),"
            + "\"identity\":\(us(s.identity)),\"headers\":\(us(s.headers)),\"event_bytes\":\(us(s.eventBytes)),"
            + "\"answer\":\(us(s.answer)),\"total\":\(us(total))},\"bytes_per_webhook\":\(Int(r.bytesPerWebhook))}"
    }

    struct BenchError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
