import CallFeedCore
import CallFeedPoll
import Foundation
import HTTPClient
import Testing
import VendorSandbox
import Warehouse

/// SalesRabbit's REST lists played by ``SalesRabbitSandbox`` on a loopback socket, through the
/// in-process pipeline (mock cluster, loader, SQLite).
@Suite(.serialized) struct SalesRabbitPollerTests {
    static func streams(_ sandbox: SalesRabbitSandbox, token: String? = nil, pageSize: Int = 10,
                        kinds: [SalesRabbitStream.Kind] = SalesRabbitStream.Kind.allCases) -> [any EntityStream] {
        kinds.map { SalesRabbitStream(name: "salesrabbit-test", kind: $0, baseURL: sandbox.baseURL, apiToken: token ?? sandbox.apiToken, pageSize: pageSize) }
    }

    static func status(_ row: [String: WarehouseValue]?) -> String? {
        guard case .text(let json)? = row?["data"], let data = try? JSONValue.parse(Array(json.utf8)) else { return nil }
        return data["status"]?.text
    }

    @Test func everyListLandsAndTheOddLeadIsDeadLettered() throws {
        // 25 leads over the last 25 hours; lead 4 has no id.
        let sandbox = SalesRabbitSandbox(leads: SalesRabbitSandbox.leads(count: 25, oddIndex: 4))
        try sandbox.start()
        defer { sandbox.stop() }
        let h = try PollHarness(SandboxConfiguration())
        defer { h.stop() }
        let stats = try h.entityPoller(name: "salesrabbit-test", streams: Self.streams(sandbox), accounts: { _ in [] }).sync()
        #expect(stats.published == 24 + 5 + 5)
        #expect(stats.rejected == 1)
        #expect(try h.waitForEntities("salesrabbit_leads", count: 24).count == 24)
        #expect(try h.waitForEntities("salesrabbit_users", count: 5).count == 5)
        #expect(try h.waitForEntities("salesrabbit_lead_statuses", count: 5).count == 5)
        // Leads: three pages in creation order, each filtered by If-Modified-Since.
        let leadRequests = sandbox.requestLog.filter { $0.path == "/leads" }
        #expect(leadRequests.map { $0.query["page"] } == ["1", "2", "3"])
        #expect(leadRequests.allSatisfy { $0.query["sortBy"] == "dateCreated" && $0.query["order"] == "asc" && $0.query["perPage"] == "10" })
        #expect(leadRequests.allSatisfy { $0.ifModifiedSince?.hasSuffix("+00:00") == true })
        let letters = try h.deadLetters(expecting: 1)
        #expect(letters.first?.reason.contains("leads: record has no id") == true)
    }

    @Test func aLeadChangedWhileTheRunPagesIsNeitherSkippedNorStale() throws {
        // The oldest lead changes just before page 2 is served: in creation order it stays on page 1,
        // so no other lead moves; the next run (If-Modified-Since) brings its new status.
        let sandbox = SalesRabbitSandbox(leads: SalesRabbitSandbox.leads(count: 30, end: Timestamp.now().adding(seconds: -3 * 3600)), touchOnPage: 2)
        try sandbox.start()
        defer { sandbox.stop() }
        let h = try PollHarness(SandboxConfiguration())
        defer { h.stop() }
        let first = try h.entityPoller(name: "salesrabbit-test", streams: Self.streams(sandbox, kinds: [.leads]), accounts: { _ in [] }).sync()
        #expect(first.published == 30)
        let rows = try h.waitForEntities("salesrabbit_leads", count: 30)
        #expect(rows.count == 30)
        #expect(Self.status(rows["13688"]) == "New")
        // Second run: only what changed since the first run's end minus the 1 h lookback — the touched lead.
        let second = try h.entityPoller(name: "salesrabbit-test", streams: Self.streams(sandbox, kinds: [.leads]), accounts: { _ in [] }).sync()
        #expect(second.processed == 1)
        h.pipeline.wait(timeout: .seconds(30)) { Self.status((try? h.entityRows("salesrabbit_leads"))?["13688"]) == "Sold" }
        #expect(Self.status(try h.entityRows("salesrabbit_leads")["13688"]) == "Sold")
        #expect(try h.entityRows("salesrabbit_leads").count == 30)
    }

    @Test func usersIgnoringPageEndTheRunThrottlingIsWaitedOutAndAWrongTokenNamesTheSetting() throws {
        let sandbox = SalesRabbitSandbox(leads: SalesRabbitSandbox.leads(count: 12), users: SalesRabbitSandbox.users(count: 12),
                                         throttleEvery: 3, usersIgnorePage: true)
        try sandbox.start()
        defer { sandbox.stop() }
        let h = try PollHarness(SandboxConfiguration())
        defer { h.stop() }
        let stats = try h.entityPoller(name: "salesrabbit-test", streams: Self.streams(sandbox, pageSize: 20, kinds: [.leads, .users]),
                                       accounts: { _ in [] }).sync()
        // `/users` answered all 12 users with morePages on every page: page 2 repeats page 1 and ends the list.
        #expect(stats.published == 12 + 12)
        #expect(try h.waitForEntities("salesrabbit_users", count: 12).count == 12)
        let userPages = sandbox.requestLog.filter { $0.path == "/users" }.map { $0.query["page"] ?? "" }
        #expect(Set(userPages) == ["1", "2"])
        #expect(sandbox.requestLog.count > 3)  // the 429s were retried
        let refused = #expect(throws: PollError.self) {
            try h.entityPoller(name: "salesrabbit-wrong", streams: Self.streams(sandbox, token: "wrong", kinds: [.users]), accounts: { _ in [] }).sync()
        }
        #expect(refused?.kind == .credentials)
        #expect(refused?.reason.contains("sources.salesrabbit[salesrabbit-test].poll.api_key") == true)
    }
}
