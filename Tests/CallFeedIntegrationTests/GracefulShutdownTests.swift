import CallFeedApp
import CallFeedCore
import CallFeedTestSupport
import Foundation
import HTTPClient
import Kafka
import Synchronization
import Testing
@_spi(Testing) import Warehouse

/// SIGTERM against the real executables (`callfeed-ingest`, `callfeed-load`) with a mock Kafka
/// cluster in the test process: what clients see, what reaches Kafka and the warehouse, the exit
/// code. Time bounds are only safety nets ("exits within grace + 10 s"), never speed assertions.
@Suite struct GracefulShutdownTests {
    /// What one webhook POST got.
    struct Outcome: Sendable {
        /// The HTTP status, or nil if no answer (then `curlCode` says why).
        var status: Int?
        var curlCode: Int32?
        var eventID: String?
        /// Whether some request of the first wave was still unanswered when this one completed:
        /// then the listener was certainly still open.
        var firstWaveStillOpen = false
    }

    /// A scratch directory with a config file for both executables.
    struct Setup {
        let directory: URL
        let configPath: String
        let database: String
        let environment: [String: String]

        init(cluster: KafkaMockCluster, ingest: String = "", load: String = "", kafka: String = "") throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("callfeed-stop-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            database = directory.appendingPathComponent("w.db").path
            configPath = directory.appendingPathComponent("callfeed.yaml").path
            try """
            kafka: {bootstrap_servers: "${BOOTSTRAP}"\(kafka)}
            ingest: {listen_port: 0\(ingest)}
            load: {sqlite_path: "\(database)", metrics_port: 0\(load)}
            sources:
              callkeeper:
                - {account_id: main, token: "${CK_TOKEN}"}
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
            environment = ["BOOTSTRAP": cluster.bootstrapServers, "CK_TOKEN": "stop-token-1"]
        }

        func launch(_ name: String) throws -> (Process, DevModeEndToEndTests.Output) {
            try SeparateExecutablesTests.launch(name, config: configPath, environment: environment)
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    // MARK: - Ingest

    @Test func ingestFinishesInFlightRequestsAnswersNewOnes503AndExitsZero() throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        defer { withExtendedLifetime(cluster) {} }
        let topics = Topics()
        for topic in topics.all { try cluster.createTopic(topic, partitions: 2) }
        let setup = try Setup(cluster: cluster, ingest: ", shutdown_grace_seconds: 30")
        defer { setup.remove() }
        let (ingest, log) = try setup.launch("callfeed-ingest")
        defer { if ingest.isRunning { ingest.terminate() } }
        let url = try Self.webhookURL(log)
        // The producer is connected and initialised before the broker turns slow.
        #expect(Self.post(url, try Payloads.callKeeper(0)).status == 202)

        cluster.setBrokerRTT(1, milliseconds: 1_500)
        let firstWave = Self.fire((1...20).map { try! Payloads.callKeeper($0) }, to: url)
        Thread.sleep(forTimeInterval: 0.5)  // let them reach the server; none can be acked before 1.5 s
        kill(ingest.processIdentifier, SIGTERM)
        #expect(Self.waitFor { log.value.contains("shutting down: new requests are answered 503") })
        let inFlight = try #require(Int(Self.logField("in_flight", of: "shutting down", in: log.value) ?? ""))
        let laterWave = Self.fire((101...110).map { try! Payloads.callKeeper($0) }, to: url, while: firstWave)

        let first = firstWave.wait()
        let later = laterWave.wait()
        #expect(Self.waitForExit(ingest, within: .seconds(30 + 10)))
        #expect(ingest.terminationStatus == 0)
        #expect(log.value.contains("stopped cleanly"))
        #expect(log.value.contains("callfeed-ingest stopped"))

        // In flight at SIGTERM: every one acknowledged. Any 503 is a request that arrived after it.
        #expect(inFlight > 0)
        #expect(first.allSatisfy { $0.status == 202 || $0.status == 503 }, "\(first)")
        let accepted = first.filter { $0.status == 202 }.compactMap(\.eventID)
        #expect(accepted.count >= inFlight)
        // After SIGTERM: 503 while the listener is open (certainly so while the first wave was
        // unanswered), a refused connection (curl 7) only after it closed; never accepted.
        #expect(later.allSatisfy { $0.status == 503 || $0.curlCode == 7 }, "\(later)")
        let whileOpen = later.filter(\.firstWaveStillOpen)
        #expect(!whileOpen.isEmpty)
        #expect(whileOpen.allSatisfy { $0.status == 503 }, "\(whileOpen)")

        // Every 202 is in the calls topic.
        cluster.setBrokerRTT(1, milliseconds: 0)
        let seen = try Self.eventIDs(in: topics.calls, cluster: cluster, expecting: Set(accepted))
        #expect(Set(accepted).isSubset(of: seen), "missing: \(Set(accepted).subtracting(seen))")
    }

    @Test func ingestWhoseGraceRunsOutAnswers503AndExits75() throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        defer { withExtendedLifetime(cluster) {} }
        for topic in Topics().all { try cluster.createTopic(topic, partitions: 2) }
        let setup = try Setup(cluster: cluster, ingest: ", shutdown_grace_seconds: 2")
        defer { setup.remove() }
        let (ingest, log) = try setup.launch("callfeed-ingest")
        defer { if ingest.isRunning { ingest.terminate() } }
        let url = try Self.webhookURL(log)
        #expect(Self.post(url, try Payloads.callKeeper(0)).status == 202)

        // Kafka down: nothing is acknowledged (delivery timeout 10 s, longer than the grace).
        cluster.setAllBrokers(up: false)
        defer { cluster.setAllBrokers(up: true) }
        let wave = Self.fire((1...5).map { try! Payloads.callKeeper($0) }, to: url)
        Thread.sleep(forTimeInterval: 0.5)
        kill(ingest.processIdentifier, SIGTERM)
        let outcomes = wave.wait()
        #expect(Self.waitForExit(ingest, within: .seconds(2 + 10)))
        #expect(outcomes.allSatisfy { $0.status == 503 }, "\(outcomes)")
        #expect(ingest.terminationStatus == ShutdownIncomplete.exitCode)
        #expect(log.value.contains("grace period ran out"))
        let unflushed = Int(Self.logField("unflushed_messages", of: "grace period ran out", in: log.value) ?? "")
        #expect((unflushed ?? 0) > 0, "\(log.value.suffix(1500))")
        #expect(log.value.contains("callfeed-ingest stopped before its work in hand finished"))
    }

    // MARK: - Loader

    @Test func loaderStopsBetweenBatchesAndTheNextLoaderLoadsTheRestOnce() throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        defer { withExtendedLifetime(cluster) {} }
        let topics = Topics()
        for topic in topics.all { try cluster.createTopic(topic, partitions: 2) }
        let total = 2_000
        try Self.produceEvents(total, to: topics.calls, cluster: cluster)
        // Small batches: 100 transactions, so SIGTERM lands mid-load.
        let setup = try Setup(cluster: cluster, load: ", batch_size: 20, linger_ms: 20")
        defer { setup.remove() }

        let (first, firstLog) = try setup.launch("callfeed-load")
        defer { if first.isRunning { first.terminate() } }
        #expect(Self.waitFor { FileManager.default.fileExists(atPath: setup.database) })
        let reader = try SQLiteSink(path: setup.database)
        defer { reader.close() }
        #expect(Self.waitFor { ((try? reader.count(table: "calls")) ?? 0) > 0 })
        kill(first.processIdentifier, SIGTERM)
        #expect(Self.waitForExit(first, within: .seconds(30 + 10)))
        #expect(first.terminationStatus == 0)
        #expect(firstLog.value.contains("stopped cleanly: batch committed, group left"))

        // What the first loader committed is exactly what it wrote.
        let rowsAfterFirst = try reader.count(table: "calls")
        #expect(try Self.committed(topics.calls, cluster: cluster) == Int64(rowsAfterFirst))
        #expect(rowsAfterFirst < total, "the first loader had finished before SIGTERM")

        let (second, secondLog) = try setup.launch("callfeed-load")
        defer { if second.isRunning { second.terminate() } }
        #expect(Self.waitFor(.seconds(60)) { ((try? reader.count(table: "calls")) ?? 0) == total })
        let metrics = try Self.metrics(of: secondLog)
        kill(second.processIdentifier, SIGTERM)
        #expect(Self.waitForExit(second, within: .seconds(30 + 10)))
        #expect(second.terminationStatus == 0)

        // The second loader inserted the rest, re-read nothing, and everything is committed.
        #expect(metrics.contains("callfeed_load_rows_total{result=\"inserted\"} \(total - rowsAfterFirst)"), "\(metrics)")
        #expect(metrics.contains("callfeed_load_rows_total{result=\"unchanged\"} 0"), "\(metrics)")
        #expect(try reader.count(table: "calls") == total)
        #expect(try Self.committed(topics.calls, cluster: cluster) == Int64(total))
    }

    @Test func loaderWhoseWarehouseHangsPastTheGraceExits75WithoutCommitting() throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        defer { withExtendedLifetime(cluster) {} }
        let topics = Topics()
        for topic in topics.all { try cluster.createTopic(topic, partitions: 2) }
        // A short session, so the group hands the stuck member's partitions on soon after it died.
        let setup = try Setup(cluster: cluster, load: ", shutdown_grace_seconds: 2, linger_ms: 20",
                              kafka: ", properties: {session.timeout.ms: \"6000\"}")
        defer { setup.remove() }
        let (first, firstLog) = try setup.launch("callfeed-load")
        defer { if first.isRunning { first.terminate() } }
        #expect(Self.waitFor { firstLog.value.contains("loader running") })

        // The test holds SQLite's write lock: each write blocks for the sink's 5 s busy timeout.
        let locker = try SQLiteSink(path: setup.database)
        defer { locker.close() }
        try locker._execute("BEGIN IMMEDIATE")
        try Self.produceEvents(100, to: topics.calls, cluster: cluster)
        #expect(Self.waitFor(.seconds(60)) { firstLog.value.contains("warehouse write failed; retrying") })
        // Now it backs off 100 ms and blocks 5 s again: longer than the 2 s grace.
        kill(first.processIdentifier, SIGTERM)
        #expect(Self.waitForExit(first, within: .seconds(2 + 10)))
        #expect(first.terminationStatus == ShutdownIncomplete.exitCode)
        #expect(firstLog.value.contains("grace period ran out with the loader still in the warehouse"))
        #expect(try Self.committed(topics.calls, cluster: cluster) == 0)
        try locker._execute("ROLLBACK")

        // Nothing lost: the next loader in the group loads the batch.
        let (second, _) = try setup.launch("callfeed-load")
        defer { if second.isRunning { second.terminate() } }
        #expect(Self.waitFor(.seconds(90)) { ((try? locker.count(table: "calls")) ?? 0) == 100 })
        kill(second.processIdentifier, SIGTERM)
        #expect(Self.waitForExit(second, within: .seconds(30 + 10)))
        #expect(second.terminationStatus == 0)
        #expect(try Self.committed(topics.calls, cluster: cluster) == 100)
    }

    // MARK: - Helpers

    /// The webhook URL, from the "listening" log line.
    static func webhookURL(_ log: DevModeEndToEndTests.Output) throws -> String {
        #expect(waitFor { log.value.contains("webhook receiver listening") })
        let address = try #require(logField("address", of: "webhook receiver listening", in: log.value))
        return "http://\(address)/webhooks/callkeeper?token=stop-token-1"
    }

    /// A metadata field of the first JSON log line whose message contains `message`.
    static func logField(_ field: String, of message: String, in log: String) -> String? {
        guard let line = log.split(separator: "\n").first(where: { $0.contains(message) }),
              let json = try? JSONValue.parse(Array(line.utf8)) else { return nil }
        return json[field]?.text
    }

    static func post(_ url: String, _ body: [UInt8]) -> Outcome {
        do {
            let response = try HTTPClient(connectTimeoutSeconds: 5, totalTimeoutSeconds: 60).request("POST", url, body: body)
            let eventID = (try? JSONValue.parse(response.body))?["event_id"]?.text
            return Outcome(status: response.status, eventID: eventID)
        } catch {
            return Outcome(curlCode: error.code)
        }
    }

    /// Requests sent at once, one thread each.
    final class Wave: Sendable {
        private let outcomes = Mutex<[Outcome]>([])
        private let done = DispatchSemaphore(value: 0)
        private let count: Int
        init(count: Int) { self.count = count }
        func record(_ outcome: Outcome) { outcomes.withLock { $0.append(outcome) }; done.signal() }
        var isComplete: Bool { outcomes.withLock { $0.count == count } }
        func wait() -> [Outcome] {
            for _ in 0..<count { done.wait() }
            for _ in 0..<count { done.signal() }  // wait() may be called again
            return outcomes.withLock { $0 }
        }
    }

    static func fire(_ bodies: [[UInt8]], to url: String, while earlier: Wave? = nil) -> Wave {
        let wave = Wave(count: bodies.count)
        for body in bodies {
            Thread.detachNewThread {
                var outcome = post(url, body)
                outcome.firstWaveStillOpen = earlier.map { !$0.isComplete } ?? false
                wave.record(outcome)
            }
        }
        return wave
    }

    /// `count` distinct CallEvents produced to `topic` and acknowledged.
    static func produceEvents(_ count: Int, to topic: String, cluster: KafkaMockCluster) throws {
        let producer = try KafkaProducer(properties: ["bootstrap.servers": cluster.bootstrapServers, "linger.ms": "5"])
        defer { producer.close() }
        let failed = Atomic<Int>(0)
        for n in 0..<count {
            let event = WarehouseFixtures.event(callID: "stop-\(n)", receivedAt: WarehouseFixtures.may1(10))
            try producer.produce(topic: topic, key: Array(event.eventID.utf8), value: event.jsonBytes()) { result in
                if case .failure = result { failed.add(1, ordering: .relaxed) }
            }
        }
        #expect(producer.flush(timeoutMilliseconds: 30_000))
        #expect(failed.load(ordering: .relaxed) == 0)
    }

    /// The `callfeed-load` group's committed offsets on `topic`, summed (the topic starts at 0).
    static func committed(_ topic: String, cluster: KafkaMockCluster) throws -> Int64 {
        let consumer = try KafkaConsumer(groupID: "callfeed-load", properties: ["bootstrap.servers": cluster.bootstrapServers])
        defer { consumer.close() }
        return try consumer.committed(topic: topic, partitions: [0, 1]).values.reduce(0) { $0 + max(0, $1) }
    }

    /// The event ids in `topic`, read until all of `expected` were seen (or 60 s passed).
    static func eventIDs(in topic: String, cluster: KafkaMockCluster, expecting expected: Set<String>) throws -> Set<String> {
        let consumer = try KafkaConsumer(groupID: "stop-check-\(UUID().uuidString)",
                                         properties: ["bootstrap.servers": cluster.bootstrapServers])
        defer { consumer.close() }
        try consumer.subscribe([topic])
        var seen = Set<String>()
        let deadline = ContinuousClock.now + .seconds(60)
        while !expected.isSubset(of: seen) && ContinuousClock.now < deadline {
            if let message = try consumer.poll(timeoutMilliseconds: 200), let key = message.key {
                seen.insert(String(decoding: key, as: UTF8.self))
            }
        }
        return seen
    }

    /// The loader's `/metrics` text, from the address its "loader running" log line names.
    static func metrics(of log: DevModeEndToEndTests.Output) throws -> String {
        let address = try #require(logField("metrics", of: "loader running", in: log.value))
        return String(decoding: try HTTPClient().request("GET", "http://\(address)/metrics").body, as: UTF8.self)
    }

    static func waitFor(_ timeout: Duration = .seconds(30), _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline { if condition() { return true }; Thread.sleep(forTimeInterval: 0.05) }
        return condition()
    }

    /// Safety net only: false (and the process killed) if it is still running after `timeout`.
    static func waitForExit(_ process: Process, within timeout: Duration) -> Bool {
        guard waitFor(timeout, { !process.isRunning }) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return false
        }
        process.waitUntilExit()
        return true
    }
}
