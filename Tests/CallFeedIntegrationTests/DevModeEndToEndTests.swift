import CallFeedTestSupport
import CallFeedCore
import Foundation
import HTTPClient
import Synchronization
import Testing
import VendorSandbox
@_spi(Testing) import Warehouse

/// Starts the built `callfeed dev` binary as a user would and talks to it over HTTP.
@Suite struct DevModeEndToEndTests {
    /// The `callfeed` executable next to the test bundle (SwiftPM builds it with the tests).
    static func binary() throws -> URL {
        try #require(TestBinaries.locate("callfeed"), "callfeed binary not found; looked in \(TestBinaries.candidates("callfeed").map(\.path))")
    }

    /// Collects a pipe's output on a background thread.
    typealias Output = CollectedOutput

    /// Starts `callfeed` with `arguments` (in `directory`), collecting its stdout and stderr.
    static func launch(_ arguments: [String], in directory: URL? = nil) throws -> (Process, Output, Output) {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        let out = Output(stdout), err = Output(stderr)
        try process.run()
        return (process, out, err)
    }

    @Test func userTourThroughTheBinary() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callfeed-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("callfeed.db").path

        let (process, out, err) = try Self.launch(["dev", "--port", "0", "--db", db, "--brokers", "1"])
        defer { if process.isRunning { process.terminate() } }

