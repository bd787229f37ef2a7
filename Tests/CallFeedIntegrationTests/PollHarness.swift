import CallFeedApp
import CallFeedCore
import CallFeedPoll
import Foundation
import HTTPClient
import Kafka
import Logging
import Prometheus
import Synchronization
import VendorSandbox
@_spi(Testing) import Warehouse

/// Pollers against the vendor sandbox, publishing into the in-process spine (``Pipeline``: mock
/// cluster, loader, SQLite): what a poll test needs in one place.
final class PollHarness: @unchecked Sendable {
    let pipeline: Pipeline
    let sandbox: VendorSandbox
    let store: StateStore
    let statePath: String
    let logger: Logger

    init(_ configuration: SandboxConfiguration) throws {
        pipeline = try Pipeline()
        sandbox = VendorSandbox(configuration: configuration)
        try sandbox.start()
        statePath = pipeline.directory.appendingPathComponent("state.db").path
        store = try StateStore(path: statePath)
        var logger = Logger(label: "poll-test")
        logger.logLevel = .error
        self.logger = logger
    }

    func stop() {
        sandbox.stop()
        store.close()
        pipeline.stop()
    }

    /// A vendor client with the given limits and short retry delays (Retry-After still rules).
    func client(limits: [RateLimiter.Window] = [.perMinute(100_000)], maxRetries: Int = 3) -> VendorClient {
        VendorClient(limiter: RateLimiter(windows: limits),
                     retry: RetryPolicy(maxRetries: maxRetries, initialDelay: .milliseconds(20), factor: 2, maxDelay: .seconds(2)))
    }

    func callPoller(_ source: any CallSource, client: VendorClient? = nil, start: Timestamp, lookback: Duration = .seconds(3600),
                    dryRun: Bool = false, store: StateStore? = nil) -> CallPoller {
        CallPoller(source: source, client: client ?? self.client(), producer: dryRun ? nil : pipeline.producer, topics: pipeline.topics,
                   store: store ?? self.store, settings: PollSettings(lookback: lookback, initialStart: start), logger: logger)
    }

    func entityPoller(name: String, streams: [any EntityStream], accounts: @escaping @Sendable (VendorClient) throws(PollError) -> [String],
                      client: VendorClient? = nil, start: Timestamp = Timestamp.now().adding(seconds: -30 * 86_400),
                      lookback: Duration = .seconds(3600), dryRun: Bool = false) -> EntityPoller {
        EntityPoller(name: name, streams: streams, accounts: accounts, client: client ?? self.client(),
                     producer: dryRun ? nil : pipeline.producer, topics: pipeline.topics, store: store,
                     settings: PollSettings(lookback: lookback, initialStart: start), logger: logger)
    }

    /// `calls` rows of one source, keyed by source_call_id.
    func callRows(source: String) throws -> [String: [String: WarehouseValue]] {
        var result: [String: [String: WarehouseValue]] = [:]
        for row in try pipeline.reader._query("SELECT * FROM calls WHERE source = '\(source)'") {
            if case .text(let id)? = row["source_call_id"] { result[id] = row }
        }
        return result
    }

    /// Rows of an entity table (`ctm_accounts`), keyed by id; empty when the table does not exist yet.
    func entityRows(_ table: String) throws -> [String: [String: WarehouseValue]] {
        let exists = try pipeline.reader._query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '\(table)'")
        guard !exists.isEmpty else { return [:] }
        var result: [String: [String: WarehouseValue]] = [:]
        for row in try pipeline.reader._query("SELECT * FROM \"\(table)\"") {
            if case .text(let id)? = row["id"] { result[id] = row }
        }
        return result
    }

    /// Waits until `calls` holds `count` rows of `source` (or 30 s pass) and returns them.
    func waitForCalls(source: String, count: Int, timeout: Duration = .seconds(30)) throws -> [String: [String: WarehouseValue]] {
        pipeline.wait(timeout: timeout) { ((try? callRows(source: source).count) ?? 0) >= count }
        // Anything past `count` would be a wrong extra row: give it a moment to show.
        Thread.sleep(forTimeInterval: 0.3)
        return try callRows(source: source)
    }

    func waitForEntities(_ table: String, count: Int, timeout: Duration = .seconds(30)) throws -> [String: [String: WarehouseValue]] {
        pipeline.wait(timeout: timeout) { ((try? entityRows(table).count) ?? 0) >= count }
        Thread.sleep(forTimeInterval: 0.3)
        return try entityRows(table)
    }

    /// The dead-letter topic's messages: (reason header, body).
    func deadLetters(expecting count: Int) throws -> [(reason: String, body: String)] {
        try pipeline.readAll(pipeline.topics.deadLetters, expecting: count, timeout: .seconds(15)).map { message in
            (message.header(RecordHeader.reason) ?? "", String(decoding: message.value, as: UTF8.self))
        }
    }
}

/// Says "stop" after `stopAfter` pages.
final class PageCounter: Sendable {
    private let count = Mutex(0)
    let stopAfter: Int
    init(stopAfter: Int) { self.stopAfter = stopAfter }
    func tick() -> Bool { count.withLock { $0 += 1; return $0 >= stopAfter } }
}

/// Collects progress fractions from the poller's thread.
final class Fractions: Sendable {
    private let list = Mutex<[Double]>([])
    func add(_ f: Double) { list.withLock { $0.append(f) } }
    var values: [Double] { list.withLock { $0 } }
}
