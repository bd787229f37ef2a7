import CallFeedCore
import CallFeedTestSupport
import Testing
@_spi(Testing) import Warehouse

/// All-or-nothing batches, transient errors and the sink's lifecycle.
@Suite("SQLiteSink transactions and errors")
struct SQLiteSinkTransactionTests {
    @Test("a batch with one bad event rolls back entirely, and the sink keeps working")
    func failingBatchRollsBack() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        let x1 = Fixtures.event(callID: "x", duration: 1, receivedAt: Fixtures.may1(9))
        _ = try sink.apply([x1], loadedAt: Fixtures.may1(9, 1))
        let callsBefore = try sink._query("SELECT * FROM calls")
        let revisionsBefore = try sink._query("SELECT * FROM call_revisions")

        let z = Fixtures.event(callID: "z", receivedAt: Fixtures.may1(10))
        let x2 = Fixtures.event(callID: "x", duration: 2, receivedAt: Fixtures.may1(10))
        var bad = Fixtures.event(callID: "bad", receivedAt: Fixtures.may1(10))
        bad.eventID = "not-a-uuid"  // violates CHECK (length(event_id) = 36)

        let error = try #require(throws: WarehouseError.self) {
            try sink.apply([z, x2, bad], loadedAt: Fixtures.may1(10, 1))
        }

        #expect(!error.isTransient)
        #expect(error.code & 0xFF == 19)  // SQLITE_CONSTRAINT
        #expect(try sink._query("SELECT * FROM calls") == callsBefore)
        #expect(try sink._query("SELECT * FROM call_revisions") == revisionsBefore)
        #expect(try sink.apply([z, x2], loadedAt: Fixtures.may1(10, 2)) == ApplySummary(inserted: 1, updated: 1,
                                                                                       revisionsAdded: 2))
    }

    @Test("a locked database gives a transient error; the same batch succeeds when retried")
    func busyIsTransient() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink(busyTimeout: .milliseconds(50))
        let other = try db.openSink()
        try other._execute("BEGIN IMMEDIATE")  // another writer holds the write lock
        let event = Fixtures.event(receivedAt: Fixtures.may1(9))

        let error = try #require(throws: WarehouseError.self) {
            try sink.apply([event], loadedAt: Fixtures.may1(9, 1))
        }
        #expect(error.isTransient)
        #expect(error.code & 0xFF == 5)  // SQLITE_BUSY

        try other._execute("ROLLBACK")
        #expect(try sink.apply([event], loadedAt: Fixtures.may1(9, 2)) == ApplySummary(inserted: 1, revisionsAdded: 1))
        #expect(try other.count(table: "calls") == 1)
    }

    @Test("apply before prepare, and after close, throws; close is idempotent")
    func lifecycleMisuse() throws {
        let db = try TemporaryDatabase()
        let unprepared = try SQLiteSink(path: db.path)
        let beforePrepare = try #require(throws: WarehouseError.self) {
            try unprepared.apply([Fixtures.event(receivedAt: Fixtures.may1(9))], loadedAt: Fixtures.may1(9))
        }
        #expect(beforePrepare.reason.contains("prepare"))
        #expect(!beforePrepare.isTransient)

        try unprepared.prepare()
        unprepared.close()
        unprepared.close()
        let afterClose = try #require(throws: WarehouseError.self) {
            try unprepared.apply([Fixtures.event(receivedAt: Fixtures.may1(9))], loadedAt: Fixtures.may1(9))
        }
        #expect(afterClose.reason.contains("closed"))
        #expect(!afterClose.isTransient)
        #expect(throws: WarehouseError.self) { try unprepared.count(table: "calls") }
    }

    @Test("count(table:) accepts only the sink's tables")
    func countRejectsOtherNames() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        #expect(throws: WarehouseError.self) { try sink.count(table: "sqlite_master; DROP TABLE calls") }
        #expect(try sink.count(table: "calls") == 0)
    }

    @Test("opening a path that cannot be created fails with SQLite's reason")
    func openFailure() throws {
        let db = try TemporaryDatabase()
        let error = try #require(throws: WarehouseError.self) {
            try SQLiteSink(path: db.path(inside: "missing/dir/calls.sqlite"))
        }
        #expect(error.code & 0xFF == 14)  // SQLITE_CANTOPEN
        #expect(error.description.contains("missing/dir"))
    }
}
