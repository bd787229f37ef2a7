import CallFeedCore
import CallFeedPoll
import Foundation
import HTTPClient
import Kafka
import Logging
import Prometheus
import ServiceLifecycle
import Warehouse

/// `callfeed poll`, `callfeed backfill`, `callfeed check`: one source, in the foreground.
extension Commands {
    /// One incremental run of a source now. `dryRun`: fetch and normalise, publish and save nothing.
    /// `entities`: also read the source's entity lists (accounts, users, ...) once.
    public static func runPoll(configPath: String, sourceName: String, dryRun: Bool, entities: Bool = false) throws {
        let config = try CallFeedConfiguration.load(path: configPath)
        let logger = config.bootstrapLogging(label: "callfeed-poll")
        let store = try Builders.openState(config)
        defer { store.close() }
        let configured = try Builders.pollSource(named: sourceName, in: config, store: store)
        let producer = dryRun ? nil : try Builders.makeProducer(config, clientID: "callfeed-poll")
        defer { producer?.close() }
        let limiter = Builders.makeLimiter(configured, store: store)
        if let poller = Builders.makePoller(configured, config: config, producer: producer, store: store, limiter: limiter, registry: nil, logger: logger) {
            let stats = try poller.sync()
            print("\(dryRun ? "dry run (nothing published): " : "")\(sourceName): \(stats)")
        }
        // A source without calls (CleverTap) has only its lists to read.
        guard entities || configured.source == nil else { return }
        guard let entityPoller = Builders.makeEntityPoller(configured, config: config, producer: producer, store: store, limiter: limiter,
                                                           registry: nil, logger: logger) else {
            print("\(sourceName): no entity lists configured")
            return
        }
        let entityStats = try entityPoller.sync()
        print("\(dryRun ? "dry run (nothing published): " : "")\(sourceName) entities (\(entityPoller.streams.map(\.entity).joined(separator: ", "))): \(entityStats)")
    }

    /// Replays [from, to) of a source, with a progress line on stderr. Resumable.
    public static func runBackfill(configPath: String, sourceName: String, from: String, to: String, dryRun: Bool) throws {
        let config = try CallFeedConfiguration.load(path: configPath)
        guard let start = Timestamp.parseISO8601(from.count == 10 ? from + "T00:00:00Z" : from, defaultUTCOffsetSeconds: 0),
              let end = Timestamp.parseISO8601(to.count == 10 ? to + "T00:00:00Z" : to, defaultUTCOffsetSeconds: 0) else {
            throw ConfigurationError("--from and --to must be YYYY-MM-DD or RFC 3339")
        }
        // A date as --to means the whole day.
        let endExclusive = to.count == 10 ? end.adding(seconds: 86_400) : end
        guard start < endExclusive else { throw ConfigurationError("--from must be before --to") }
        let logger = config.bootstrapLogging(label: "callfeed-backfill")
        let store = try Builders.openState(config)
        defer { store.close() }
        let configured = try Builders.pollSource(named: sourceName, in: config, store: store)
        let producer = dryRun ? nil : try Builders.makeProducer(config, clientID: "callfeed-backfill")
        defer { producer?.close() }
        guard let poller = Builders.makePoller(configured, config: config, producer: producer, store: store, registry: nil, logger: logger) else {
            throw ConfigurationError("\(sourceName) (\(configured.vendor)) has no calls to backfill; its lists are read whole by `callfeed poll --source \(sourceName)`")
        }
        let bar = ProgressBar()
        let stats = try poller.backfill(from: start, to: endExclusive) { bar.draw($0) }
        bar.finish()
        print("\(dryRun ? "dry run (nothing published): " : "")backfill \(sourceName) \(from)..\(to): \(stats)")
    }

    /// Credentials and reachability of a source: lists its accounts and reads one page.
    public static func runCheck(configPath: String, sourceName: String) throws {
        let config = try CallFeedConfiguration.load(path: configPath)
        let logger = config.bootstrapLogging(label: "callfeed-check")
        let configured = try Builders.pollSource(named: sourceName, in: config)
        let store = try StateStore(path: ":memory:")
        let now = Timestamp.now()
        let client = VendorClient(limiter: RateLimiter(windows: [.perMinute(10)]))
        guard let source = configured.source else {
            // No calls: read the first page of each list.
            for stream in configured.entityStreams {
                let page = try stream.page(stream.firstPage(account: nil, since: now.adding(seconds: -86_400), until: now), account: nil,
                                           since: now.adding(seconds: -86_400), until: now, client: client)
                print("\(sourceName): credentials accepted; \(stream.entity): first page holds \(page.records.count) records")
            }
            print("OK")
            return
        }
        let accounts = try source.accounts(client: client)
        print("\(sourceName): credentials accepted; accounts: \(accounts.joined(separator: ", "))")
        for account in accounts.prefix(3) {
            let page = try source.page(source.firstPage, cursor: nil, account: account, from: now.adding(seconds: -86_400), to: now, client: client)
            print("  account \(account): last 24 h, first page holds \(page.records.count) calls")
        }
        print("OK")
    }
}

/// `[#####-----]  45%  pages 12  records 1,800  350/s  ETA 0:42` on stderr, redrawn in place.
final class ProgressBar {
    private let started = Date()
    private var drawn = false

    func draw(_ p: PollProgress) {
        let width = 30
        let filled = Int((p.fraction * Double(width)).rounded())
        let elapsed = Date().timeIntervalSince(started)
        let rate = elapsed > 0 ? Double(p.statistics.processed) / elapsed : 0
        let eta = p.fraction > 0 ? elapsed * (1 - p.fraction) / p.fraction : 0
        let line = String(format: "\r[%@%@] %3d%%  account %@  up to %@  pages %d  records %d  rejected %d  %.0f/s  ETA %d:%02d ",
                          String(repeating: "#", count: filled), String(repeating: "-", count: width - filled),
                          Int(p.fraction * 100), p.account, String(p.windowTo.rfc3339.prefix(10)), p.statistics.pages,
                          p.statistics.processed, p.statistics.rejected, rate, Int(eta) / 60, Int(eta) % 60)
        FileHandle.standardError.write(Data(line.utf8))
        drawn = true
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
