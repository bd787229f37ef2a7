import CallFeedCore
import CallFeedTestSupport
import Testing
@_spi(Testing) import Warehouse

/// The version rule: inserts, exact re-sends, newer and older revisions, and the summary counts.
@Suite("SQLiteSink upsert rule")
struct SQLiteSinkUpsertTests {
    @Test("a new event_id is inserted into calls and call_revisions")
    func insertsNewEvent() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        let event = Fixtures.event(receivedAt: Fixtures.may1(9, 30))

        let summary = try sink.apply([event], loadedAt: Fixtures.may1(9, 31))

        #expect(summary == ApplySummary(inserted: 1, revisionsAdded: 1))
        #expect(try sink.count(table: "calls") == 1)
        #expect(try sink.count(table: "call_revisions") == 1)
        let row = try #require(try sink.callRow(event.eventID))
        #expect(row["revision"] == .text(event.revision))
        #expect(row["loaded_at"] == .text("2024-05-01T09:31:00.000Z"))
    }

    @Test("an exact re-send leaves the row byte for byte, loaded_at included")
    func exactResendIsUnchanged() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        let event = Fixtures.event(receivedAt: Fixtures.may1(9, 30))
        _ = try sink.apply([event], loadedAt: Fixtures.may1(9, 31))
        let callsBefore = try sink._query("SELECT * FROM calls")
        let revisionsBefore = try sink._query("SELECT * FROM call_revisions")

        let summary = try sink.apply([event], loadedAt: Fixtures.may1(12))

        #expect(summary == ApplySummary(unchanged: 1))
        #expect(try sink._query("SELECT * FROM calls") == callsBefore)
        #expect(try sink._query("SELECT * FROM call_revisions") == revisionsBefore)
        #expect(callsBefore.first?["loaded_at"] == .text("2024-05-01T09:31:00.000Z"))
    }

    @Test("the same revision arriving again by another channel, later, is still an exact duplicate")
    func sameRevisionOtherChannelIsUnchanged() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        let webhook = Fixtures.event(channel: .webhook, receivedAt: Fixtures.may1(9, 30))
        let poll = Fixtures.event(channel: .poll, receivedAt: Fixtures.may1(11))
        #expect(webhook.revision == poll.revision)
        _ = try sink.apply([webhook], loadedAt: Fixtures.may1(9, 31))

        let summary = try sink.apply([poll], loadedAt: Fixtures.may1(11, 1))

        #expect(summary == ApplySummary(unchanged: 1))
        let row = try #require(try sink.callRow(webhook.eventID))
        #expect(row["channel"] == .text("webhook"))
        #expect(row["received_at"] == .text("2024-05-01T09:30:00.000Z"))
        #expect(try sink.count(table: "call_revisions") == 1)
    }

    @Test("a new revision received later replaces the row")
    func newerRevisionUpdates() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        let first = Fixtures.event(status: .inProgress, duration: nil, receivedAt: Fixtures.may1(9, 30))
        let second = Fixtures.event(status: .answered, duration: 60, receivedAt: Fixtures.may1(9, 35))
        #expect(first.eventID == second.eventID)
        #expect(first.revision != second.revision)
        _ = try sink.apply([first], loadedAt: Fixtures.may1(9, 31))

        let summary = try sink.apply([second], loadedAt: Fixtures.may1(9, 36))

        #expect(summary == ApplySummary(updated: 1, revisionsAdded: 1))
        let row = try #require(try sink.callRow(second.eventID))
        #expect(row["revision"] == .text(second.revision))
        #expect(row["status"] == .text("answered"))
        #expect(row["duration_seconds"] == .integer(60))
        #expect(row["received_at"] == .text("2024-05-01T09:35:00.000Z"))
        #expect(row["loaded_at"] == .text("2024-05-01T09:36:00.000Z"))
        #expect(try sink.count(table: "calls") == 1)
        #expect(try sink.count(table: "call_revisions") == 2)
    }

    @Test("an older revision arriving after a newer one is kept out (out of order)")
    func olderRevisionIsUnchanged() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        let older = Fixtures.event(status: .inProgress, duration: nil, receivedAt: Fixtures.may1(9, 30))
        let newer = Fixtures.event(status: .answered, duration: 60, receivedAt: Fixtures.may1(9, 35))
        _ = try sink.apply([newer], loadedAt: Fixtures.may1(9, 36))
        let before = try sink._query("SELECT * FROM calls")

        let summary = try sink.apply([older], loadedAt: Fixtures.may1(9, 40))

        #expect(summary == ApplySummary(unchanged: 1, revisionsAdded: 1))
        #expect(try sink._query("SELECT * FROM calls") == before)
        #expect(before.first?["revision"] == .text(newer.revision))
        #expect(try sink.count(table: "call_revisions") == 2)
    }

    @Test("a newer source_updated_at wins even when received earlier, in either arrival order")
    func sourceUpdatedAtBeatsReceivedAt() throws {
        // `edited` is the vendor's later edit (10:05) that reached us first, by webhook at 10:06;
        // `stale` is the earlier state (10:00) that a slow poll delivered at 11:00.
        let edited = Fixtures.event(status: .answered, duration: 90, sourceUpdatedAt: Fixtures.may1(10, 5),
                                    channel: .webhook, receivedAt: Fixtures.may1(10, 6))
        let stale = Fixtures.event(status: .answered, duration: 60, sourceUpdatedAt: Fixtures.may1(10),
                                   channel: .poll, receivedAt: Fixtures.may1(11))

        let dbA = try TemporaryDatabase()
        let sinkA = try dbA.openSink()
        _ = try sinkA.apply([stale], loadedAt: Fixtures.may1(11, 1))
        let staleThenEdited = try sinkA.apply([edited], loadedAt: Fixtures.may1(11, 2))

        let dbB = try TemporaryDatabase()
        let sinkB = try dbB.openSink()
        _ = try sinkB.apply([edited], loadedAt: Fixtures.may1(10, 7))
        let editedThenStale = try sinkB.apply([stale], loadedAt: Fixtures.may1(11, 1))

        #expect(staleThenEdited == ApplySummary(updated: 1, revisionsAdded: 1))
        #expect(editedThenStale == ApplySummary(unchanged: 1, revisionsAdded: 1))
        #expect(try sinkA.callRow(edited.eventID)?["revision"] == .text(edited.revision))
        #expect(try sinkA.callRow(edited.eventID)?["duration_seconds"] == .integer(90))
        #expect(try sinkA.canonicalDump() == sinkB.canonicalDump())
    }

    @Test("without source_updated_at, content seen again later wins back the row (A, B, A)")
    func revertedContentWinsBack() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        let a1 = Fixtures.event(duration: 60, receivedAt: Fixtures.may1(9))
        let b = Fixtures.event(duration: 61, receivedAt: Fixtures.may1(10))
        let a2 = Fixtures.event(duration: 60, channel: .poll, receivedAt: Fixtures.may1(11))
        #expect(a1.revision == a2.revision)

        let summary = try sink.apply([a1, b, a2], loadedAt: Fixtures.may1(11, 1))

        #expect(summary == ApplySummary(inserted: 1, updated: 2, revisionsAdded: 2))
        let row = try #require(try sink.callRow(a1.eventID))
        #expect(row["revision"] == .text(a1.revision))
        #expect(row["received_at"] == .text("2024-05-01T11:00:00.000Z"))
        #expect(row["channel"] == .text("poll"))
    }

    @Test("a mixed batch counts every event once, in array order")
    func mixedBatchSummary() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        let x1 = Fixtures.event(callID: "x", duration: 10, receivedAt: Fixtures.may1(9))
        let y1 = Fixtures.event(callID: "y", duration: 10, receivedAt: Fixtures.may1(9, 10))
        _ = try sink.apply([x1, y1], loadedAt: Fixtures.may1(9, 20))

        let z = Fixtures.event(callID: "z", receivedAt: Fixtures.may1(10))
        let x2 = Fixtures.event(callID: "x", duration: 20, receivedAt: Fixtures.may1(10, 1))
        let y0 = Fixtures.event(callID: "y", duration: 5, receivedAt: Fixtures.may1(9, 5))
        let w1 = Fixtures.event(callID: "w", duration: 1, receivedAt: Fixtures.may1(10, 2))
        let w2 = Fixtures.event(callID: "w", duration: 2, receivedAt: Fixtures.may1(10, 3))
        let batch = [z, x2, x1, y0, w1, w2]

        let summary = try sink.apply(batch, loadedAt: Fixtures.may1(10, 5))

        // z, w1 new; x2 and w2 newer; x1 (stored before, now older than x2) and y0 (older) kept out.
        #expect(summary == ApplySummary(inserted: 2, updated: 2, unchanged: 2, revisionsAdded: 5))
        #expect(summary.inserted + summary.updated + summary.unchanged == batch.count)
        #expect(try sink.count(table: "calls") == 4)
        #expect(try sink.count(table: "call_revisions") == 7)
        #expect(try sink.callRow(x1.eventID)?["revision"] == .text(x2.revision))
        #expect(try sink.callRow(y1.eventID)?["revision"] == .text(y1.revision))
        #expect(try sink.callRow(y1.eventID)?["loaded_at"] == .text("2024-05-01T09:20:00.000Z"))
        #expect(try sink.callRow(w1.eventID)?["revision"] == .text(w2.revision))
    }

    @Test("call_revisions holds each distinct revision once, with the event's exact JSON")
    func revisionsAreDistinct() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        let r1 = Fixtures.event(duration: 1, receivedAt: Fixtures.may1(9))
        let r2 = Fixtures.event(duration: 2, receivedAt: Fixtures.may1(10))

        let first = try sink.apply([r1, r2], loadedAt: Fixtures.may1(10, 1))
        let again = try sink.apply([r1, r2], loadedAt: Fixtures.may1(12))
        let later = try sink.apply([r2], loadedAt: Fixtures.may1(13))

        #expect(first.revisionsAdded == 2)
        #expect(again.revisionsAdded == 0)
        #expect(later.revisionsAdded == 0)
        let rows = try sink.revisionRows(r1.eventID)
        #expect(rows.count == 2)
        for event in [r1, r2] {
            let row = try #require(rows.first { $0["revision"] == .text(event.revision) })
            #expect(row["event_json"] == .text(String(decoding: event.jsonBytes(), as: UTF8.self)))
            #expect(row["loaded_at"] == .text("2024-05-01T10:01:00.000Z"))
            #expect(row["channel"] == .text("webhook"))
            let json: String
            if case .text(let text)? = row["event_json"] { json = text } else { json = "" }
            #expect(try CallEvent.decode(Array(json.utf8)) == event)
        }
    }

    @Test("an empty batch does nothing")
    func emptyBatch() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        #expect(try sink.apply([], loadedAt: Fixtures.may1(9)) == ApplySummary())
        #expect(try sink.count(table: "calls") == 0)
    }

    @Test("same events, other batching and load times: identical canonical dumps")
    func canonicalDumpIsStable() throws {
        let events = [
            Fixtures.event(callID: "b", duration: 1, receivedAt: Fixtures.may1(9)),
            Fixtures.event(callID: "a", duration: 1, receivedAt: Fixtures.may1(9, 1)),
            Fixtures.event(callID: "b", duration: 2, receivedAt: Fixtures.may1(9, 2)),
            Fixtures.richEvent(),
        ]
        let dbA = try TemporaryDatabase()
        let sinkA = try dbA.openSink()
        _ = try sinkA.apply(events, loadedAt: Fixtures.may1(12))
        let dbB = try TemporaryDatabase()
        let sinkB = try dbB.openSink()
        for (offset, event) in events.enumerated() {
            _ = try sinkB.apply([event], loadedAt: Fixtures.may1(13, offset))
        }

        let dump = try sinkA.canonicalDump()

        #expect(dump == (try sinkB.canonicalDump()))
        #expect(dump.count == 3)
        #expect(dump == dump.sorted())
        #expect(dump.allSatisfy { $0.hasPrefix("event_id=\"") && !$0.contains("loaded_at") })
        #expect(try sinkA._query("SELECT loaded_at FROM calls") != sinkB._query("SELECT loaded_at FROM calls"))
    }
}
