import CallFeedCore
import Foundation
@_spi(Testing) import Warehouse

/// A database file in its own temporary directory, removed (with its -wal and -shm files) on deinit.
final class TemporaryDatabase {
    let directory: URL
    let path: String

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("warehouse-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("calls.sqlite").path
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// A path under this database's directory.
    func path(inside relativePath: String) -> String {
        directory.appendingPathComponent(relativePath).path
    }

    /// A prepared sink on this file.
    func openSink(busyTimeout: Duration = .seconds(5)) throws -> SQLiteSink {
        let sink = try SQLiteSink(path: path, busyTimeout: busyTimeout)
        try sink.prepare()
        return sink
    }
}

/// Builds test events.
enum Fixtures {
    /// 2024-05-01 at the given UTC time.
    static func may1(_ hour: Int, _ minute: Int = 0, _ second: Int = 0, millisecond: Int = 0) -> Timestamp {
        Timestamp(year: 2024, month: 5, day: 1, hour: hour, minute: minute, second: second, millisecond: millisecond)!
    }

    /// A small event. Different `duration` or `status` give a different revision of the same call.
    static func event(callID: String = "call-1", status: CallContent.Status = .answered, duration: Int64? = 60,
                      sourceUpdatedAt: Timestamp? = nil, channel: CallEvent.Channel = .webhook,
                      receivedAt: Timestamp) -> CallEvent {
        var content = CallContent(source: "ctm", sourceAccountID: "acct-1", sourceCallID: callID,
                                  direction: .inbound, status: status)
        content.startedAt = may1(9)
        content.durationSeconds = duration
        content.sourceUpdatedAt = sourceUpdatedAt
        return CallEvent(content: content, channel: channel, receivedAt: receivedAt)
    }

    /// An event with every field of CallContent set.
    static func richEvent() -> CallEvent {
        var content = CallContent(source: "ctm", sourceAccountID: "acct-9", sourceCallID: "CA123",
                                  direction: .inbound, status: .answered)
        content.startedAt = may1(10)
        content.endedAt = may1(10, 2, 5, millisecond: 250)
        content.durationSeconds = 125
        content.talkSeconds = 110
        content.ringSeconds = 15
        content.callerNumber = "+15551230000"
        content.dialedNumber = "+15559870000"
        content.destinationNumber = "+15550001111"
        content.callerName = "Jane \"JJ\" Doe"
        content.agent = CallContent.Agent(id: "a-7", name: "Sam Agent", email: "sam@example.com")
        content.tracking.campaignID = "cmp-1"
        content.tracking.campaignName = "Spring Sale"
        content.tracking.source = "google"
        content.tracking.medium = "cpc"
        content.tracking.campaign = "spring"
        content.tracking.content = "ad-a"
        content.tracking.term = "plumber"
        content.tracking.referrer = "https://www.google.com/"
        content.tracking.landingPage = "https://example.com/landing?x=1"
        content.tracking.gclid = "gclid-xyz"
        content.tracking.gaClientID = "123.456"
        content.location = CallContent.Location(city: "Zürich", region: "ZH", country: "CH")
        content.recordingURL = "https://rec.example/1.mp3"
        content.tags = ["new", "vip, gold", "quote\"d"]
        content.firstCall = true
        content.sourceUpdatedAt = may1(10, 5)
        return CallEvent(content: content, channel: .poll, receivedAt: may1(10, 5, 1, millisecond: 500))
    }
}

extension SQLiteSink {
    /// Every column of the `calls` row of `eventID`, or `nil` if there is none.
    func callRow(_ eventID: String) throws -> [String: WarehouseValue]? {
        try _query("SELECT * FROM calls WHERE event_id = '\(eventID)'").first
    }

    /// `(revision, loaded_at)` of every audit row of `eventID`, ordered by revision.
    func revisionRows(_ eventID: String) throws -> [[String: WarehouseValue]] {
        try _query("SELECT * FROM call_revisions WHERE event_id = '\(eventID)' ORDER BY revision")
    }
}
