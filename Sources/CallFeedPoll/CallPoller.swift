import CallFeedCore
import CallFeedVendors
import Foundation
import HTTPClient
import Kafka
import Logging
import Warehouse

/// Polls one call source: incremental runs (`sync`) and history (`backfill`), page by page.
///
/// Per page: fetch (rate-limited, retried), map each record (a record that does not map goes to the
/// dead-letter topic with the reason; the rest of the page goes on), publish and wait for Kafka's
/// acknowledgement, then save the cursor. The high-water mark advances only when a window is
/// complete. Killed anywhere, the next run resumes at the last acknowledged page: duplicates are
/// possible, gaps are not (the loader dedupes).
public final class CallPoller: @unchecked Sendable {
    public let source: any CallSource
    let client: VendorClient
    let publisher: PagePublisher?
    let store: StateStore
    public let settings: PollSettings
    let logger: Logger
    let metrics: PollMetrics?
    /// Checked between pages: a stop request ends the run after the page in hand is acknowledged.
    public var isCancelled: @Sendable () -> Bool = { false }

    /// - Parameter producer: nil for a dry run (fetch and normalise, publish nothing, save nothing).
    public init(source: any CallSource, client: VendorClient, producer: KafkaProducer?, topics: Topics, store: StateStore,
                settings: PollSettings, logger: Logger, metrics: PollMetrics? = nil) {
        self.source = source
        self.client = client
        self.publisher = producer.map { PagePublisher(producer: $0, topics: topics) }
        self.store = store
        self.settings = settings
        self.logger = logger
        self.metrics = metrics
    }

    var isDryRun: Bool { publisher == nil }

    public func accounts() throws(PollError) -> [String] {
        try source.accounts(client: client)
    }

    /// One incremental run over every account: from the high-water mark minus the lookback (or
    /// the configured start) up to now, in chunks.
    @discardableResult
    public func sync(now: Timestamp = .now(), progress: ((PollProgress) -> Void)? = nil) throws(PollError) -> RunStatistics {
        let started = Date()
        var stats = RunStatistics()
        let apiBefore = client.requestCount
        let list = try accounts()
        for (index, account) in list.enumerated() {
            let share = Share(index: index, count: list.count)
            let checkpoints = checkpointsFor(account)
            if let cursor = try checkpoints.cursor("sync") {
                // Resume the window a previous run did not finish.
                try runRange(account: account, from: Timestamp(millisecondsSinceEpoch: cursor.from), to: Timestamp(millisecondsSinceEpoch: cursor.rangeEnd ?? cursor.to),
                             kind: "sync", channel: .poll, stats: &stats, progress: nil, share: share, resume: cursor)
            }
            let hwm = try checkpoints.highWaterMark()
            let from = hwm.map { $0.adding(seconds: -settings.lookback.components.seconds) } ?? settings.initialStart
            try runRange(account: account, from: from, to: now, kind: "sync", channel: .poll, stats: &stats, progress: progress, share: share, resume: nil)
        }
        stats.apiCalls = client.requestCount - apiBefore
        stats.seconds = Date().timeIntervalSince(started)
        report(stats, run: "sync")
        return stats
    }

    /// Replays [`from`, `to`) for every account in chunks, resumable: a stopped backfill continues
    /// from its last acknowledged page when started again with the same range.
    @discardableResult
    public func backfill(from: Timestamp, to: Timestamp, progress: ((PollProgress) -> Void)? = nil) throws(PollError) -> RunStatistics {
        let started = Date()
        var stats = RunStatistics()
        let apiBefore = client.requestCount
        let list = try accounts()
        for (index, account) in list.enumerated() {
            let cursor = try checkpointsFor(account).cursor("backfill")
            let resume = cursor.flatMap { $0.rangeEnd == to.millisecondsSinceEpoch ? $0 : nil }
            if resume != nil { logger.info("resuming backfill", metadata: ["account": "\(account)"]) }
            try runRange(account: account, from: from, to: to, kind: "backfill", channel: .backfill, stats: &stats, progress: progress,
                         share: Share(index: index, count: list.count), resume: resume)
        }
        if !isDryRun {
            // The whole range is done: the same command starts afresh next time.
            for account in list { try checkpointsFor(account).clearCursor("backfill") }
        }
        stats.apiCalls = client.requestCount - apiBefore
        stats.seconds = Date().timeIntervalSince(started)
        report(stats, run: "backfill")
        return stats
    }

