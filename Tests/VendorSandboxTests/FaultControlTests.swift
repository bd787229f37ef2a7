import CallFeedCore
import Foundation
import HTTPClient
import Synchronization
import Testing
import VendorSandbox

/// The control endpoints under `/_sandbox/` over real HTTP, chaos mode, and the
/// `callfeed-sandbox` binary driven from another process as the fault suite drives it.
@Suite struct FaultControlTests {
    let ctmAuth = [("Authorization", "Basic " + Data("ctm_sandbox_access_key:ctm_sandbox_secret_key".utf8).base64EncodedString())]

    /// The test configuration with the control endpoints on.
    func controlled(rateLimits: [SandboxVendor: SandboxRateLimit] = [:]) -> SandboxConfiguration {
        var configuration = testConfiguration(rateLimits: rateLimits)
        configuration.controlEndpoints = true
        return configuration
    }

    /// Sends `body` (a JSON literal) to a control endpoint.
    func send(_ method: String, _ url: String, _ body: String? = nil) throws -> JSONResponse {
        let response = try HTTPClient().request(method, url, headers: [("Content-Type", "application/json")], body: body.map { Array($0.utf8) })
        return JSONResponse(status: response.status, headers: response.headers, text: response.bodyText,
                            json: (try? JSONValue.parse(response.body)) ?? .null)
    }

    /// A cheap CallKeeper request (an unknown key: the vendor's 200 envelope), for counting fates.
    func callKeeperProbe(_ sandbox: VendorSandbox) -> String {
        sandbox.baseURL(for: .callkeeper) + "/api/index.php?json/v3/nobody0000000000/call/get/0/2024-05-01"
    }

    // MARK: - Faults, request log and stats

    @Test func queuedStormsAndTheBudgetAreCountedApart() throws {
        try withSandbox(controlled(rateLimits: [.ctm: SandboxRateLimit(windows: [.perMinute(3)])])) { sandbox in
            let control = sandbox.controlURL
            let queued = try send("POST", control + "/faults", #"{"vendor":"ctm","kind":"storm","count":2,"retry_after":4}"#)
            #expect(queued.status == 200)
            #expect(queued.json[path: "pending", "ctm", "storms"]?.integer == 2)

            let url = sandbox.baseURL(for: .ctm) + "/api/v1/accounts?page=1"
            let responses = try (0..<6).map { _ in try fetch(url, headers: ctmAuth) }
            // Two storms (the budget untouched), three served, then the budget's own 429.
            #expect(responses.map(\.status) == [429, 429, 200, 200, 200, 429])
            #expect(responses[0].headers["retry-after"] == "4")

            let stats = try fetch(control + "/stats").json
            let ctm = try #require(stats[path: "vendors", "ctm"])
            #expect(ctm["requests"]?.integer == 6)
            #expect(ctm[path: "by_status", "200"]?.integer == 3)
            #expect(ctm[path: "by_status", "429"]?.integer == 3)
            #expect(ctm["over_budget"]?.integer == 1)
            #expect(ctm["injected_storms"]?.integer == 2)
            #expect(ctm["injected_failures"]?.integer == 0)
            #expect(stats[path: "vendors", "callrail", "requests"]?.integer == 0)

            let log = try fetch(control + "/requests?vendor=ctm").json
            let entries = log["requests"]?.items ?? []
            #expect(entries.compactMap { $0["outcome"]?.text }
                == ["injected-storm", "injected-storm", "served", "served", "served", "over-budget"])
            #expect(entries.first?["target"]?.text == "/ctm/api/v1/accounts?page=1")
            #expect(entries.first?["method"]?.text == "GET")
            #expect(entries.first?["time"]?.text.flatMap { Timestamp.parseISO8601($0) } != nil)
            #expect(log["next"]?.integer == 6)
            #expect(try fetch(control + "/requests?since=5").json["requests"]?.items.count == 1)
            // Control requests are not logged.
            #expect(sandbox.requests.count == 6)

            #expect(try send("DELETE", control + "/requests").json["requests"]?.integer == 0)
            #expect(sandbox.requests.isEmpty)
        }
    }

