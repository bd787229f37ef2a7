import CallFeedApp
import CallFeedCore
import CallFeedLoad
import CallFeedTestSupport
import Foundation
import HTTPClient
import Kafka
import Prometheus
import Synchronization
import Testing
@_spi(Testing) import Warehouse

/// Load shedding (`ingest.max_outstanding_events`): while Kafka does not acknowledge, webhooks beyond
/// the bound are answered 503 + Retry-After at once, nothing of theirs is published, the producer's
/// queue stays at the bound, and every 202 is durable once Kafka is back.
@Suite(.serialized) struct LoadSheddingTests {
    @Test func beyondTheBoundWebhooksAre503AtOnceAndEvery202IsDurable() throws {
        let bound = 20  // messages: 10 webhooks (raw + CallEvent each)
        let pipeline = try Pipeline(deliveryTimeoutMs: 60_000, maxOutstandingEvents: bound)
        defer { pipeline.stop() }
        #expect(try pipeline.postCallKeeper(try Payloads.callKeeper(0)).status == 202)
        #expect(try pipeline.wait { try pipeline.rows().count == 1 })

        pipeline.kafka.takeDown()
        struct Answer: Sendable { var n: Int; var status: Int; var retryAfter: String?; var seconds: Double }
        let answers = Mutex<[Answer]>([])
        let peak = Mutex(0)
        let done = DispatchGroup()
        for n in 1...60 {
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                let started = ContinuousClock.now
                let response = try? pipeline.postCallKeeper(try Payloads.callKeeper(n))
                let elapsed = ContinuousClock.now - started
                answers.withLock {
                    $0.append(Answer(n: n, status: response?.status ?? -1, retryAfter: response?.headers["retry-after"],
                                     seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
                }
            }
        }
        // Watch the queue while the brokers are down and the requests arrive.
        let watchUntil = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < watchUntil {
            let now = pipeline.producer.outstandingMessages
            peak.withLock { $0 = max($0, now) }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let shedSoFar = answers.withLock { $0.filter { $0.status == 503 } }
        let ready = try HTTPClient().request("GET", pipeline.baseURL + "/readyz")
        try pipeline.kafka.bringUp()
        done.wait()

        let all = answers.withLock { $0 }
        let accepted = all.filter { $0.status == 202 }
        let shed = all.filter { $0.status == 503 }
        #expect(all.count == 60)
        #expect(accepted.count + shed.count == 60, "every request got 202 or 503: \(all.map(\.status))")
        #expect(accepted.count <= bound / 2 + 1 && accepted.count >= 1)
        // The shed ones were answered while the brokers were still down, with Retry-After.
        #expect(shedSoFar.count == shed.count && shed.count >= 60 - bound / 2 - 1)
        #expect(shed.allSatisfy { $0.retryAfter == "5" && $0.seconds < 3 })
        #expect(ready.status == 503)
        // The queue never grew past the bound (one webhook's two messages of slack).
        #expect(peak.withLock { $0 } <= bound + 2)

        // Every 202 is in the warehouse once; nothing of a 503 was published.
        let acceptedIDs = Set(accepted.map { EventIdentity.eventID(source: "callkeeper", accountID: "acct-ck", callID: String(20_000_000 + $0.n)) })
        #expect(try pipeline.wait(timeout: .seconds(30)) { try pipeline.rows().count == 1 + accepted.count })
        let rows = try pipeline.rows()
        #expect(acceptedIDs.isSubset(of: Set(rows.keys)))
        #expect(try pipeline.count(pipeline.topics.calls) == Int64(1 + accepted.count))
        #expect(try pipeline.count(pipeline.topics.raw) == Int64(1 + accepted.count))
        let metrics = String(decoding: pipeline.registry.emitToBuffer(), as: UTF8.self)
        #expect(metrics.contains(#"callfeed_ingest_shed_total{route="/webhooks/callkeeper"} \#(shed.count)"#))
    }
}

/// `callfeed-load`'s readiness follows the warehouse: 503 `warehouse_unavailable` while a write is
/// being retried, ready again once one succeeds.
@Suite(.serialized) struct LoaderReadinessTests {
    @Test func aLockedWarehouseMakesTheLoaderUnreadyUntilAWriteSucceeds() throws {
        let pipeline = try Pipeline()
        defer { pipeline.stop() }
        #expect(try pipeline.postCallKeeper(try Payloads.callKeeper(1)).status == 202)
        #expect(try pipeline.wait { try pipeline.rows().count == 1 })
        #expect(pipeline.loader.health.readiness().ready)

        // Hold SQLite's write lock: every write waits out the sink's busy timeout and is retried.
        let locker = try SQLiteSink(path: pipeline.config.load.sqlitePath)
        defer { locker.close() }
        try locker._execute("BEGIN IMMEDIATE")
        #expect(try pipeline.postCallKeeper(try Payloads.callKeeper(2)).status == 202)
        #expect(pipeline.wait(timeout: .seconds(30)) { !pipeline.loader.health.readiness().ready })
        let unready = pipeline.loader.health.readiness()
        #expect(unready.body.contains(#""status":"warehouse_unavailable""#))
        #expect(unready.body.contains(#""warehouse_error":"#))
        try locker._execute("ROLLBACK")

        #expect(try pipeline.wait(timeout: .seconds(30)) { try pipeline.rows().count == 2 })
        #expect(pipeline.wait { pipeline.loader.health.readiness().ready })
        #expect(pipeline.loader.health.readiness().body.contains(#""status":"ok""#))
    }
}
