import CallFeedApp
import CallFeedCore
import CallFeedIngest
import CallFeedReplay
import CallFeedTestSupport
import Foundation
import HTTPClient
import Kafka
import Logging
import Prometheus
import Testing
@_spi(Testing) import Warehouse

/// `callfeed replay raw` and `callfeed replay dlq` through the real pipeline (webhook server, Kafka
/// on both test brokers, loader, SQLite): a mapping bug fixed by a replay, a second replay that changes nothing, a
/// newer vendor state a replay must not overwrite, and a poison record that cannot loop.
@Suite(.serialized) struct ReplayTests {
    static let logger = Logger(label: "replay-test")

    /// What an older, faulty mapping made of a payload: the caller's number lost its country code.
    static func faulty(_ content: CallContent) -> CallContent {
        var c = content
        c.callerNumber = c.callerNumber.map { String($0.dropFirst(2)) }
        return c
    }

    /// Publishes `body` the way ingest did with the faulty mapping: raw record and CallEvent.
    static func publishAsBefore(_ pipeline: Pipeline, body: [UInt8], route path: String, receivedAt: Timestamp,
                                mapping: (CallContent) -> CallContent = faulty) throws -> CallEvent {
        let route = Builders.makeRoutes(pipeline.config).first { $0.path == path }!
        let source = route.configuredSources[0]
        let content = mapping(try route.content(from: JSONValue.parse(body), source: source))
        let event = CallEvent(content: content, channel: .webhook, receivedAt: receivedAt)
        let publisher = EventPublisher(producer: pipeline.producer, topics: pipeline.topics)
        let done = DispatchSemaphore(value: 0)
        let outcome = LockedBox<Result<Void, KafkaError>?>(nil)
        publisher.publishAccepted(raw: body, event: event, route: path, sourceName: source.name) { result in
            outcome.set(result)
            done.signal()
        }
        done.wait()
        try outcome.get()!.get()
        return event
    }

    static func replayConsumer(_ pipeline: Pipeline, group: String) throws -> KafkaConsumer {
        var properties = pipeline.readerProperties
        properties["enable.partition.eof"] = "true"
        return try KafkaConsumer(groupID: group, properties: properties)
    }

    /// The end offset of each partition of the calls topic now. The mock's watermarks are right;
    /// tansu's are not (docs/reliability.md, tansu item 3), so there the messages are read instead.
    static func callsEnd(_ pipeline: Pipeline) throws -> [Int32: Int64] {
        switch pipeline.kafka.broker {
        case .mock:
            let consumer = try KafkaConsumer(groupID: "end-\(UUID().uuidString)", properties: pipeline.readerProperties)
            defer { consumer.close() }
            return try consumer.endOffsets(topic: pipeline.topics.calls, partitions: Pipeline.partitions)
        case .tansu:
            var end: [Int32: Int64] = [:]
            for m in try pipeline.readUntilQuiet(pipeline.topics.calls) { end[m.partition] = max(end[m.partition] ?? 0, m.offset + 1) }
            return end
        }
    }

    /// Waits until the loader committed every message the calls topic holds now.
    static func loaderCaughtUp(_ pipeline: Pipeline) throws -> Bool {
        let end = try callsEnd(pipeline)
        return try pipeline.wait(timeout: .seconds(60)) {
            let consumer = try KafkaConsumer(groupID: pipeline.config.load.groupID, properties: pipeline.readerProperties)
            defer { consumer.close() }
            let committed = try consumer.committed(topic: pipeline.topics.calls, partitions: Pipeline.partitions)
            return Pipeline.partitions.allSatisfy { p in (end[p] ?? 0) == 0 || committed[p] == end[p] }
        }
    }

    static func revisionCount(_ pipeline: Pipeline) throws -> Int {
        try pipeline.reader._query("SELECT count(*) AS n FROM call_revisions").first.map { row -> Int in
            if case .integer(let n)? = row["n"] { return Int(n) }
            return -1
        } ?? -1
    }

