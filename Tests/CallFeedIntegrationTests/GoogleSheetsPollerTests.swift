import CallFeedCore
import CallFeedPoll
import CallFeedVendors
import Foundation
import HTTPClient
import Testing
import VendorSandbox
import Warehouse

/// Google Sheets played by ``GoogleSheetsSandbox`` (OAuth token endpoint that checks the RS256
/// assertion, and `values.get` with Google's ragged rows) on a loopback socket, through the
/// in-process pipeline (mock cluster, loader, SQLite).
@Suite(.serialized) struct GoogleSheetsPollerTests {
    static let zone = "America/Denver"

    static func sandbox(throttleEvery: Int = 0, leads: Int = 20) throws -> GoogleSheetsSandbox {
        let now = Timestamp.now()
        return try GoogleSheetsSandbox(spreadsheets: [
            "sheet-1": .init(timeZone: zone, tabs: [
                "Marketing Leads": GoogleSheetsSandbox.marketingLeads(count: leads, first: now.adding(seconds: -5 * 86_400), timeZone: zone, missingIDIndex: 7),
                "Spend": GoogleSheetsSandbox.marketingSpend(days: 5, firstDay: now.adding(seconds: -6 * 86_400)),
            ]),
        ], throttleEvery: throttleEvery)
    }

