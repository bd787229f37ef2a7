import CallFeedCore
import CallFeedVendors
import Foundation
import HTTPClient
import Kafka
import Logging
import Warehouse

/// Polls a source's non-call lists (``EntityStream``s) and publishes each object as an
/// ``EntityRecord`` to the entities topic.
///
/// Per page, like ``CallPoller``: fetch (rate-limited, retried), map (a record that does not map,
/// or maps to a record the loader would refuse, goes to the dead-letter topic with the reason),
/// publish and wait for Kafka's acknowledgement, then save the cursor (the next page). A run
/// killed mid-list resumes at the last acknowledged page; the high-water mark of an incremental
/// stream advances only when its list is read to the end.
public final class EntityPoller: @unchecked Sendable {
    /// The operator's name for the source (config), part of state keys.
    public let name: String
    public let streams: [any EntityStream]
    let accounts: @Sendable (VendorClient) throws(PollError) -> [String]
    let client: VendorClient
    let publisher: PagePublisher?
    let store: StateStore
    public let settings: PollSettings
    let logger: Logger
    let metrics: PollMetrics?
    /// Checked between pages: a stop request ends the run after the page in hand is acknowledged.
    public var isCancelled: @Sendable () -> Bool = { false }

    /// - Parameters:
    ///   - accounts: lists the accounts per-account streams are read for.
    ///   - producer: nil for a dry run (fetch and normalise, publish nothing, save nothing).
    public init(name: String, streams: [any EntityStream], accounts: @escaping @Sendable (VendorClient) throws(PollError) -> [String],
                client: VendorClient, producer: KafkaProducer?, topics: Topics, store: StateStore, settings: PollSettings,
                logger: Logger, metrics: PollMetrics? = nil) {
        self.name = name
        self.streams = streams
        self.accounts = accounts
        self.client = client
        self.publisher = producer.map { PagePublisher(producer: $0, topics: topics) }
        self.store = store
        self.settings = settings
        self.logger = logger
        self.metrics = metrics
    }

    struct Cursor: Codable, Equatable {
        var next: PageRequest
        var since: Int64?
        var until: Int64
    }

    /// Reads every stream once (per account where the stream is per account).
    @discardableResult
    public func sync(now: Timestamp = .now()) throws(PollError) -> RunStatistics {
        let started = Date()
        var stats = RunStatistics()
        let apiBefore = client.requestCount
        var accountList: [String]?
        for stream in streams {
            if stream.perAccount {
                if accountList == nil { accountList = try accounts(client) }
                for account in accountList ?? [] { try run(stream, account: account, now: now, stats: &stats) }
            } else {
                try run(stream, account: nil, now: now, stats: &stats)
            }
        }
        stats.apiCalls = client.requestCount - apiBefore
        stats.seconds = Date().timeIntervalSince(started)
        logger.info("entity poll run finished", metadata: [
            "source": "\(name)", "streams": "\(streams.map(\.entity).joined(separator: ","))", "dry_run": "\(publisher == nil)",
            "pages": "\(stats.pages)", "processed": "\(stats.processed)", "published": "\(stats.published)",
            "rejected": "\(stats.rejected)", "api_calls": "\(stats.apiCalls)", "duration_s": "\(String(format: "%.2f", stats.seconds))",
        ])
        if let vendor = streams.first?.vendor { metrics?.run(vendor: vendor, stats: stats) }
        return stats
    }

    private func checkpoints(_ stream: any EntityStream, _ account: String?) -> Checkpoints {
        Checkpoints(store: store, vendor: stream.vendor, source: name, account: account ?? "_", stream: stream.entity)
    }

    private func run(_ stream: any EntityStream, account: String?, now: Timestamp, stats: inout RunStatistics) throws(PollError) {
        let checkpoints = checkpoints(stream, account)
        var cursor: Cursor
        if let saved = try checkpoints.cursor("list", as: Cursor.self) {
            cursor = saved
            logger.info("resuming entity list", metadata: ["source": "\(name)", "entity": "\(stream.entity)", "account": "\(account ?? "-")"])
        } else {
            var since: Timestamp?
            if stream.isIncremental {
                since = try checkpoints.highWaterMark().map { $0.adding(seconds: -settings.lookback.components.seconds) } ?? settings.initialStart
            }
            cursor = Cursor(next: stream.firstPage(account: account, since: since, until: now), since: since?.millisecondsSinceEpoch,
                            until: now.millisecondsSinceEpoch)
        }
        let since = cursor.since.map { Timestamp(millisecondsSinceEpoch: $0) }
        let until = Timestamp(millisecondsSinceEpoch: cursor.until)
        stats.windows += 1
        while true {
            let page: EntityPage
            do {
                page = try stream.page(cursor.next, account: account, since: since, until: until, client: client)
            } catch where error.kind == .credentials {
                throw PollError(.credentials, "\(stream.vendor) source \(name) (\(stream.entity)): \(error.reason)")
            }
            stats.pages += 1
            let receivedAt = Timestamp.now()
            var records: [EntityRecord] = []
            var rejected: [PagePublisher.Rejected] = []
            for raw in page.records {
                stats.processed += 1
                do {
                    let object = try stream.object(from: raw, account: account)
                    let record = EntityRecord(source: stream.vendor, entity: stream.entity, id: object.id, accountID: account,
                                              data: object.data, raw: raw, sourceUpdatedAt: object.sourceUpdatedAt,
                                              receivedAt: receivedAt, channel: .poll)
                    try record.validate()
                    records.append(record)
                } catch {
                    // A MappingError, or the EntityDecodingError of a record the loader would refuse.
                    let reason = (error as? MappingError)?.reason ?? (error as? EntityDecodingError)?.reason ?? "\(error)"
                    rejected.append(.init(record: raw.canonicalJSONBytes, reason: "\(stream.entity): \(reason)"))
                }
            }
            if let publisher {
                try publisher.publish(entities: records, rejected: rejected, vendor: stream.vendor, route: "poll:\(name)",
                                      provenance: [(RecordHeader.sourceName, name), (RecordHeader.entity, stream.entity)])
            }
            stats.published += records.count
            stats.rejected += rejected.count
            metrics?.page(vendor: stream.vendor, records: records.count, rejected: rejected.count)
            // An empty page ends the list unless it names a different next page (CleverTap's first
            // step answers only a cursor; its pages may be empty and still go on).
            guard let next = page.next, next != cursor.next else { break }
            if page.records.isEmpty, case .number = next { break }
            cursor.next = next
            if publisher != nil { try checkpoints.save(cursor, kind: "list") }
            if isCancelled() { throw PollError(.cancelled, "stopped reading \(stream.entity); the next run resumes at the saved page") }
        }
        guard publisher != nil else { return }
        try checkpoints.clearCursor("list")
        if stream.isIncremental { try checkpoints.advance(to: until) }
    }
}
