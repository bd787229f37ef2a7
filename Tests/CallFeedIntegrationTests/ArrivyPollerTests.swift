import CallFeedCore
import CallFeedPoll
import Foundation
import HTTPClient
import Testing
import VendorSandbox
import Warehouse

/// Arrivy's REST lists played by ``ArrivySandbox`` on a loopback socket, through the in-process
/// pipeline (mock cluster, loader, SQLite).
@Suite(.serialized) struct ArrivyPollerTests {
    static func streams(_ sandbox: ArrivySandbox, key: String? = nil, pageSize: Int? = 10, pastDays: Int = 30, futureDays: Int = 90,
                        kinds: [ArrivyStream.Kind] = ArrivyStream.Kind.allCases) -> [any EntityStream] {
        kinds.map {
            ArrivyStream(name: "arrivy-test", kind: $0, baseURL: sandbox.baseURL, authKey: key ?? sandbox.authKey, authToken: sandbox.authToken,
                         pageSize: pageSize, pastDays: pastDays, futureDays: futureDays)
        }
    }

    @Test func theWindowAndTheUnscheduledTasksLandAndTheOddTaskIsDeadLettered() throws {
        // 60 tasks every 12 h from 19¾ days ago (so to ~10 days ahead); every 6th unscheduled; task 50 (5¼ days ahead) has no id.
        // A 5-day past window keeps the scheduled tasks from 5 days ago on, and every unscheduled one.
        let now = Timestamp.now()
        let tasks = ArrivySandbox.tasks(count: 60, first: now.adding(seconds: -20 * 86_400 + 6 * 3600), unscheduledEvery: 6, oddIndex: 50)
        let expectedWindow = tasks.filter { task in
            guard let start = (task["start_datetime"]?.text).flatMap({ Timestamp.parseISO8601($0) }) else { return false }
            return start.secondsSinceEpoch >= now.secondsSinceEpoch - 5 * 86_400
        }
        let unscheduled = tasks.filter { $0["unscheduled"]?.boolean == true }
        let sandbox = ArrivySandbox(tasks: tasks)
        try sandbox.start()
        defer { sandbox.stop() }
        let h = try PollHarness(SandboxConfiguration())
        defer { h.stop() }
        let stats = try h.entityPoller(name: "arrivy-test", streams: Self.streams(sandbox, pastDays: 5), accounts: { _ in [] }).sync()
        let taskCount = expectedWindow.count + unscheduled.count
        #expect(stats.published == taskCount - 1 + 4 + 3)
        #expect(stats.rejected == 1)
        #expect(try h.waitForEntities("arrivy_tasks", count: taskCount - 1).count == taskCount - 1)
        #expect(try h.waitForEntities("arrivy_entities", count: 4).count == 4)
        #expect(try h.waitForEntities("arrivy_groups", count: 3).count == 3)
        let taskRequests = sandbox.requestLog.filter { $0.path == "/api/tasks" }
        // The window's pages carry from/to (a `+` that survived encoding) and no unscheduled flag; then the unscheduled pass.
        let windowPages = taskRequests.filter { $0.query["unscheduled"] == nil }
        #expect(windowPages.count == expectedWindow.count / 10 + 1)
        #expect(windowPages.allSatisfy { $0.query["from"]?.hasSuffix("+00:00") == true && $0.query["to"] != nil && $0.query["items_per_page"] == "10" })
        #expect(taskRequests.filter { $0.query["unscheduled"] == "true" }.count == unscheduled.count / 10 + 1)
        #expect(sandbox.requestLog.filter { $0.path == "/api/entities" }.count == 1)
        let letters = try h.deadLetters(expecting: 1)
        #expect(letters.first?.reason.contains("tasks: record has no id") == true)
        // A second run re-reads the window (tasks have no modified-since filter) and changes nothing.
        let again = try h.entityPoller(name: "arrivy-test", streams: Self.streams(sandbox, pastDays: 5), accounts: { _ in [] }).sync()
        #expect(again.processed == stats.processed)
        Thread.sleep(forTimeInterval: 1)
        #expect(try h.entityRows("arrivy_tasks").count == taskCount - 1)
    }

    @Test func throttlingIsWaitedOutAndAWrongKeyNamesBothSettings() throws {
        let sandbox = ArrivySandbox(tasks: ArrivySandbox.tasks(count: 25, first: Timestamp.now().adding(seconds: -86_400)), throttleEvery: 2)
        try sandbox.start()
        defer { sandbox.stop() }
        let h = try PollHarness(SandboxConfiguration())
        defer { h.stop() }
        let stats = try h.entityPoller(name: "arrivy-test", streams: Self.streams(sandbox, kinds: [.tasks]), accounts: { _ in [] }).sync()
        #expect(stats.published == 25)
        #expect(sandbox.requestLog.count >= 2 * stats.pages - 1)
        let refused = #expect(throws: PollError.self) {
            try h.entityPoller(name: "arrivy-wrong", streams: Self.streams(sandbox, key: "wrong", kinds: [.groups]), accounts: { _ in [] }).sync()
        }
        #expect(refused?.kind == .credentials)
        #expect(refused?.reason.contains("sources.arrivy[arrivy-test].poll.auth_key and auth_token") == true)
    }
}
