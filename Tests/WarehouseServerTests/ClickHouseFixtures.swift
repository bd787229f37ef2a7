import CallFeedCore
import CallFeedTestSupport
import Foundation
import Testing
@_spi(Testing) import Warehouse
@_spi(Testing) import WarehouseClickHouse

/// A database of its own on the test ClickHouse server (scripts/services/clickhouse.sh), so tests
/// run side by side without seeing each other's tables. Call ``drop()`` when done (`defer`).
final class TemporaryClickHouseDatabase {
    let url: String
    let database: String
    private var sinks: [ClickHouseSink] = []

    init() throws {
        url = try #require(TestServers.clickhouse, "CALLFEED_TEST_CLICKHOUSE is not set (scripts/test.sh starts ClickHouse)")
        database = "callfeed_t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
    }

    var configuration: ClickHouseConfiguration { ClickHouseConfiguration(url: url, database: database, timeoutSeconds: 30) }

    /// A sink on this database; prepared unless told otherwise.
    func openSink(prepare: Bool = true) throws -> ClickHouseSink {
        let sink = try ClickHouseSink(configuration: configuration)
        if prepare { try sink.prepare() }
        sinks.append(sink)
        return sink
    }

    /// Closes the sinks this database opened and drops the database with its tables.
    func drop() {
        if let admin = try? ClickHouseSink(configuration: configuration) {
            try? admin._execute("DROP DATABASE IF EXISTS `\(database)`", inDatabase: false)
            admin.close()
        }
        sinks.forEach { $0.close() }
    }
}

/// Builds test events (the WarehouseTests fixtures' shape, plus an event full of awkward text).
enum ClickHouseEvents {
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

    /// Every field set, with text that breaks naive escaping: quotes of both kinds, backslashes,
    /// newlines, tabs, a control character, non-ASCII and an emoji, in fields and in tags.
    static func richEvent() -> CallEvent {
        var content = CallContent(source: "ctm", sourceAccountID: "acct-9", sourceCallID: "CA'123\\x",
                                  direction: .inbound, status: .answered)
        content.startedAt = may1(10)
        content.endedAt = may1(10, 2, 5, millisecond: 250)
        content.durationSeconds = 125
        content.talkSeconds = 110
        content.ringSeconds = 15
        content.callerNumber = "+15551230000"
        content.dialedNumber = "+15559870000"
        content.destinationNumber = "+15550001111"
        content.callerName = "Jane \"JJ\" O'Doe\\Smith"
        content.agent = CallContent.Agent(id: "a-7", name: "Sam\tAgent\nSecond line\r\n", email: "sam@example.com")
        content.tracking.campaignID = "cmp-1"
        content.tracking.campaignName = "Spring Sale \u{1} ✓"
        content.tracking.source = "google"
        content.tracking.medium = "cpc"
        content.tracking.campaign = "spring"
        content.tracking.content = "ad-a"
        content.tracking.term = "plumber's \"best\" \\ 🔧"
        content.tracking.referrer = "https://www.google.com/"
        content.tracking.landingPage = "https://example.com/landing?x=1&y='2'"
        content.tracking.gclid = "gclid-xyz"
        content.tracking.gaClientID = "123.456"
        content.location = CallContent.Location(city: "Zürich", region: "ZH", country: "CH")
        content.recordingURL = "https://rec.example/1.mp3"
        content.tags = ["new", "vip, gold", "quote\"d", "it's", "back\\slash", "multi\nline\ttab", "日本語", ""]
        content.firstCall = true
        content.sourceUpdatedAt = may1(10, 5)
        return CallEvent(content: content, channel: .poll, receivedAt: may1(10, 5, 1, millisecond: 500))
    }

    /// Only the required fields: every optional column NULL, no tags, `first_call` false.
    static func sparseEvent(callID: String = "sparse") -> CallEvent {
        var content = CallContent(source: "callrail", sourceAccountID: "a", sourceCallID: callID)
        content.firstCall = false
        return CallEvent(content: content, channel: .backfill, receivedAt: may1(8))
    }

    /// An entity record of `ctm_accounts` (by default) whose `data` is `{"id":…,"name":…}`.
    static func record(source: String = "ctm", entity: String = "accounts", id: String = "42", name: String = "Acme",
                       sourceUpdatedAt: Timestamp? = nil, channel: CallEvent.Channel = .poll,
                       receivedAt: Timestamp) -> EntityRecord {
        EntityRecord(source: source, entity: entity, id: id, accountID: "acct-1",
                     data: .object(["id": .string(id), "name": .string(name)]),
                     raw: .object(["Id": .string(id), "Name": .string(name)]),
                     sourceUpdatedAt: sourceUpdatedAt, receivedAt: receivedAt, channel: channel)
    }

    /// A reference SQLite sink (in memory) with `batches` applied; returns it and its summaries.
    static func sqlite(_ batches: [[CallEvent]], loadedAt: Timestamp = may1(12)) throws -> (SQLiteSink, [ApplySummary]) {
        let sink = try SQLiteSink(path: ":memory:")
        try sink.prepare()
        let summaries = try batches.map { try sink.apply($0, loadedAt: loadedAt) }
        return (sink, summaries)
    }
}

extension ClickHouseSink {
    /// The current (`FINAL`) `calls` row of `eventID`, or `nil`.
    func callRow(_ eventID: String) throws -> [String: JSONValue]? {
        try _query("SELECT * FROM calls FINAL WHERE event_id = '\(eventID)'").first
    }

    /// Every physical row of `table`, merged or not (no `FINAL`): what was ever inserted and not
    /// yet merged away.
    func physicalRowCount(_ table: String) throws -> Int {
        let rows = try _query("SELECT count() AS n FROM \(table)")
        guard case .int(let n)? = rows.first?["n"] else { return -1 }
        return Int(n)
    }
}

/// A TCP port on 127.0.0.1 that refuses connections (bound, not listening) or accepts them and
/// never answers (listening, never accepting), for the unreachable-server tests.
final class LoopbackSocket {
    let port: Int
    private let descriptor: Int32

    /// - Parameter listening: `true` for a port that accepts connections and stays silent.
    init(listening: Bool) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound != 0 || (listening && listen(fd, 16) != 0) {
            close(fd)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
