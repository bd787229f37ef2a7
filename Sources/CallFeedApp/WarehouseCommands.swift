import CallFeedCore
import Foundation
import Logging
import Warehouse

/// `callfeed warehouse migrate|dump|bench`: the configured warehouse, without Kafka.
extension Commands {
    /// Creates or migrates the schema of `load.sink` (or `sink`) and exits: for a deploy step that
    /// runs before the loaders, with credentials allowed to change the schema.
    public static func runMigrate(configPath: String, sink sinkKind: String?) throws {
        let config = try warehouseConfiguration(configPath, sinkKind)
        let sink = try Builders.makeSink(config)
        defer { sink.close() }
        try prepareWaiting(sink, config)
        print("\(config.load.sink): schema is up to date")
    }

    /// Prints the canonical dump of `calls` (docs/warehouse.md, Conformance): one line per row,
    /// comparable between warehouses with `diff`.
    public static func runDump(configPath: String, sink sinkKind: String?) throws {
        let config = try warehouseConfiguration(configPath, sinkKind)
        let sink = try Builders.makeSink(config)
        defer { sink.close() }
        try sink.prepare()
        guard let dumping = sink as? any CanonicalDumping else {
            throw ConfigurationError("the \(config.load.sink) sink has no canonical dump")
        }
        for line in try dumping.canonicalDump() { print(line) }
    }

    /// Loads synthetic calls (source `callfeed-bench`) into the configured warehouse and prints
    /// events/s for three passes: new rows, an exact replay (every event unchanged), and a new
    /// revision of every call. Point it at a scratch database, schema or dataset.
    public static func runWarehouseBench(configPath: String, sink sinkKind: String?, events count: Int, batchSize: Int) throws {
        let config = try warehouseConfiguration(configPath, sinkKind)
        guard count > 0, batchSize > 0 else { throw ConfigurationError("--events and --batch must be positive") }
        let sink = try Builders.makeSink(config)
        defer { sink.close() }
        try prepareWaiting(sink, config)
        let run = UInt32.random(in: 0..<UInt32.max)
        let first = (0..<count).map { BenchEvents.event($0, run: run, revision: 0) }
        let second = (0..<count).map { BenchEvents.event($0, run: run, revision: 1) }
        print("warehouse bench: \(config.load.sink), \(count) events in batches of \(batchSize) (run \(run))")
        for (name, events) in [("insert", first), ("replay (unchanged)", first), ("update", second)] {
            let started = ContinuousClock.now
            var total = ApplySummary()
            var index = 0
            while index < events.count {
                let batch = Array(events[index..<min(index + batchSize, events.count)])
                let summary = try sink.apply(batch, loadedAt: .now())
                total.inserted += summary.inserted
                total.updated += summary.updated
                total.unchanged += summary.unchanged
                total.revisionsAdded += summary.revisionsAdded
                index += batchSize
            }
            let (whole, fraction) = (ContinuousClock.now - started).components
            let seconds = Double(whole) + Double(fraction) / 1e18
            let rate = Int(Double(count) / max(seconds, 1e-9))
            print("  \(name.padding(toLength: 19, withPad: " ", startingAt: 0)) \(String(format: "%7.2f", seconds)) s  \(rate) events/s  (\(total))")
        }
    }

    /// `prepare`, waiting up to two minutes for a warehouse that is not reachable yet.
    private static func prepareWaiting(_ sink: any WarehouseSink, _ config: CallFeedConfiguration) throws {
        let logger = config.bootstrapLogging(label: "callfeed-warehouse")
        try sink.prepare(waitingUpTo: .seconds(120)) { error, backoff in
            logger.warning("warehouse not reachable yet; retrying", metadata: ["error": "\(error)", "backoff": "\(backoff)"])
        }
    }

    private static func warehouseConfiguration(_ path: String, _ sinkKind: String?) throws -> CallFeedConfiguration {
        var config = try CallFeedConfiguration.load(path: path)
        if let sinkKind {
            config.load.sink = sinkKind
            try config.validate(origin: path)
        }
        return config
    }
}

/// Synthetic calls for `callfeed warehouse bench`: realistic widths, every column kind filled.
enum BenchEvents {
    static func event(_ n: Int, run: UInt32, revision: Int) -> CallEvent {
        var content = CallContent(source: "callfeed-bench", sourceAccountID: "run-\(run)", sourceCallID: String(n),
                                  direction: n % 3 == 0 ? .outbound : .inbound, status: n % 5 == 0 ? .missed : .answered)
        let start = Timestamp(millisecondsSinceEpoch: 1_780_000_000_000 + Int64(n) * 1_000)
        content.startedAt = start
        content.endedAt = Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + 95_000)
        content.durationSeconds = 95
        content.talkSeconds = Int64(80 + revision)
        content.ringSeconds = 15
        content.callerNumber = "+1555\(1_000_000 + n % 9_000_000)"
        content.dialedNumber = "+18005550100"
        content.callerName = "Caller \(n)"
        content.agent = CallContent.Agent(id: "a-\(n % 50)", name: "Agent \(n % 50)", email: "agent\(n % 50)@example.com")
        content.tracking.source = "google"
        content.tracking.medium = "cpc"
        content.tracking.landingPage = "https://example.com/landing?gclid=\(n)"
        content.location = CallContent.Location(city: "Springfield", region: "IL", country: "US")
        content.recordingURL = "https://recordings.example/\(n).mp3"
        content.tags = n % 2 == 0 ? ["new", "paid"] : []
        content.firstCall = n % 2 == 0
        content.sourceUpdatedAt = Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + 120_000 + Int64(revision) * 60_000)
        return CallEvent(content: content, channel: .poll, receivedAt: .now())
    }
}