    static func keyFile(_ sandbox: GoogleSheetsSandbox) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sheets-key-\(UUID().uuidString).json").path
        try sandbox.writeKeyFile(to: path)
        return path
    }

    static func streams(_ sandbox: GoogleSheetsSandbox, tokens: GoogleAccessTokens, leadsRange: String = "'Marketing Leads'!A1:G") -> [any EntityStream] {
        [
            GoogleSheetsStream(name: "sheets-test", entity: "marketing_leads", spreadsheetID: "sheet-1", range: leadsRange, baseURL: sandbox.baseURL,
                               mapping: GoogleSheetsMapping(keyColumns: ["Lead ID"], dateColumns: ["Created"]), tokens: tokens),
            GoogleSheetsStream(name: "sheets-test", entity: "marketing_spend", spreadsheetID: "sheet-1", range: "Spend", baseURL: sandbox.baseURL,
                               mapping: GoogleSheetsMapping(keyColumns: ["Date", "Channel", "Campaign"], dateColumns: ["Date"]), tokens: tokens),
        ]
    }

    /// The `data` column parsed.
    static func json(_ value: WarehouseValue?) -> JSONValue? {
        guard case .text(let text)? = value else { return nil }
        return try? JSONValue.parse(Array(text.utf8))
    }

    @Test func leadsAndSpendLandWithDatesKeysAndTheKeylessRowDeadLettered() throws {
        let sandbox = try Self.sandbox()
        try sandbox.start()
        defer { sandbox.stop() }
        let key = try Self.keyFile(sandbox)
        defer { try? FileManager.default.removeItem(atPath: key) }
        let tokens = GoogleAccessTokens(keyFile: key)
        let h = try PollHarness(SandboxConfiguration())
        defer { h.stop() }
        let stats = try h.entityPoller(name: "sheets-test", streams: Self.streams(sandbox, tokens: tokens), accounts: { _ in [] }).sync()
        #expect(stats.published == 19 + 10)
        #expect(stats.rejected == 1)
        let leads = try h.waitForEntities("google_sheets_marketing_leads", count: 19)
        #expect(leads.count == 19)
        #expect(try h.waitForEntities("google_sheets_marketing_spend", count: 10).count == 10)
        // One token for both streams; the leads sheet's zone was asked once, the spend sheet's too (each stream reads its own).
        #expect(sandbox.tokenRequests == 1)
        #expect(sandbox.refusedAssertions == 0)
        let reads = sandbox.requestLog.filter { $0.path.contains("/values/") }
        #expect(reads.count == 2)
        #expect(reads.allSatisfy { $0.query["valueRenderOption"] == "UNFORMATTED_VALUE" && $0.query["dateTimeRenderOption"] == "SERIAL_NUMBER" })
        #expect(sandbox.requestLog.filter { $0.query["fields"] == "properties.timeZone" }.count == 2)
        // Lead 0 was created 5 days ago: read back in the sheet's zone to the same instant (to the millisecond the serial keeps).
        let data = Self.json(leads["ML-1000"]?["data"])
        let created = try #require(data?["created"]?.text.flatMap { Timestamp.parseISO8601($0) })
        let expected = Timestamp.now().adding(seconds: -5 * 86_400)
        #expect(abs(created.secondsSinceEpoch - expected.secondsSinceEpoch) < 120)
        #expect(data?["cost"] == .double(25.5))
        #expect(data?["status"] == .string("New"))
        // Lead 3 has no status cell at all (a ragged row): null, not missing.
        let ragged = Self.json(leads["ML-1003"]?["data"])
        #expect(ragged?.objectValue?.keys.contains("status") == true)
        #expect(ragged?["status"] == .null)
        let letters = try h.deadLetters(expecting: 1)
        // Row 10: header row 1, leads 0-4 in rows 2-6, the blank row 7, lead 7 in row 10.
        #expect(letters.first?.reason.contains("row 10 has no lead_id (a key column)") == true)

        // The sheet is edited: lead 1's status changes. The next run reads it all again and changes exactly that row.
        var rows = GoogleSheetsSandbox.marketingLeads(count: 20, first: Timestamp.now().adding(seconds: -5 * 86_400), timeZone: Self.zone, missingIDIndex: 7)
        rows[2][6] = .string("Won")
        sandbox.setTab("Marketing Leads", of: "sheet-1", rows: rows)
        _ = try h.entityPoller(name: "sheets-test", streams: Self.streams(sandbox, tokens: tokens), accounts: { _ in [] }).sync()
        #expect(h.pipeline.wait(timeout: .seconds(30)) {
            Self.json((try? h.entityRows("google_sheets_marketing_leads"))?["ML-1001"]?["data"])?["status"] == .string("Won")
        })
        #expect(try h.entityRows("google_sheets_marketing_leads").count == 19)
        #expect(sandbox.tokenRequests == 1)
    }

    @Test func throttlingIsWaitedOutARevokedTokenIsRenewedAndRefusalsAreClear() throws {
        let sandbox = try Self.sandbox(throttleEvery: 2, leads: 6)
        try sandbox.start()
        defer { sandbox.stop() }
        let key = try Self.keyFile(sandbox)
        defer { try? FileManager.default.removeItem(atPath: key) }
        let tokens = GoogleAccessTokens(keyFile: key)
        let h = try PollHarness(SandboxConfiguration())
        defer { h.stop() }
        let stats = try h.entityPoller(name: "sheets-test", streams: Self.streams(sandbox, tokens: tokens), accounts: { _ in [] }).sync()
        #expect(stats.published == 6 + 10)
        #expect(sandbox.requestLog.count >= 6)  // 4 reads, at least 2 answered 429 first

        // Google revokes the token: the 401 mints a new one and the run goes on.
        sandbox.revokeTokens()
        let again = try h.entityPoller(name: "sheets-test", streams: Self.streams(sandbox, tokens: tokens), accounts: { _ in [] }).sync()
        #expect(again.published == 16)
        #expect(sandbox.tokenRequests == 2)

        // A key the sandbox does not know: its assertion is refused, and the error names the setting.
        let stranger = try GoogleSheetsSandbox(spreadsheets: [:])
        try stranger.start()
        defer { stranger.stop() }
        let strangerKey = try Self.keyFile(stranger)
        defer { try? FileManager.default.removeItem(atPath: strangerKey) }
        var strangerFile = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: strangerKey))))
        if case .object(var o) = strangerFile { o["token_uri"] = .string(sandbox.tokenURI); strangerFile = .object(o) }
        try Data(strangerFile.canonicalJSONBytes).write(to: URL(fileURLWithPath: strangerKey))
        let refused = #expect(throws: PollError.self) {
            try h.entityPoller(name: "sheets-wrong", streams: Self.streams(sandbox, tokens: GoogleAccessTokens(keyFile: strangerKey)),
                               accounts: { _ in [] }).sync()
        }
        #expect(refused?.kind == .credentials)
        #expect(refused?.reason.contains("invalid_grant") == true)
        #expect(refused?.reason.contains("sources.google_sheets[sheets-test].poll.credentials_file") == true)
        #expect(sandbox.refusedAssertions == 1)

        let missing = #expect(throws: PollError.self) {
            try h.entityPoller(name: "sheets-nokey", streams: Self.streams(sandbox, tokens: GoogleAccessTokens(keyFile: "/nonexistent/key.json")),
                               accounts: { _ in [] }).sync()
        }
        #expect(missing?.reason.contains("cannot read the service-account key file /nonexistent/key.json") == true)

        // A range naming a tab the spreadsheet lacks: Google's own words.
        let badRange = #expect(throws: PollError.self) {
            try h.entityPoller(name: "sheets-range", streams: Self.streams(sandbox, tokens: tokens, leadsRange: "Leads2024!A1:G"), accounts: { _ in [] }).sync()
        }
        #expect(badRange?.reason.contains("Unable to parse range: Leads2024!A1:G (INVALID_ARGUMENT)") == true)
    }
}