    private func checkpointsFor(_ account: String) -> Checkpoints {
        Checkpoints(store: store, vendor: source.vendor, source: source.name, account: account, stream: "calls")
    }

    /// Which part of a whole run one account is: progress is reported over the whole run.
    struct Share {
        var index: Int
        var count: Int
        func overall(_ fraction: Double) -> Double { min(1, (Double(index) + min(1, fraction)) / Double(max(count, 1))) }
    }

    /// Walks [from, to) chunk by chunk (a resumed cursor first finishes its own chunk).
    private func runRange(account: String, from: Timestamp, to: Timestamp, kind: String, channel: CallEvent.Channel,
                          stats: inout RunStatistics, progress: ((PollProgress) -> Void)?, share: Share, resume: Checkpoints.Cursor?) throws(PollError) {
        guard from < to else { return }
        let chunkMs = max(PollSettings.milliseconds(settings.chunk), PollSettings.milliseconds(source.granularity))
        var windowStart = resume.map { Timestamp(millisecondsSinceEpoch: $0.from) } ?? from
        var firstCursor = resume
        while windowStart < to {
            let windowEnd = Timestamp(millisecondsSinceEpoch: min(to.millisecondsSinceEpoch, windowStart.millisecondsSinceEpoch + chunkMs))
            try runWindow(account: account, from: windowStart, to: windowEnd, rangeEnd: to, kind: kind, channel: channel,
                          stats: &stats, resume: firstCursor)
            firstCursor = nil
            let done = Double(windowEnd.millisecondsSinceEpoch - from.millisecondsSinceEpoch) / Double(to.millisecondsSinceEpoch - from.millisecondsSinceEpoch)
            progress?(PollProgress(account: account, windowFrom: windowStart, windowTo: windowEnd, fraction: share.overall(done), statistics: stats))
            windowStart = windowEnd
        }
    }

