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

/// The shared builders, plus a reference SQLite sink.
typealias ClickHouseEvents = WarehouseFixtures

extension WarehouseFixtures {
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
