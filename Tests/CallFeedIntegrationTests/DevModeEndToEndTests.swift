import CallFeedCore
import Foundation
import HTTPClient
import Synchronization
import Testing
@_spi(Testing) import Warehouse

/// Starts the built `callfeed dev` binary as a user would and talks to it over HTTP.
@Suite struct DevModeEndToEndTests {
    /// The `callfeed` executable next to the test bundle (SwiftPM builds it with the tests).
    static func binary() throws -> URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("callfeed"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug/callfeed"),
        ]
        return try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) },
                            "callfeed binary not found; looked in \(candidates.map(\.path))")
    }

    /// Collects a pipe's output on a background thread.
    final class Output: Sendable {
        private let text = Mutex("")
        init(_ pipe: Pipe) {
            let handle = pipe.fileHandleForReading
            Thread.detachNewThread { [self] in
                while case let data = handle.availableData, !data.isEmpty {
                    let chunk = String(decoding: data, as: UTF8.self)
                    text.withLock { $0 += chunk }
                }
            }
        }
        var value: String { text.withLock { $0 } }
    }

    @Test func userTourThroughTheBinary() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callfeed-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("callfeed.db").path

        let process = Process()
        process.executableURL = try Self.binary()
        process.arguments = ["dev", "--port", "0", "--db", db, "--brokers", "1"]
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        let out = Output(stdout), err = Output(stderr)
        try process.run()
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

        let process = Process()
        process.executableURL = try Self.binary()
        process.arguments = ["dev", "--sandbox", "--port", "0", "--db", db, "--brokers", "1"]
        process.currentDirectoryURL = directory
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        let out = Output(stdout), err = Output(stderr)
        try process.run()
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
        // Two accounts x 40 calls at CTM and CallRail (keys see both), one account at CallKeeper and
        // JustCall (one key, one account); a live call arrives by webhook every 10 s.
        let polled = ["ctm/poll": 80, "callrail/poll": 80, "callkeeper/poll": 40, "justcall/poll": 40]
        #expect(waitFor(seconds: 60) { let c = counts(); return polled.allSatisfy { c[$0.key, default: 0] >= $0.value } }, "\(counts())")
        #expect(waitFor(seconds: 30) { counts()["ctm/webhook", default: 0] >= 1 }, "\(counts()); \(err.value.suffix(2000))")
        let tables = Set(((try? reader._query("SELECT table_name FROM entity_tables")) ?? []).compactMap { row -> String? in
            if case .text(let t)? = row["table_name"] { return t } else { return nil }
        })
        #expect(tables.isSuperset(of: ["ctm_accounts", "ctm_users", "ctm_numbers", "callrail_companies", "callrail_trackers",
                                       "callrail_users", "callrail_tags", "callrail_text_messages", "callrail_form_submissions",
                                       "justcall_users", "justcall_texts", "justcall_contacts", "justcall_phone_numbers",
                                       "justcall_agent_analytics"]))

        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        #expect(!err.value.contains("webhook body rejected"))
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
