import CallFeedCore
import CallFeedPoll
import CallFeedVendors
import Foundation
import HTTPClient
import Testing
import VendorSandbox
import Warehouse

/// LeadConduit's `GET /events` played by ``LeadConduitSandbox`` on a loopback socket, through the
/// in-process pipeline (mock cluster, loader, SQLite).
@Suite(.serialized) struct LeadConduitPollerTests {
    static func stream(_ sandbox: LeadConduitSandbox, apiKey: String? = nil, pageSize: Int = 10) -> LeadConduitEventStream {
        LeadConduitEventStream(name: "leadconduit-test", baseURL: sandbox.baseURL, apiKey: apiKey ?? sandbox.apiKey, pageSize: pageSize)
    }

    /// Found by the fuzzer: an event time past year 9999 is an odd record, not an entity the loader refuses.
    @Test func anImpossibleEventTimeIsRefusedByTheMapping() throws {
        let stream = LeadConduitEventStream(name: "t", apiKey: "k")
        let odd = #expect(throws: MappingError.self) {
            _ = try stream.object(from: .object(["id": .string("e1"), "end_timestamp": .int(9_223_372_036_854_775_807)]), account: nil)
        }
        #expect(odd?.reason.contains("not a time between 1970 and 9999") == true)
        let fine = try stream.object(from: .object(["id": .string("e2"), "end_timestamp": .int(1_715_711_400_512)]), account: nil)
        #expect(fine.sourceUpdatedAt == Timestamp(millisecondsSinceEpoch: 1_715_711_400_512))
    }

    @Test func pagesByAfterIDLandEachEventOnceAndTheOddOneIsDeadLettered() throws {
        // 45 events over the last 45 s; event 2 has no id.
        let sandbox = LeadConduitSandbox(events: LeadConduitSandbox.events(count: 45, oddIndex: 2))
        try sandbox.start()
        defer { sandbox.stop() }
        let h = try PollHarness(SandboxConfiguration())
        defer { h.stop() }
        let stats = try h.entityPoller(name: "leadconduit-test", streams: [Self.stream(sandbox)], accounts: { _ in [] }).sync()
        #expect(stats.pages == 5)
        #expect(stats.published == 44)
        #expect(stats.rejected == 1)
        let rows = try h.waitForEntities("leadconduit_events", count: 44)
        #expect(rows.count == 44)
        #expect(try h.pipeline.count(h.pipeline.topics.entities) == 44)
        // Every request asked oldest-first within the window; pages after the first continue after an id.
        let queries = sandbox.requestQueries
        #expect(queries.allSatisfy { $0["sort"] == "asc" && $0["limit"] == "10" && $0["start"] != nil && $0["end"] != nil })
        #expect(queries.dropFirst().allSatisfy { $0["after_id"] != nil })
        let letters = try h.deadLetters(expecting: 1)
        #expect(letters.first?.reason.contains("events: record has no id") == true)
    }

    @Test func anIncrementalRunReadsOnlyTheLookbackAndAKilledRunResumes() throws {
        let sandbox = LeadConduitSandbox(events: LeadConduitSandbox.events(count: 30, end: Timestamp.now().adding(seconds: -7200)))
        try sandbox.start()
        defer { sandbox.stop() }
        let h = try PollHarness(SandboxConfiguration())
        defer { h.stop() }
        let first = h.entityPoller(name: "leadconduit-test", streams: [Self.stream(sandbox)], accounts: { _ in [] })
        let counter = PageCounter(stopAfter: 1)
        first.isCancelled = { counter.tick() }
        #expect(throws: PollError.self) { try first.sync() }
        #expect(try h.waitForEntities("leadconduit_events", count: 10).count == 10)
        let resumed = try h.entityPoller(name: "leadconduit-test", streams: [Self.stream(sandbox)], accounts: { _ in [] }).sync()
        #expect(resumed.processed == 20)
        #expect(try h.waitForEntities("leadconduit_events", count: 30).count == 30)
        // Five new events; the old ones are two hours old, outside the 1 h lookback.
        sandbox.append(LeadConduitSandbox.events(count: 5).map { event in
            guard case .object(var m) = event, case .string(let id)? = m["id"] else { return event }
            m["id"] = .string(String(id.prefix(8)) + "ffff" + String(id.dropFirst(12)))
            return .object(m)
        })
        let third = try h.entityPoller(name: "leadconduit-test", streams: [Self.stream(sandbox)], accounts: { _ in [] }).sync()
        #expect(third.processed == 5)
        #expect(try h.waitForEntities("leadconduit_events", count: 35).count == 35)
        #expect(try h.pipeline.count(h.pipeline.topics.entities) == 35)
    }

    @Test func aThrottledRunWaitsAndAWrongKeyNamesTheSetting() throws {
        let sandbox = LeadConduitSandbox(events: LeadConduitSandbox.events(count: 25), throttleEvery: 2)
        try sandbox.start()
        defer { sandbox.stop() }
        let h = try PollHarness(SandboxConfiguration())
        defer { h.stop() }
        let stats = try h.entityPoller(name: "leadconduit-test", streams: [Self.stream(sandbox)], accounts: { _ in [] }).sync()
        #expect(stats.published == 25)
        // Every second request was a 429: each page was asked twice.
        #expect(sandbox.requestQueries.count == 2 * stats.pages - 1 || sandbox.requestQueries.count == 2 * stats.pages)
        let refused = #expect(throws: PollError.self) {
            try h.entityPoller(name: "leadconduit-wrong", streams: [Self.stream(sandbox, apiKey: "wrong")], accounts: { _ in [] }).sync()
        }
        #expect(refused?.kind == .credentials)
        #expect(refused?.reason.contains("sources.leadconduit[leadconduit-test].poll.api_key") == true)
    }
}