    /// One window, page by page; splits it when the vendor's result cap would truncate it.
    private func runWindow(account: String, from: Timestamp, to: Timestamp, rangeEnd: Timestamp, kind: String, channel: CallEvent.Channel,
                           stats: inout RunStatistics, resume: Checkpoints.Cursor?) throws(PollError) {
        let checkpoints = checkpointsFor(account)
        var cursor = resume ?? Checkpoints.Cursor(from: from.millisecondsSinceEpoch, to: to.millisecondsSinceEpoch,
                                                  nextPage: source.firstPage, rangeEnd: rangeEnd.millisecondsSinceEpoch)
        stats.windows += 1
        while true {
            let page = try fetch(cursor.nextPage, cursor: cursor.after, account: account, from: from, to: to)
            stats.pages += 1
            if cursor.nextPage == source.firstPage, let cap = source.resultCap, let total = page.totalRecords, total > cap {
                let span = to.millisecondsSinceEpoch - from.millisecondsSinceEpoch
                if span > PollSettings.milliseconds(source.granularity) {
                    // Split instead of losing what lies past the cap.
                    logger.warning("window exceeds the vendor's result cap; splitting", metadata: [
                        "account": "\(account)", "total": "\(total)", "cap": "\(cap)", "from": "\(from)", "to": "\(to)"])
                    metrics?.capSplit(vendor: source.vendor)
                    let middle = Timestamp(millisecondsSinceEpoch: from.millisecondsSinceEpoch + span / 2)
                    stats.windows -= 1
                    try runWindow(account: account, from: from, to: middle, rangeEnd: rangeEnd, kind: kind, channel: channel, stats: &stats, resume: nil)
                    try runWindow(account: account, from: middle, to: to, rangeEnd: rangeEnd, kind: kind, channel: channel, stats: &stats, resume: nil)
                    return
                }
                logger.error("window of the smallest size still exceeds the vendor's result cap: records past the cap are not returned by the API",
                             metadata: ["account": "\(account)", "total": "\(total)", "cap": "\(cap)", "from": "\(from)"])
                metrics?.capExceeded(vendor: source.vendor)
            }
            let receivedAt = Timestamp.now()
            var events: [(event: CallEvent, raw: [UInt8])] = []
            var rejected: [PagePublisher.Rejected] = []
            for record in page.records {
                stats.processed += 1
                let raw = record.canonicalJSONBytes
                do {
                    let content = try source.content(of: record, account: account)
                    events.append((CallEvent(content: content, channel: channel, receivedAt: receivedAt), raw))
                } catch {
                    rejected.append(.init(record: raw, reason: error.reason))
                }
            }
            if let publisher {
                try publisher.publish(events: events, rejected: rejected, vendor: source.vendor, route: "poll:\(source.name)",
                                      provenance: [(RecordHeader.sourceName, source.name), (RecordHeader.account, account)])
            }
            stats.published += events.count
            stats.rejected += rejected.count
            metrics?.page(vendor: source.vendor, records: events.count, rejected: rejected.count)
            if page.isLast || page.records.isEmpty { break }
            cursor.nextPage += 1
            cursor.after = page.nextCursor
            if !isDryRun { try checkpoints.save(cursor, kind: kind) }
            if isCancelled() { throw PollError(.cancelled, "stopped after page \(cursor.nextPage - 1); the next run resumes at page \(cursor.nextPage)") }
        }
        guard !isDryRun else { return }
        if to < rangeEnd {
            // More windows of this range follow: point the cursor at the next one, so a stop resumes there.
            try checkpoints.save(Checkpoints.Cursor(from: to.millisecondsSinceEpoch, to: to.millisecondsSinceEpoch, nextPage: source.firstPage,
                                       rangeEnd: rangeEnd.millisecondsSinceEpoch), kind: kind)
        } else if kind == "backfill" {
            // This account's part of the range is done: say so, so that a backfill stopped at a later
            // account does not read this one again when resumed. `backfill()` clears the markers once
            // every account is done.
            try checkpoints.save(Checkpoints.Cursor(from: rangeEnd.millisecondsSinceEpoch, to: rangeEnd.millisecondsSinceEpoch,
                                       nextPage: source.firstPage, rangeEnd: rangeEnd.millisecondsSinceEpoch), kind: kind)
        } else {
            try checkpoints.clearCursor(kind)
        }
        // Incremental runs advance the mark window by window; a backfill leaves it alone.
        if kind == "sync" { try checkpoints.advance(to: to) }
    }

    private func fetch(_ number: Int, cursor: String?, account: String, from: Timestamp, to: Timestamp) throws(PollError) -> CallPage {
        do {
            return try source.page(number, cursor: cursor, account: account, from: from, to: to, client: client)
        } catch where error.kind == .credentials {
            throw PollError(.credentials, "\(source.vendor) source \(source.name): \(error.reason)")
        }
    }

    private func report(_ stats: RunStatistics, run: String) {
        logger.info("poll run finished", metadata: [
            "vendor": "\(source.vendor)", "source": "\(source.name)", "run": "\(run)", "dry_run": "\(isDryRun)",
            "windows": "\(stats.windows)", "pages": "\(stats.pages)", "processed": "\(stats.processed)",
            "published": "\(stats.published)", "rejected": "\(stats.rejected)", "api_calls": "\(stats.apiCalls)",
            "duration_s": "\(String(format: "%.2f", stats.seconds))",
        ])
        metrics?.run(vendor: source.vendor, stats: stats)
    }

}

extension PollSettings {
    static func milliseconds(_ d: Duration) -> Int64 { d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000 }
}