    @Test func failuresAndDelaysQueueAndReset() throws {
        try withSandbox(controlled()) { sandbox in
            let control = sandbox.controlURL
            _ = try send("POST", control + "/faults", #"{"vendor":"callrail","kind":"fail","count":2,"status":502}"#)
            let state = try send("POST", control + "/faults", #"{"vendor":"callrail","kind":"slow","count":1,"delay_ms":50}"#).json
            #expect(state[path: "pending", "callrail", "failures"]?.integer == 2)
            #expect(state[path: "pending", "callrail", "slow"]?.integer == 1)
            let url = sandbox.baseURL(for: .callrail) + "/v3/a.json"
            let auth = [("Authorization", "Token token=\"callrail_sandbox_api_key\"")]
            #expect(try fetch(url, headers: auth).status == 502)
            let stats = try fetch(control + "/stats").json
            #expect(stats[path: "vendors", "callrail", "injected_failures"]?.integer == 1)
            #expect(stats[path: "vendors", "callrail", "delayed"]?.integer == 1)
            #expect(try fetch(control + "/requests").json["requests"]?.items.first?["delay_ms"]?.integer == 50)

            let reset = try send("DELETE", control + "/faults").json
            #expect(reset[path: "pending", "callrail", "failures"]?.integer == 0)
            #expect(try fetch(url, headers: auth).status == 200)
        }
    }

    @Test func badControlRequestsAreRefused() throws {
        try withSandbox(controlled()) { sandbox throws in
            let control = sandbox.controlURL
            #expect(try send("POST", control + "/faults", #"{"vendor":"acme","kind":"storm"}"#).status == 400)
            #expect(try send("POST", control + "/faults", #"{"vendor":"ctm","kind":"flood"}"#).status == 400)
            #expect(try send("POST", control + "/faults", #"{"vendor":"ctm","kind":"slow"}"#).status == 400)
            #expect(try send("POST", control + "/faults", "not json").status == 400)
            #expect(try send("POST", control + "/chaos", #"{"storm_rate":0.7,"fail_rate":0.7}"#).status == 400)
            #expect(try send("PUT", control + "/faults").status == 405)
            #expect(try fetch(control + "/nothing").status == 404)
        }
        // Off unless asked for: a plain 404 like any unknown path.
        try withSandbox { sandbox throws in
            #expect(try fetch(sandbox.controlURL + "/stats").status == 404)
        }
    }

    // MARK: - Calls

    @Test func callListingMatchesTheDataAndUpdatesShowInIt() throws {
        try withSandbox(controlled()) { sandbox in
            let control = sandbox.controlURL
            let listed = try fetch(control + "/calls?vendor=callrail").json["calls"]?.items ?? []
            let calls = sandbox.calls(vendor: .callrail)
            #expect(listed.count == calls.count && calls.count == 46)
            for (item, call) in zip(listed, calls) {
                #expect(item["id"]?.text == call.id && item["account"]?.text == call.account)
                #expect(item["started_at"]?.text == call.startedAt.rfc3339)
                #expect(item["version"]?.integer == 0 && item["updated_at"] == .null)
                #expect(item["record"] == call.record)
            }
            let target = calls[5]
            let oneAccount = try fetch(control + "/calls?vendor=callrail&records=0&account=\(target.account)").json["calls"]?.items ?? []
            #expect(oneAccount.count == 23 && oneAccount.allSatisfy { $0["record"] == nil })

            // No change named: a new recording URL, so the content changes.
            let bumped = try send("POST", control + "/calls/update", #"{"vendor":"callrail","id":"\#(target.id)"}"#)
            #expect(bumped.status == 200)
            #expect(bumped.json["version"]?.integer == 1)
            #expect(bumped.json["updated_at"]?.text != nil)
            let served = try #require(sandbox.call(vendor: .callrail, id: target.id))
            #expect(served.record != target.record && served.version == 1)
            #expect(bumped.json["record"] == served.record)

            let tagged = try send("POST", control + "/calls/update",
                                  #"{"vendor":"callrail","account":"\#(target.account)","id":"\#(target.id)","tags":["vip"],"fields":{"note":"late"}}"#).json
            #expect(tagged["version"]?.integer == 2)
            #expect(tagged[path: "record", "note"]?.text == "late")
            let relisted = try fetch(control + "/calls?vendor=callrail").json["calls"]?.items ?? []
            #expect(relisted.first { $0["id"]?.text == target.id }?["version"]?.integer == 2)

            #expect(try send("POST", control + "/calls/update", #"{"vendor":"callrail","id":"CALnope"}"#).status == 404)

            let added = try send("POST", control + "/calls/add", #"{"vendor":"ctm","started_at":"2024-05-03T10:00:00Z"}"#)
            #expect(added.status == 200)
            #expect(added.json["started_at"]?.text == "2024-05-03T10:00:00Z")
            #expect(sandbox.calls(vendor: .ctm).count == 47)
        }
    }

    // MARK: - Chaos

    /// Sends `count` CallKeeper requests and returns each one's (status, outcome, delayed).
    func fates(_ sandbox: VendorSandbox, count: Int) throws -> [String] {
        let client = HTTPClient(), url = callKeeperProbe(sandbox)
        for _ in 0..<count { _ = try client.request("GET", url) }
        return sandbox.requests(for: .callkeeper).map { "\($0.status) \($0.outcome) \($0.delay != nil)" }
    }

    @Test func chaosReplaysTheSameFatesForTheSameSeed() throws {
        let chaos = try SandboxChaos(stormRate: 0.2, failRate: 0.2, slowRate: 0.1, slowDelay: .milliseconds(1), seed: 7)
        let first = try withSandbox(controlled()) { sandbox in
            sandbox.faults.startChaos(chaos)
            return try fates(sandbox, count: 150)
        }
        // The same chaos asked for over HTTP, with other vendors' traffic in between.
        let second = try withSandbox(controlled()) { sandbox in
            let started = try send("POST", sandbox.controlURL + "/chaos",
                                   #"{"storm_rate":0.2,"fail_rate":0.2,"slow_rate":0.1,"slow_ms":1,"seed":7}"#)
            #expect(started.json[path: "chaos", "seed"]?.integer == 7)
            _ = try fetch(sandbox.baseURL(for: .ctm) + "/api/v1/accounts", headers: ctmAuth)
            return try fates(sandbox, count: 150)
        }
        let other = try withSandbox(controlled()) { sandbox in
            var reseeded = chaos
            reseeded.seed = 8
            sandbox.faults.startChaos(reseeded)
            return try fates(sandbox, count: 150)
        }
        #expect(first == second)
        #expect(first != other)
        #expect(Set(first).count > 3, "storms, failures, delays and served answers all occur")
    }

    @Test func chaosRatesAreRoughlyAsConfigured() throws {
        try withSandbox(controlled()) { sandbox in
            sandbox.faults.startChaos(try SandboxChaos(stormRate: 0.1, failRate: 0.1, slowRate: 0.05, slowDelay: .milliseconds(1),
                                                       seed: 42, retryAfterSeconds: 3, failStatuses: [503], vendors: [.callkeeper]))
            _ = try fates(sandbox, count: 1000)
            let stats = try fetch(sandbox.controlURL + "/stats").json
            let callKeeper = try #require(stats[path: "vendors", "callkeeper"])
            let storms = try #require(callKeeper["injected_storms"]?.integer)
            let failures = try #require(callKeeper["injected_failures"]?.integer)
            let delayed = try #require(callKeeper["delayed"]?.integer)
            #expect((60...140).contains(storms))
            #expect((60...140).contains(failures))
            #expect((20...85).contains(delayed))
            #expect(callKeeper[path: "by_status", "503"]?.integer == failures)
            #expect(callKeeper[path: "by_status", "429"]?.integer == storms)
            #expect(callKeeper["over_budget"]?.integer == 0)
            // Only the vendors asked for: CTM untouched.
            let ctm = try (0..<20).map { _ in try fetch(sandbox.baseURL(for: .ctm) + "/api/v1/accounts", headers: ctmAuth).status }
            #expect(ctm.allSatisfy { $0 == 200 })
            _ = try send("DELETE", sandbox.controlURL + "/chaos")
            #expect(sandbox.faults.currentChaos == nil)
        }
    }

    // MARK: - The binary

    /// `callfeed-sandbox` next to the test bundle (SwiftPM builds it with the tests).
    static func binary() throws -> URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("callfeed-sandbox"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug/callfeed-sandbox"),
        ]
        return try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) },
                            "callfeed-sandbox binary not found; looked in \(candidates.map(\.path))")
    }

    @Test func theBinaryPrintsJSONAndObeysItsControlEndpoints() throws {
        let process = Process()
        process.executableURL = try Self.binary()
        process.arguments = ["--port", "0", "--control", "--print-json", "--seed", "3", "--rate-limit", "ctm=5/60"]
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        // The first line is the whole description.
        var line: [UInt8] = []
        let reader = stdout.fileHandleForReading
        while line.last != UInt8(ascii: "\n") {
            let byte = try #require(try reader.read(upToCount: 1), "callfeed-sandbox exited before printing")
            line += byte
        }
        let info = try JSONValue.parse(line.dropLast())
        let control = try #require(info["control"]?.text)
        let justCall = try #require(info[path: "vendors", "justcall"])
        let base = try #require(justCall["base_url"]?.text)
        let authorization = try #require(justCall["accounts"]?.items.first?["authorization"]?.text)
        #expect(info["seed"]?.integer == 3)
        #expect(info[path: "vendors", "ctm", "rate_limit", "windows"]?.items.first?["limit"]?.integer == 5)
        #expect(info[path: "vendors", "ctm", "credentials", "access_key"]?.text == "ctm_sandbox_access_key")
        #expect(try fetch(control + "/info").json == info)

        _ = try send("POST", control + "/faults", #"{"vendor":"justcall","kind":"storm","count":1,"retry_after":2}"#)
        let users = base + "/v2.1/users"
        let stormed = try fetch(users, headers: [("Authorization", authorization)])
        #expect(stormed.status == 429 && stormed.headers["retry-after"] == "2")
        #expect(try fetch(users, headers: [("Authorization", authorization)]).status == 200)
        let stats = try fetch(control + "/stats").json
        #expect(stats[path: "vendors", "justcall", "injected_storms"]?.integer == 1)
        #expect(stats[path: "vendors", "justcall", "requests"]?.integer == 2)

        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect((try reader.readToEnd() ?? Data()).isEmpty, "stdout holds the JSON line only")
    }
}
