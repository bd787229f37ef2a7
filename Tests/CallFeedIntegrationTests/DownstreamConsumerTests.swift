import CallFeedCore
import CallFeedTestSupport
import Foundation
import HTTPClient
import Testing

/// A downstream team's consumer that is not CallFeed: Debian's `kcat`, in a consumer group of its
/// own, reads `callfeed.calls.v1` and must find every acknowledged event, keyed by its event_id,
/// with the documented `source` header (docs/architecture.md, "Topics"), on each broker.
@Suite(.serialized) struct DownstreamConsumerTests {
    static var kcat: String? {
        ["/usr/bin/kcat", "/usr/local/bin/kcat"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test(arguments: TestBroker.underTest) func kcatReadsEveryAcknowledgedEvent(broker: TestBroker) throws {
        guard let kcat = Self.kcat else {
            if TestServers.required { Issue.record("kcat not installed: scripts/setup.sh installs it") }
            return
        }
        let pipeline = try Pipeline(broker: broker)
        defer { pipeline.stop() }

        // 60 calls, 12 re-sent exactly, 8 updated: 80 acknowledged hooks, 80 records on the calls topic.
        var acknowledged: [(eventID: String, revision: String, source: String)] = []
        let client = HTTPClient()
        func post(_ n: Int, recording: String? = nil) throws {
            let response = n % 2 == 0 ? try pipeline.postCallKeeper(try Payloads.callKeeper(n, recording: recording), client: client)
                                      : try pipeline.postCTM(try Payloads.ctm(n, recording: recording), client: client)
            #expect(response.status == 202)
            let body = try JSONValue.parse(Array(response.bodyText.utf8))
            acknowledged.append((try #require(body["event_id"]?.text), try #require(body["revision"]?.text),
                                 n % 2 == 0 ? "callkeeper" : "ctm"))
        }
        for n in 0..<60 { try post(n) }
        for n in 0..<12 { try post(n * 5) }
        for n in 0..<8 { try post(n * 7 + 1, recording: "https://recordings.example/v2/\(n).mp3") }
        #expect(acknowledged.count == 80)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: kcat)
        process.arguments = ["-b", pipeline.kafka.bootstrapServers, "-G", "downstream-\(UUID().uuidString)", pipeline.topics.calls,
                             "-J", "-e", "-q", "-X", "auto.offset.reset=earliest",
                             "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=1000"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        let output = CollectedOutput(out)
        try process.run()
        let deadline = ContinuousClock.now + .seconds(90)
        while process.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        Thread.sleep(forTimeInterval: 0.2)   // the last bytes of the pipe

        var read: [(eventID: String, revision: String, source: String?)] = []
        for line in output.lines {
            let envelope = try JSONValue.parse(Array(line.utf8))
            let key = try #require(envelope["key"]?.text)
            let payload = try JSONValue.parse(Array(try #require(envelope["payload"]?.text).utf8))
            #expect(payload["event_id"]?.text == key, "key \(key) is not the event's id")
            var headers: [String: String] = [:]
            if case .array(let flat)? = envelope["headers"] {
                for i in stride(from: 0, to: flat.count - 1, by: 2) {
                    if let name = flat[i].text, let value = flat[i + 1].text { headers[name] = value }
                }
            }
            #expect(headers["source"] == payload["source"]?.text)
            read.append((key, try #require(payload["revision"]?.text), headers["source"]))
        }
        #expect(read.count == 80, "kcat read \(read.count) records")
        // Every acknowledged (event_id, revision) is there as often as it was acknowledged.
        func tally(_ items: [(String, String)]) -> [String: Int] {
            items.reduce(into: [:]) { $0["\($1.0)@\($1.1)", default: 0] += 1 }
        }
        #expect(tally(read.map { ($0.eventID, $0.revision) }) == tally(acknowledged.map { ($0.eventID, $0.revision) }))
        #expect(Set(read.compactMap(\.source)) == ["callkeeper", "ctm"])
    }
}
