import CallFeedCore
import CallFeedTestSupport
import Testing
@_spi(Testing) import Warehouse

/// Tables, columns, connection settings and migrations.
@Suite("SQLiteSink schema")
struct SQLiteSinkSchemaTests {
    static let callsColumns = [
        "event_id", "schema_version", "revision", "channel", "received_at",
        "source", "source_account_id", "source_call_id", "direction", "status",
        "started_at", "ended_at", "duration_seconds", "talk_seconds", "ring_seconds",
        "caller_number", "dialed_number", "destination_number", "caller_name",
        "agent_id", "agent_name", "agent_email",
        "tracking_campaign_id", "tracking_campaign_name", "tracking_source", "tracking_medium",
        "tracking_campaign", "tracking_content", "tracking_term", "tracking_referrer",
        "tracking_landing_page", "tracking_gclid", "tracking_ga_client_id",
        "location_city", "location_region", "location_country",
        "recording_url", "tags", "first_call", "source_updated_at", "version_key", "loaded_at",
    ]

    @Test("calls and call_revisions have the documented columns, in order")
    func tableColumns() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        let calls = try sink._query("PRAGMA table_info(calls)").map { $0["name"] }
        let revisions = try sink._query("PRAGMA table_info(call_revisions)").map { $0["name"] }
        #expect(calls == Self.callsColumns.map { .text($0) })
        #expect(revisions == ["event_id", "revision", "channel", "received_at", "source_updated_at", "loaded_at",
                              "event_json"].map { .text($0) })
        let indexes = try sink._query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls' "
                                      + "AND sql IS NOT NULL ORDER BY name").map { $0["name"] }
        #expect(indexes == [.text("calls_source_started_at"), .text("calls_started_at")])
    }

    @Test("every field of a richly populated event lands in its column")
    func everyColumnMapped() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        let event = Fixtures.richEvent()
        _ = try sink.apply([event], loadedAt: Fixtures.may1(10, 6))

        let row = try #require(try sink.callRow(event.eventID))

        let expected: [String: WarehouseValue] = [
            "event_id": .text(event.eventID),
            "schema_version": .text("1"),
            "revision": .text(event.revision),
            "channel": .text("poll"),
            "received_at": .text("2024-05-01T10:05:01.500Z"),
            "source": .text("ctm"),
            "source_account_id": .text("acct-9"),
            "source_call_id": .text("CA123"),
            "direction": .text("inbound"),
            "status": .text("answered"),
            "started_at": .text("2024-05-01T10:00:00.000Z"),
            "ended_at": .text("2024-05-01T10:02:05.250Z"),
            "duration_seconds": .integer(125),
            "talk_seconds": .integer(110),
            "ring_seconds": .integer(15),
            "caller_number": .text("+15551230000"),
            "dialed_number": .text("+15559870000"),
            "destination_number": .text("+15550001111"),
            "caller_name": .text("Jane \"JJ\" Doe"),
            "agent_id": .text("a-7"),
            "agent_name": .text("Sam Agent"),
            "agent_email": .text("sam@example.com"),
            "tracking_campaign_id": .text("cmp-1"),
            "tracking_campaign_name": .text("Spring Sale"),
            "tracking_source": .text("google"),
            "tracking_medium": .text("cpc"),
            "tracking_campaign": .text("spring"),
            "tracking_content": .text("ad-a"),
            "tracking_term": .text("plumber"),
            "tracking_referrer": .text("https://www.google.com/"),
            "tracking_landing_page": .text("https://example.com/landing?x=1"),
            "tracking_gclid": .text("gclid-xyz"),
            "tracking_ga_client_id": .text("123.456"),
            "location_city": .text("Zürich"),
            "location_region": .text("ZH"),
            "location_country": .text("CH"),
            "recording_url": .text("https://rec.example/1.mp3"),
            "tags": .text(#"["new","vip, gold","quote\"d"]"#),
            "first_call": .integer(1),
            "source_updated_at": .text("2024-05-01T10:05:00.000Z"),
            "version_key": .text("001714557900000|001714557901500|" + event.revision),
            "loaded_at": .text("2024-05-01T10:06:00.000Z"),
        ]
        #expect(Set(expected.keys) == Set(Self.callsColumns))
        for column in Self.callsColumns {
            #expect(row[column] == expected[column], "column \(column)")
        }
        // tags is real JSON that SQLite's JSON functions read back element by element.
        let tags = try sink._query("SELECT json_array_length(tags) AS n, json_extract(tags, '$[2]') AS third FROM calls")
        #expect(tags.first?["n"] == .integer(3))
        #expect(tags.first?["third"] == .text("quote\"d"))
    }

    @Test("absent optional fields are NULL, first_call false is 0, no tags is []")
    func sparseEventColumns() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        var content = CallContent(source: "callrail", sourceAccountID: "a", sourceCallID: "c")
        content.firstCall = false
        let event = CallEvent(content: content, channel: .backfill, receivedAt: Fixtures.may1(8))
        var noFirstCall = CallContent(source: "callrail", sourceAccountID: "a", sourceCallID: "d")
        noFirstCall.firstCall = nil
        let other = CallEvent(content: noFirstCall, channel: .backfill, receivedAt: Fixtures.may1(8))
        _ = try sink.apply([event, other], loadedAt: Fixtures.may1(8, 1))

        let row = try #require(try sink.callRow(event.eventID))

        #expect(row["first_call"] == .integer(0))
        #expect(row["tags"] == .text("[]"))
        #expect(row["direction"] == .text("unknown"))
        #expect(row["version_key"] == .text("001714550400000|001714550400000|" + event.revision))
        let nullable = ["started_at", "ended_at", "duration_seconds", "talk_seconds", "ring_seconds", "caller_number",
                        "dialed_number", "destination_number", "caller_name", "agent_id", "agent_name", "agent_email",
                        "tracking_campaign_id", "tracking_campaign_name", "tracking_source", "tracking_medium",
                        "tracking_campaign", "tracking_content", "tracking_term", "tracking_referrer",
                        "tracking_landing_page", "tracking_gclid", "tracking_ga_client_id", "location_city",
                        "location_region", "location_country", "recording_url", "source_updated_at"]
        for column in nullable {
            #expect(row[column] == .null, "column \(column)")
        }
        #expect(try sink.callRow(other.eventID)?["first_call"] == .null)
    }

    @Test("the file is in WAL mode with synchronous=FULL")
    func connectionSettings() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        #expect(try sink._query("PRAGMA journal_mode").first?["journal_mode"] == .text("wal"))
        #expect(try sink._query("PRAGMA synchronous").first?["synchronous"] == .integer(2))
    }

    @Test("an in-memory database works")
    func inMemory() throws {
        let sink = try SQLiteSink(path: ":memory:")
        try sink.prepare()
        let summary = try sink.apply([Fixtures.event(receivedAt: Fixtures.may1(9))], loadedAt: Fixtures.may1(9))
        #expect(summary.inserted == 1)
        #expect(try sink.count(table: "calls") == 1)
    }

    @Test("reopening the file keeps the data, and prepare() is idempotent")
    func reopenPersists() throws {
        let db = try TemporaryDatabase()
        let event = Fixtures.richEvent()
        let dumpBefore: [String]
        do {
            let sink = try db.openSink()
            try sink.prepare()
            _ = try sink.apply([event], loadedAt: Fixtures.may1(10, 6))
            dumpBefore = try sink.canonicalDump()
            sink.close()
        }

        let reopened = try db.openSink()
        try reopened.prepare()

        #expect(try reopened.canonicalDump() == dumpBefore)
        #expect(try reopened.count(table: "schema_migrations") == 2)
        #expect(try reopened._query("SELECT version, name FROM schema_migrations ORDER BY version")
            == [["version": .integer(1), "name": .text("create calls and call_revisions")],
                ["version": .integer(2), "name": .text("create entity_tables")]])
        #expect(try reopened.apply([event], loadedAt: Fixtures.may1(11)) == ApplySummary(unchanged: 1))
        #expect(try reopened.callRow(event.eventID)?["loaded_at"] == .text("2024-05-01T10:06:00.000Z"))
    }

    @Test("a database migrated by a newer build is refused and left alone")
    func newerSchemaRefused() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        _ = try sink.apply([Fixtures.event(receivedAt: Fixtures.may1(9))], loadedAt: Fixtures.may1(9))
        try sink._execute("INSERT INTO schema_migrations VALUES (3, 'from the future', '2030-01-01T00:00:00.000Z')")
        sink.close()

        let older = try SQLiteSink(path: db.path)
        let error = try #require(throws: WarehouseError.self) { try older.prepare() }

        #expect(!error.isTransient)
        #expect(error.reason.contains("newer"))
        #expect(try older.count(table: "schema_migrations") == 3)
        #expect(try older.count(table: "calls") == 1)
        #expect(throws: WarehouseError.self) {
            try older.apply([Fixtures.event(callID: "other", receivedAt: Fixtures.may1(9))], loadedAt: Fixtures.may1(9))
        }
    }

    @Test("a different migration history is refused")
    func divergentHistoryRefused() throws {
        let db = try TemporaryDatabase()
        let sink = try db.openSink()
        try sink._execute("UPDATE schema_migrations SET name = 'something else' WHERE version = 1")

        let error = try #require(throws: WarehouseError.self) { try sink.prepare() }

        #expect(!error.isTransient)
        #expect(error.reason.contains("another history"))
    }
}
