import CallFeedCore
import Foundation
import Kafka
import Logging
import Synchronization
import Warehouse

public struct LoaderConfiguration: Sendable {
    public var topics: Topics
    /// Most messages per warehouse transaction.
    public var batchSize: Int
    /// How long to wait for a batch to fill once its first message arrived.
    public var linger: Duration
    /// A pause before each batch's warehouse write: a loader slowed on purpose, for tests of
    /// back-pressure (`load.batch_delay_ms`). Zero in production.
    public var batchDelay: Duration = .zero
    public init(topics: Topics = Topics(), batchSize: Int = 500, linger: Duration = .milliseconds(100), batchDelay: Duration = .zero) {
        self.topics = topics; self.batchSize = batchSize; self.linger = linger; self.batchDelay = batchDelay
    }
}

/// What one batch did (for logs, metrics and tests).
public struct BatchReport: Sendable, Equatable {
    /// Messages read, from both topics.
    public var messages: Int
    /// Exact duplicates dropped: calls with the same event_id and revision, entity records with the
    /// same key and revision.
    public var duplicatesDropped: Int
    /// Messages and refused events or records sent to the dead-letter topic.
    public var deadLettered: Int
    /// What the calls transaction did.
    public var summary: ApplySummary
    /// What the entity-records transaction did (`revisionsAdded` is always 0).
    public var entitySummary: ApplySummary
}

/// `callfeed-load`'s engine: reads `calls.v1` and `entities.v1` as a consumer-group member, drops
/// exact duplicates, writes each batch's calls and entity records to the warehouse, and only then
/// commits the offsets of both topics.
///
/// A batch is split by topic. Its calls are applied in one transaction (``WarehouseSink/apply(_:loadedAt:)``),
/// then its entity records in a second (``WarehouseSink/applyEntities(_:loadedAt:)``); the offsets
/// are committed only after both. Two transactions are safe because both writes are idempotent: a
/// crash between them re-reads the batch, and the calls already stored come out unchanged.
///
/// Crash anywhere and the uncommitted batch is read again; the sink's idempotent upsert makes the
/// second write a no-op for what the first already stored. A message that is not a valid CallEvent
/// or EntityRecord goes to the dead-letter topic (acknowledged before the offset commit) and the
/// batch goes on. Warehouse errors marked transient (locked, I/O, connection) are retried with
/// backoff, never dead-lettered. Runs on its own thread: the consumer, sink and SQLite calls all block.
///
/// `@unchecked Sendable`: the consumer and sink are touched only by the loader thread; the stop
/// flag is atomic.
public final class CallLoader: @unchecked Sendable {
    let consumer: KafkaConsumer
    let sink: any WarehouseSink
    let deadLetters: KafkaProducer
    let configuration: LoaderConfiguration
    let metrics: LoadMetrics
    let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let draining = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let started = Atomic<Bool>(false)
    /// Called after every committed batch (tests and progress output).
    public var onBatch: (@Sendable (BatchReport) -> Void)?
    /// Called after every batch's warehouse commit with the next offset of each partition in it
    /// (the embedded mode's ``BacklogGate`` frees that room).
    public var onLoaded: (@Sendable ([TopicPartitionOffset]) -> Void)?
    /// Offsets lost, assignment and last commit, for `/readyz`.
    public let health = LoaderHealth()
    /// Loader thread only: offset continuity and the lag bookkeeping.
    private var continuity = OffsetContinuity()
    /// Loader thread only: per partition, the offset after the last committed message and that
    /// message's Kafka timestamp.
    private var committedNext: [PartitionGauges.PartitionID: (offset: Int64, timestampMilliseconds: Int64?)] = [:]
    /// Loader thread only: per partition, the timestamp of the first message of the batch in hand.
    private var oldestInHand: [PartitionGauges.PartitionID: Int64] = [:]
    private var lagRefreshedAt: ContinuousClock.Instant?

