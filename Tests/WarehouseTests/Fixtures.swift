import CallFeedCore
import CallFeedTestSupport
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

/// The shared builders (Tests/Support/WarehouseFixtures.swift).
typealias Fixtures = WarehouseFixtures

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