        // The banner names the webhook URL (with the dev token) and the database.
        let deadline = ContinuousClock.now + .seconds(30)
        while !out.value.contains("Ctrl-C to stop.") && process.isRunning && ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let banner = out.value
        try #require(banner.contains("Ctrl-C to stop."), "no banner; stderr: \(err.value)")
        #expect(banner.contains(db))
        #expect(banner.contains("Kafka (mock, 1 brokers): 127.0.0.1:"))
        let url = try #require(banner.split(separator: "\n").compactMap { line -> String? in
            guard let r = line.range(of: "POST http") else { return nil }
            let u = String(line[line.index(r.lowerBound, offsetBy: 5)...])
            return u.contains("/webhooks/callkeeper?token=") ? u : nil
        }.first)

        let client = HTTPClient()
        let sample = try Payloads.sample("callkeeper.webhook.after-call-finish.sample")
        let body = Payloads.encode(sample)
        let first = try client.request("POST", url, body: body)
        #expect(first.status == 202)
        let eventID = try #require(try JSONValue.parse(first.body)["event_id"]?.text)

        let reader = try SQLiteSink(path: db)
        defer { reader.close() }
        func row() -> [String: WarehouseValue]? {
            (try? reader._query("SELECT * FROM calls WHERE event_id = '\(eventID)'"))?.first
        }
        func waitFor(_ condition: () -> Bool) -> Bool {
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline { if condition() { return true }; Thread.sleep(forTimeInterval: 0.05) }
            return condition()
        }
        #expect(waitFor { row() != nil })
        let stored = try #require(row())
        #expect(stored["source"] == .text("callkeeper"))
        #expect(stored["source_call_id"] == .text("10000001"))
        #expect(stored["caller_number"] == .text("+79990000124"))
        #expect(stored["status"] == .text("answered"))

        // The same hook again: 202, and the row does not change at all.
        #expect(try client.request("POST", url, body: body).status == 202)
        Thread.sleep(forTimeInterval: 1.0)
        #expect(row() == stored)
        #expect(try reader.count(table: "calls") == 1)

        // A changed field updates the row.
        let changed = Payloads.encode(Payloads.replacing(sample, ["record_url": .string("https://callkeeper.ru/records/fake/10000001-v2.mp3")]))
        #expect(try client.request("POST", url, body: changed).status == 202)
        #expect(waitFor { row()?["recording_url"] == .text("https://callkeeper.ru/records/fake/10000001-v2.mp3") })
        #expect(try reader.count(table: "calls") == 1)
        #expect(try reader.count(table: "call_revisions") == 2)

        // SIGTERM: clean stop, exit 0.
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        #expect(out.value.contains("callfeed dev stopped cleanly"))
    }

    /// `callfeed dev --sandbox`: the binary polls all four sandbox vendors (calls and entity lists)
    /// and the live sandbox calls arrive by webhook, without any vendor account.
    @Test func sandboxModePollsEveryVendor() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callfeed-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("callfeed.db").path

        let (process, out, err) = try Self.launch(["dev", "--sandbox", "--port", "0", "--db", db, "--brokers", "1"], in: directory)
        defer { if process.isRunning { process.terminate() } }

        func waitFor(seconds: Int, _ condition: () -> Bool) -> Bool {
            let deadline = ContinuousClock.now + .seconds(seconds)
            while ContinuousClock.now < deadline { if condition() { return true }; Thread.sleep(forTimeInterval: 0.1) }
            return condition()
        }
        #expect(waitFor(seconds: 30) { out.value.contains("Ctrl-C to stop.") }, "no banner; stderr: \(err.value)")
        #expect(out.value.contains("Vendor sandbox: http://127.0.0.1:"))
        #expect(out.value.contains("Polling: ctm-sandbox, ctm-sandbox:entities, callkeeper-sandbox"))

        let reader = try SQLiteSink(path: db)
        defer { reader.close() }
        func counts() -> [String: Int64] {
            var result: [String: Int64] = [:]
            for row in (try? reader._query("SELECT source || '/' || channel AS k, count(*) AS n FROM calls GROUP BY 1")) ?? [] {
                if case .text(let k)? = row["k"], case .integer(let n)? = row["n"] { result[k] = n }
            }
            return result
        }
        // Two accounts x 40 calls at CTM and CallRail (keys see both), one account at CallKeeper,
        // JustCall, HubSpot and Five9 (one key, one account); a live call arrives by webhook every 10 s.
        let polled = ["ctm/poll": 80, "callrail/poll": 80, "callkeeper/poll": 40, "justcall/poll": 40, "hubspot/poll": 40, "five9/poll": 40]
        #expect(waitFor(seconds: 60) { let c = counts(); return polled.allSatisfy { c[$0.key, default: 0] >= $0.value } }, "\(counts())")
        #expect(waitFor(seconds: 30) { counts()["ctm/webhook", default: 0] >= 1 }, "\(counts()); \(err.value.suffix(2000))")
        func tables() -> Set<String> {
            Set(((try? reader._query("SELECT table_name FROM entity_tables")) ?? []).compactMap { row -> String? in
                if case .text(let t)? = row["table_name"] { return t } else { return nil }
            })
        }
        let expectedTables: Set<String> = ["ctm_accounts", "ctm_users", "ctm_numbers", "callrail_companies", "callrail_trackers",
                                       "callrail_users", "callrail_tags", "callrail_text_messages", "callrail_form_submissions",
                                       "justcall_users", "justcall_texts", "justcall_contacts", "justcall_phone_numbers",
                                       "justcall_agent_analytics", "hubspot_contacts", "hubspot_companies", "hubspot_deals",
                                       "hubspot_call_contacts", "clevertap_profiles",
                                       "salespro_customers", "salespro_estimates", "salespro_credit_applications", "salespro_lead_results",
                                       "leadconduit_events", "salesrabbit_leads", "salesrabbit_users", "salesrabbit_lead_statuses",
                                       "arrivy_tasks", "arrivy_entities", "arrivy_groups",
                                       "google_sheets_marketing_leads", "google_sheets_marketing_spend"]
        #expect(waitFor(seconds: 30) { tables().isSuperset(of: expectedTables) }, "missing \(expectedTables.subtracting(tables()))")
        // SalesPro's sandbox tables (30 rows each, behind the Athena sandbox) land whole.
        #expect(waitFor(seconds: 30) { ((try? reader._query("SELECT count(*) AS n FROM salespro_customers").first?["n"]) ?? nil) == .integer(30) })

        // The pollers' figures are in /metrics.
        let metricsURL = try #require(out.value.split(whereSeparator: \.isWhitespace).first { $0.hasSuffix("/metrics") }.map(String.init))
        let metrics = try HTTPClient().request("GET", metricsURL).bodyText
        for vendor in ["ctm", "callkeeper", "callrail", "justcall", "hubspot", "clevertap", "five9", "salespro", "leadconduit", "salesrabbit", "arrivy", "google_sheets"] {
            #expect(metrics.contains("callfeed_poll_pages_total{vendor=\"\(vendor)\"}"), "\(vendor)")
        }
        #expect(metrics.contains("callfeed_poll_runs_total"))

        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        #expect(!err.value.contains("webhook body rejected"))
    }

    /// `callfeed check`, `backfill --dry-run` and `poll --entities --dry-run` as an operator runs
    /// them, against the vendor sandbox's CTM API.
    @Test func pollCommandsAgainstTheSandbox() throws {
        let sandbox = VendorSandbox(configuration: SandboxConfiguration(
            seed: 3, accounts: 2, callsPerAccount: 20, from: Timestamp(year: 2024, month: 5, day: 1), to: Timestamp(year: 2024, month: 5, day: 8)))
        try sandbox.start()
        defer { sandbox.stop() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callfeed-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // The first incremental run starts two days ago (nothing there): `poll` is about the entity lists.
        let start = String(Timestamp.now().adding(seconds: -2 * 86_400).rfc3339.prefix(10))
        func config(secret: String) throws -> String {
            let path = directory.appendingPathComponent("callfeed-\(secret).yaml").path
            try """
            log: {level: error}
            poll: {state_path: \(directory.appendingPathComponent("state.db").path)}
            sources:
              ctm:
                - name: ctm-sbx
                  poll:
                    base_url: \(sandbox.baseURL(for: .ctm))
                    access_key: ctm_sandbox_access_key
                    secret_key: \(secret)
                    start: "\(start)"
                    entities: [accounts, users]
            """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        func run(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
            let (process, out, err) = try Self.launch(arguments)
            process.waitUntilExit()
            Thread.sleep(forTimeInterval: 0.2)  // let the readers drain the pipes
            return (process.terminationStatus, out.value, err.value)
        }
        let good = try config(secret: "ctm_sandbox_secret_key")

        let check = try run(["check", "--source", "ctm-sbx", "--config", good])
        #expect(check.status == 0, "\(check.err)")
        #expect(check.out.contains("credentials accepted; accounts: 100001, 100002"))

        let backfill = try run(["backfill", "--source", "ctm-sbx", "--from", "2024-05-01", "--to", "2024-05-07", "--dry-run", "--config", good])
        #expect(backfill.status == 0, "\(backfill.err)")
        #expect(backfill.out.contains("dry run (nothing published): backfill ctm-sbx 2024-05-01..2024-05-07"))
        #expect(backfill.out.contains("processed=40"))
        #expect(backfill.err.contains("100%"))

        let poll = try run(["poll", "--source", "ctm-sbx", "--entities", "--dry-run", "--config", good])
        #expect(poll.status == 0, "\(poll.err)")
        #expect(poll.out.contains("ctm-sbx entities (accounts, users)"))

        let refused = try run(["check", "--source", "ctm-sbx", "--config", try config(secret: "not-the-secret")])
        #expect(refused.status != 0)
        #expect((refused.out + refused.err).contains("access_key"))
        #expect(!(refused.out + refused.err).contains("not-the-secret"))
    }

    @Test func helpExplainsTheCommands() throws {
        for arguments in [["--help"], ["dev", "--help"]] {
            let process = Process()
            process.executableURL = try Self.binary()
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            #expect(text.contains(arguments == ["--help"] ? "dev" : "--db"))
        }
    }
}