    public init(consumer: KafkaConsumer, sink: any WarehouseSink, deadLetters: KafkaProducer,
                configuration: LoaderConfiguration, metrics: LoadMetrics, logger: Logger) {
        self.consumer = consumer
        self.sink = sink
        self.deadLetters = deadLetters
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    /// Prepares the warehouse schema and subscribes to the calls and entities topics. Throws on
    /// configuration problems.
    ///
    /// - Parameter patience: How long to wait for a warehouse that is not reachable yet
    ///   (``WarehouseSink/prepare(waitingUpTo:onRetry:)``); `.zero` tries once.
    /// - Important: Create both topics before starting: a consumer does not create a topic, and
    ///   a subscribed topic that does not exist yet is only noticed at the next metadata refresh.
    public func prepare(waitingUpTo patience: Duration = .zero) throws {
        try sink.prepare(waitingUpTo: patience) { error, backoff in
            logger.warning("warehouse not reachable yet; retrying", metadata: ["error": "\(error)", "backoff": "\(backoff)"])
        }
        try consumer.subscribe([configuration.topics.calls, configuration.topics.entities])
    }

    /// Starts the loader thread.
    public func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "callfeed-loader"
        thread.start()
    }

    /// Waits until the group join gave this loader its partitions (librdkafka's mock cluster
    /// delays the first join by ~3 s). Returns false at the timeout.
    public func waitUntilAssigned(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while consumer.assignedPartitionCount() == 0 {
            if ContinuousClock.now >= deadline { return false }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return true
    }

    /// Finishes the batch in hand (warehouse commit, then offset commit), leaves the group and
    /// returns when the thread has stopped. With `drain`, first loads everything already in the
    /// topic (until a poll finds nothing): the embedded mode's Kafka lives in memory, so what it
    /// holds must reach the warehouse before the process exits.
    ///
    /// - Parameter deadline: How long to wait for the loader thread (nil: as long as it takes).
    /// - Returns: true once the thread has stopped and the consumer has left the group; false if
    ///   the thread was still busy at `deadline` (a warehouse call that hangs). Then the consumer
    ///   and the sink are left alone, since that thread still owns them: the caller should exit
    ///   without closing the sink. The batch's offsets are not committed, so the group reads it
    ///   again once this member's session expires, and the idempotent upsert makes that a no-op
    ///   for whatever the hung transaction did store.
    @discardableResult
    public func stop(drain: Bool = false, deadline: ContinuousClock.Instant? = nil) -> Bool {
        if drain { draining.store(true, ordering: .releasing) } else { stopping.store(true, ordering: .releasing) }
        if started.load(ordering: .acquiring) {
            if let deadline {
                let left = max(0, Double((deadline - .now) / .milliseconds(1)) / 1000)
                guard finished.wait(timeout: .now() + left) == .success else { return false }
            } else {
                finished.wait()
            }
        }
        consumer.close()
        return true
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    private func run() {
        logger.info("loader started", metadata: ["topic": "\(configuration.topics.calls)",
                                                 "entities_topic": "\(configuration.topics.entities)",
                                                 "batch_size": "\(configuration.batchSize)"])
        while !isStopping {
            refreshLag()
            let batch = collectBatch()
            guard !batch.isEmpty else {
                if draining.load(ordering: .acquiring) { stopping.store(true, ordering: .releasing) }
                continue
            }
            let begun = ContinuousClock.now
            checkContinuity(batch)
            guard let report = process(batch) else {
                logger.warning("stopping: batch abandoned while retrying; its offsets stay uncommitted and it will be read again",
                               metadata: ["messages": "\(batch.count)"])
                continue
            }
            metrics.batch(messages: report.messages, duplicatesDropped: report.duplicatesDropped,
                          deadLettered: report.deadLettered, summary: report.summary,
                          entitySummary: report.entitySummary, duration: ContinuousClock.now - begun)
            logger.debug("batch loaded", metadata: ["messages": "\(report.messages)", "summary": "\(report.summary)",
                                                    "entity_summary": "\(report.entitySummary)"])
            onBatch?(report)
        }
        logger.info("loader stopped")
    }

    /// Up to `batchSize` messages: waits up to 200 ms for the first (so stop is noticed), then up
    /// to `linger` for the rest.
    private func collectBatch() -> [KafkaMessage] {
        var batch: [KafkaMessage] = []
        var deadline: ContinuousClock.Instant?
        while batch.count < configuration.batchSize {
            let wait: Int32
            if let deadline {
                let left = deadline - .now
                guard left > .zero else { break }
                wait = Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            } else {
                wait = 200
            }
            do {
                guard let message = try consumer.poll(timeoutMilliseconds: wait) else {
                    if deadline == nil { break } else { continue }
                }
                batch.append(message)
                if deadline == nil { deadline = .now + configuration.linger }
            } catch {
                logger.warning("consumer error", metadata: ["error": "\(error)"])
                if deadline == nil { break }
            }
        }
        return batch
    }

    /// Split by topic, decode, dead-letter, dedupe, write calls, write entity records, commit.
    /// Returns nil if stopped before both warehouse commits (the offsets stay uncommitted and the
    /// batch will be read again).
    func process(_ batch: [KafkaMessage]) -> BatchReport? {
        if configuration.batchDelay > .zero { Thread.sleep(forTimeInterval: configuration.batchDelay / .seconds(1)) }
        var events: [CallEvent] = []
        var records: [(record: EntityRecord, message: KafkaMessage)] = []
        var deadLettered = 0
        // Redriven messages carry how often they failed before; a refusal passes that on.
        var priorAttempts: [String: String] = [:]
        for message in batch {
            if message.topic == configuration.topics.entities {
                do throws(EntityDecodingError) {
                    records.append((try EntityRecord.decode(message.value), message))
                } catch {
                    guard deadLetter(message, reason: error.reason) else { return nil }
                    deadLettered += 1
                }
            } else {
                do throws(CallEventDecodingError) {
                    let event = try CallEvent.decode(message.value)
                    if let attempt = message.header(RecordHeader.attempt) { priorAttempts[event.eventID + "/" + event.revision] = attempt }
                    events.append(event)
                } catch {
                    guard deadLetter(message, reason: error.reason) else { return nil }
                    deadLettered += 1
                }
            }
        }
        let (distinct, dropped) = CallEvent.droppingExactDuplicates(events)
        let (distinctRecords, droppedRecords) = Self.droppingExactDuplicates(records)

        guard let (summary, rejected) = write(distinct, apply: { (events: [CallEvent]) throws(WarehouseError) in
            try sink.apply(events, loadedAt: .now())
        }, noun: "event", deadLetterMessage: { event in
            KafkaMessage(topic: configuration.topics.calls, partition: -1, offset: -1,
                         key: Array(event.eventID.utf8), value: event.jsonBytes(),
                         headers: priorAttempts[event.eventID + "/" + event.revision].map { [(RecordHeader.attempt, Array($0.utf8))] } ?? [])
        }) else { return nil }
        deadLettered += rejected

        guard let (entitySummary, rejectedRecords) = write(distinctRecords, apply: {
            (items: [(record: EntityRecord, message: KafkaMessage)]) throws(WarehouseError) in
            try sink.applyEntities(items.map(\.record), loadedAt: .now())
        }, noun: "record", deadLetterMessage: { $0.message }) else { return nil }
        deadLettered += rejectedRecords

        commit(batch)
        metrics.freshness.loaded(distinct, at: .now())
        return BatchReport(messages: batch.count, duplicatesDropped: dropped + droppedRecords, deadLettered: deadLettered,
                           summary: summary, entitySummary: entitySummary)
    }

    /// Drops exact duplicates (same key and revision) from the decoded entity records, keeping the
    /// first copy and the batch's order. Different revisions of one object all stay; the sink keeps
    /// the newest by version key.
    static func droppingExactDuplicates(
        _ records: [(record: EntityRecord, message: KafkaMessage)]
    ) -> (records: [(record: EntityRecord, message: KafkaMessage)], dropped: Int) {
        var seen = Set<String>()
        // The revision is fixed-width hex, so key + separator + revision is unambiguous.
        let kept = records.filter { seen.insert($0.record.key + "\u{0}" + $0.record.revision).inserted }
        return (kept, records.count - kept.count)
    }

    /// The items in one transaction, retrying errors that are not the data's fault; if the sink
    /// refuses the batch's data (constraint, type), each item is written alone and those that still
    /// fail go to the dead-letter topic. Returns the summary and the count dead-lettered, nil if stopped.
    /// - Parameters:
    ///   - items: Calls or entity records, duplicates dropped.
    ///   - apply: One sink transaction for some of the items.
    ///   - noun: What an item is, for the dead-letter reason (`event`, `record`).
    ///   - deadLetterMessage: What to dead-letter for an item the warehouse refuses (an entity
    ///     record's original message; a call's re-encoded event, as before).
    private func write<Item>(_ items: [Item], apply: ([Item]) throws(WarehouseError) -> ApplySummary,
                             noun: String, deadLetterMessage: (Item) -> KafkaMessage) -> (ApplySummary, Int)? {
        guard !items.isEmpty else { return (ApplySummary(), 0) }
        switch applyRetrying(items, apply) {
        case .some(.success(let summary)): return (summary, 0)
        case .none: return nil
        case .some(.failure(let error)):
            logger.warning("batch refused by the warehouse; writing items one by one", metadata: ["error": "\(error)"])
        }
        var total = ApplySummary()
        var rejected = 0
        for item in items {
            switch applyRetrying([item], apply) {
            case .none: return nil
            case .some(.success(let s)):
                total.inserted += s.inserted; total.updated += s.updated
                total.unchanged += s.unchanged; total.revisionsAdded += s.revisionsAdded
            case .some(.failure(let error)):
                guard deadLetter(deadLetterMessage(item), reason: "warehouse refused the \(noun): \(error.reason)") else {
                    return nil
                }
                rejected += 1
            }
        }
        return (total, rejected)
    }

    /// nil if stopped while retrying a transient error.
    private func applyRetrying<Item>(_ items: [Item], _ apply: ([Item]) throws(WarehouseError) -> ApplySummary)
        -> Result<ApplySummary, WarehouseError>? {
        var backoff = Duration.milliseconds(100)
        while true {
            do throws(WarehouseError) {
                let summary = try apply(items)
                health.warehouse(failing: nil, atMilliseconds: Timestamp.now().millisecondsSinceEpoch)
                return .success(summary)
            } catch where error.isTransient || !error.isDataError {
                // Unavailable (transient) or broken (not the data's fault): retry, never dead-letter.
                health.warehouse(failing: error.description, atMilliseconds: Timestamp.now().millisecondsSinceEpoch)
                metrics.retried()
                logger.log(level: error.isTransient ? .warning : .error, "warehouse write failed; retrying",
                           metadata: ["error": "\(error)", "backoff": "\(backoff)"])
                if isStopping { return nil }
                refreshLag()  // a stuck loader's lag keeps growing on /metrics
                Thread.sleep(forTimeInterval: backoff.timeInterval)
                backoff = min(backoff * 2, .seconds(5))
            } catch {
                return .failure(error)
            }
        }
    }

    /// Sends a message to the dead-letter topic and waits for the acknowledgement, retrying until
    /// it is durable (returns false only if stopped first: then nothing is committed).
    private func deadLetter(_ message: KafkaMessage, reason: String) -> Bool {
        logger.warning("dead-lettering a message", metadata: ["partition": "\(message.partition)", "offset": "\(message.offset)", "reason": "\(reason)"])
        let attempt = (message.header(RecordHeader.attempt).flatMap { Int($0) } ?? 0) + 1
        let headers = [(RecordHeader.reason, reason), (RecordHeader.stage, "load"),
                       (RecordHeader.origin, "\(message.topic)/\(message.partition)/\(message.offset)"),
                       (RecordHeader.attempt, String(attempt))]
        while true {
            do {
                _ = try deadLetters.sendBlocking(topic: configuration.topics.deadLetters, key: message.key,
                                                 value: message.value, headers: headers)
                return true
            } catch {
                logger.error("dead-letter topic unavailable; retrying", metadata: ["error": "\(error)"])
                if isStopping { return false }
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
    }

    /// Commits the next offset of every partition in the batch (after the warehouse commit).
    /// A failed commit (e.g. the partition moved to another loader) is logged: the batch will be
    /// re-read and its rows are already stored, so the re-write changes nothing.
    private func commit(_ batch: [KafkaMessage]) {
        var next: [TopicPartitionOffset] = []
        let grouped = Dictionary(grouping: batch) { "\($0.topic)\u{1F}\($0.partition)" }
        for messages in grouped.values {
            let last = messages.max { $0.offset < $1.offset }!
            next.append(TopicPartitionOffset(topic: last.topic, partition: last.partition, offset: last.offset + 1))
        }
        onLoaded?(next)
        do {
            try consumer.commit(next)
        } catch {
            logger.warning("offset commit failed; the batch will be re-read and deduplicated", metadata: ["error": "\(error)"])
        }
        for messages in grouped.values {
            let last = messages.max { $0.offset < $1.offset }!
            committedNext[PartitionGauges.PartitionID(topic: last.topic, partition: last.partition)] =
                (last.offset + 1, last.timestampMilliseconds)
        }
        oldestInHand = [:]
        health.committed(assignedPartitions: consumer.assignedPartitionCount(),
                         atMilliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        lagRefreshedAt = nil  // refresh right after the commit
    }

    /// Checks every message of a new batch against the offsets expected (``OffsetContinuity``):
    /// a gap is logged as an error naming the range, counted in `callfeed_load_offsets_lost_total`
    /// and reported by `/readyz`. Also notes each partition's oldest message in hand, for the lag.
    private func checkContinuity(_ batch: [KafkaMessage]) {
        for message in batch {
            let id = PartitionGauges.PartitionID(topic: message.topic, partition: message.partition)
            if oldestInHand[id] == nil, let timestamp = message.timestampMilliseconds { oldestInHand[id] = timestamp }
            let gap = continuity.check(message) {
                guard let offset = try? consumer.committed(topic: message.topic, partitions: [message.partition])[message.partition],
                      offset >= 0 else { return nil }
                return offset
            }
            guard let gap else { continue }
            logger.error("offsets lost: messages were gone before this loader read them; backfill their window from the vendor",
                         metadata: ["topic": "\(gap.topic)", "partition": "\(gap.partition)",
                                    "first_offset": "\(gap.first)", "last_offset": "\(gap.next - 1)",
                                    "messages": "\(gap.count)", "next_timestamp_ms": "\(message.timestampMilliseconds ?? -1)"])
            metrics.partitions.lost(gap)
            health.lost(gap)
        }
    }

    /// Sets the lag gauges of every assigned partition (at most once a second): messages = the
    /// high watermark librdkafka last saw minus the committed offset (or the position, before this
    /// loader committed anything there); seconds = now minus the timestamp of the oldest message
    /// not loaded: the batch in hand's first, else (not fetched yet) the last committed one's, an
    /// upper bound. Partitions no longer assigned are set to 0: their owner reports them.
    private func refreshLag() {
        if let last = lagRefreshedAt, ContinuousClock.now - last < .seconds(1) { return }
        lagRefreshedAt = .now
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let assignment = consumer.assignment()
        health.assigned(assignment.count)
        var owned = Set<PartitionGauges.PartitionID>()
        for (topic, partition, position) in assignment {
            let id = PartitionGauges.PartitionID(topic: topic, partition: partition)
            owned.insert(id)
            guard let high = consumer.cachedWatermarks(topic: topic, partition: partition)?.high,
                  let next = committedNext[id]?.offset ?? position else { continue }
            let lag = max(0, high - next)
            let oldest = oldestInHand[id] ?? committedNext[id]?.timestampMilliseconds
            let seconds: Double? = lag == 0 ? 0 : oldest.map { max(0, Double(now - $0) / 1000) }
            metrics.partitions.lag(id, messages: lag, seconds: seconds)
        }
        for id in metrics.partitions.known where !owned.contains(id) {
            metrics.partitions.lag(id, messages: 0, seconds: 0)
        }
    }
}