    @Test(arguments: TestBroker.underTest) func aFixedMappingIsReplayedAndASecondReplayChangesNothing(broker: TestBroker) throws {
        let pipeline = try Pipeline(broker: broker)
        defer { pipeline.stop() }
        let hourAgo = Timestamp.now().adding(seconds: -3_600)
        var faultyEvents: [CallEvent] = []
        for n in 0..<20 {
            faultyEvents.append(try Self.publishAsBefore(pipeline, body: try Payloads.ctm(n), route: "/webhooks/ctm",
                                                         receivedAt: hourAgo.adding(seconds: Int64(n))))
        }
        // A CallKeeper call (no vendor update time) accepted an hour ago by the faulty mapping, and
        // again just now with a new recording: the replay of the older window must leave it alone.
        let newerURL = "https://recordings.example/newer.mp3"
        let ckOld = try Self.publishAsBefore(pipeline, body: try Payloads.callKeeper(7), route: "/webhooks/callkeeper", receivedAt: hourAgo)
        #expect(try pipeline.postCallKeeper(try Payloads.callKeeper(7, recording: newerURL)).status == 202)
        // A call outside the window, faulty too: not selected.
        let outside = try Self.publishAsBefore(pipeline, body: try Payloads.ctm(500), route: "/webhooks/ctm",
                                               receivedAt: hourAgo.adding(seconds: -7_200))

        #expect(try pipeline.wait { try pipeline.rows().count == 22 })
        let before = try pipeline.rows()
        for e in faultyEvents { #expect(before[e.eventID]?["caller_number"] == .text(e.content.callerNumber!)) }
        #expect(before[ckOld.eventID]?["recording_url"] == .text(newerURL))

        let selection = RawSelection(since: hourAgo.adding(seconds: -60), until: Timestamp.now().adding(seconds: -1_800))
        let renormaliser = Builders.makeRenormaliser(pipeline.config)

        // A dry run lists what would change and publishes nothing.
        let callsBefore = try pipeline.count(pipeline.topics.calls)
        let dry = RawReplay(consumer: try Self.replayConsumer(pipeline, group: "replay-dry"), producer: nil, topics: pipeline.topics,
                            renormaliser: renormaliser, logger: Self.logger)
        var listed: [String] = []
        var replacing: [String: (revision: String, event: CallEvent)] = [:]
        let drySummary = try dry.run(selection, outcome: { outcome in
            if case .republished(let r, let e) = outcome {
                listed.append(e.eventID)
                replacing[e.eventID] = (r.revision ?? "", e)
            }
        })
        #expect(drySummary.republished == 20 && drySummary.superseded == 1 && drySummary.failed == 0 && drySummary.selected == 21)
        #expect(Set(listed) == Set(faultyEvents.map(\.eventID)))
        // …and which fields: the faulty mapping lost the caller's country code, and nothing else differs.
        let diff = try dry.fieldDiff(replacing: replacing, since: selection.since)
        #expect(diff.counts == ["caller_number": 20])
        #expect(diff.notFound.isEmpty)
        #expect(diff.description == "fields that would change: caller_number 20")
        #expect(try pipeline.count(pipeline.topics.calls) == callsBefore)

        let replay = RawReplay(consumer: try Self.replayConsumer(pipeline, group: "replay-1"), producer: pipeline.producer,
                               topics: pipeline.topics, renormaliser: renormaliser, logger: Self.logger)
        let summary = try replay.run(selection)
        #expect(summary.read >= 22 && summary.selected == 21 && summary.calls == 21)
        #expect(summary.republished == 20 && summary.superseded == 1 && summary.unchanged == 0 && summary.failed == 0)
        #expect(try pipeline.count(pipeline.topics.calls) == callsBefore + 20)

        #expect(try Self.loaderCaughtUp(pipeline))
        let fixed = try pipeline.rows()
        for e in faultyEvents {
            let expected = try Self.publishAsBeforeContent(pipeline, n: e)
            #expect(fixed[e.eventID]?["caller_number"] == .text(expected))
            #expect(fixed[e.eventID]?["channel"] == .text("replay"))
        }
        #expect(fixed[ckOld.eventID]?["recording_url"] == .text(newerURL), "a replay put an older state over a newer one")
        #expect(fixed[ckOld.eventID]?["channel"] == .text("webhook"))
        #expect(fixed[outside.eventID] == before[outside.eventID], "a call outside the window was touched")
        let revisions = try Self.revisionCount(pipeline)
        #expect(revisions == 20 + 20 + 2 + 1)

        // The same replay again: republished (the raw records still name the faulty revision), but
        // every warehouse row and revision stays as it is.
        let again = RawReplay(consumer: try Self.replayConsumer(pipeline, group: "replay-2"), producer: pipeline.producer,
                              topics: pipeline.topics, renormaliser: renormaliser, logger: Self.logger)
        let second = try again.run(selection)
        #expect(second.republished == 20 && second.failed == 0)
        #expect(try pipeline.count(pipeline.topics.calls) == callsBefore + 40)
        #expect(try Self.loaderCaughtUp(pipeline))
        #expect(try pipeline.rows() == fixed)
        #expect(try Self.revisionCount(pipeline) == revisions)

        // Freshness is counted per source and channel: 40 replayed CTM events, 21 by webhook.
        let metrics = String(decoding: pipeline.registry.emitToBuffer(), as: UTF8.self)
        #expect(metrics.contains(#"callfeed_load_freshness_seconds_count{source="ctm",channel="replay"} 40"#))
        #expect(metrics.contains(#"callfeed_load_freshness_seconds_count{source="ctm",channel="webhook"} 21"#))
        #expect(metrics.contains(#"callfeed_call_delay_seconds_count{source="ctm",channel="webhook"}"#))
    }

    /// The caller number the current mapping gives for the call of `event`.
    static func publishAsBeforeContent(_ pipeline: Pipeline, n event: CallEvent) throws -> String {
        let route = Builders.makeRoutes(pipeline.config).first { $0.path == "/webhooks/ctm" }!
        let id = Int(event.content.sourceCallID)! - 91_000_000
        return try route.content(from: JSONValue.parse(try Payloads.ctm(id)), source: route.configuredSources[0]).callerNumber!
    }

    @Test(arguments: TestBroker.underTest) func deadLettersAreRedrivenAndAPoisonRecordCannotLoop(broker: TestBroker) throws {
        let pipeline = try Pipeline(broker: broker)
        defer { pipeline.stop() }
        let publisher = EventPublisher(producer: pipeline.producer, topics: pipeline.topics)
        let tenMinutesAgo = Timestamp.now().adding(seconds: -600)
        // 1. A body an older mapping refused, which maps now.
        let done = DispatchSemaphore(value: 0)
        publisher.publishDeadLetter(raw: try Payloads.ctm(42), reason: "unparseable start time (old mapping)", source: "ctm",
                                    route: "/webhooks/ctm", sourceName: "ctm", receivedAt: tenMinutesAgo) { _ in done.signal() }
        done.wait()
        // 2. A malformed body, refused by the receiver itself.
        #expect(try pipeline.postCTM(Array(#"{"id": 91000001, "direction": "#.utf8)).status == 400)
        // 3. A message on the calls topic that is no CallEvent: the loader dead-letters it.
        _ = try pipeline.producer.sendBlocking(topic: pipeline.topics.calls, key: Array("poison".utf8), value: Array(#"{"not":"an event"}"#.utf8))
        #expect(try pipeline.wait { try pipeline.count(pipeline.topics.deadLetters) == 3 })

        let renormaliser = Builders.makeRenormaliser(pipeline.config)
        func redrive(dryRun: Bool = false, fromStart: Bool = false) throws -> (RedriveSummary, [RedriveOutcome]) {
            let r = DeadLetterRedrive(consumer: try Self.replayConsumer(pipeline, group: dryRun ? "redrive-dry" : "redrive"),
                                      producer: dryRun ? nil : pipeline.producer, topics: pipeline.topics,
                                      renormaliser: renormaliser, logger: Self.logger)
            var outcomes: [RedriveOutcome] = []
            let summary = try r.run(DeadLetterSelection(), fromStart: fromStart, outcome: { outcomes.append($0) })
            return (summary, outcomes)
        }

        let (dry, _) = try redrive(dryRun: true)
        #expect(dry.selected == 3 && dry.redriven == 2 && dry.failedAgain == 1)
        #expect(try pipeline.count(pipeline.topics.deadLetters) == 3)

        let (first, _) = try redrive()
        #expect(first.selected == 3 && first.redriven == 2 && first.failedAgain == 1 && first.exhausted == 0)
        let redrivenID = EventIdentity.eventID(source: "ctm", accountID: "12345", callID: "91000042")
        #expect(try pipeline.wait { try pipeline.rows()[redrivenID] != nil })
        #expect(try pipeline.rows()[redrivenID]?["channel"] == .text("replay"))
        // The redriven call is on the raw topic now, for later replays.
        #expect(try pipeline.readUntilQuiet(pipeline.topics.raw).contains { $0.header(RecordHeader.eventID) == redrivenID })
        // The malformed body (by the redrive) and the poison message (by the loader) are back, attempt 2.
        #expect(try pipeline.wait { try pipeline.count(pipeline.topics.deadLetters) == 5 })

        let (second, outcomes) = try redrive()
        #expect(second.read == 2 && second.redriven == 1 && second.failedAgain == 1)
        #expect(outcomes.allSatisfy { outcome in
            switch outcome {
            case .redriven(let r, _), .failedAgain(let r, _): r.attempt == 2
            default: false
            }
        })
        #expect(try pipeline.wait { try pipeline.count(pipeline.topics.deadLetters) == 7 })

        // At attempt 3 (the default max) nothing is retried: the loop ends.
        let (third, _) = try redrive()
        #expect(third.read == 2 && third.exhausted == 2 && third.redriven == 0 && third.failedAgain == 0)
        Thread.sleep(forTimeInterval: 1)
        #expect(try pipeline.count(pipeline.topics.deadLetters) == 7)
        let (fourth, _) = try redrive()
        #expect(fourth.read == 0)
    }
}

/// A value set on one thread and read on another.
final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func set(_ v: Value) { lock.lock(); value = v; lock.unlock() }
    func get() -> Value { lock.lock(); defer { lock.unlock() }; return value }
}
