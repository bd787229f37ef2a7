import CallFeedCore
import Dispatch
import Foundation
import HTTPClient
import Synchronization
import Testing
import VendorSandbox

/// Rate limits, injected faults and the request log.
@Suite struct FaultAndLimitTests {
    let ctmAuth = [("Authorization", "Basic " + Data("ctm_sandbox_access_key:ctm_sandbox_secret_key".utf8).base64EncodedString())]
    let callRailAuth = [("Authorization", "Token token=\"callrail_sandbox_api_key\"")]

    @Test func ctmAnswers429WithRetryAfterOnceTheLimitIsUsed() throws {
        let limits = [SandboxVendor.ctm: SandboxRateLimit(windows: [.perMinute(3)])]
        try withSandbox(testConfiguration(rateLimits: limits)) { sandbox in
            let url = sandbox.baseURL(for: .ctm) + "/api/v1/accounts"
            let client = HTTPClient()
            // A refused login does not use the budget.
            #expect(try fetch(url, client: client).status == 401)
            let statuses = try (0..<5).map { _ in try fetch(url, headers: ctmAuth, client: client).status }
            #expect(statuses == [200, 200, 200, 429, 429])
            let refused = try fetch(url, headers: ctmAuth, client: client)
            let retryAfter = try #require(Int(refused.headers["retry-after"] ?? ""))
            #expect((1...60).contains(retryAfter))
            #expect(refused.json["error"]?.text != nil)
            // The log shows the budget was never exceeded: at most 3 successes in the window.
            #expect(sandbox.requests(for: .ctm).filter { $0.status == 200 }.count == 3)
            sandbox.resetRateLimits()
            #expect(try fetch(url, headers: ctmAuth, client: client).status == 200)
        }
    }

    @Test func callRailLimitsWithoutRetryAfterAsDocumented() throws {
        let limits = [SandboxVendor.callrail: SandboxRateLimit(windows: [.perHour(2), .perDay(10)], sendsRetryAfter: false)]
        try withSandbox(testConfiguration(rateLimits: limits)) { sandbox in
            let url = sandbox.baseURL(for: .callrail) + "/v3/a.json"
            let responses = try (0..<3).map { _ in try fetch(url, headers: callRailAuth) }
            #expect(responses.map(\.status) == [200, 200, 429])
            #expect(responses[2].headers["retry-after"] == nil)
            #expect(responses[2].json["error"]?.text != nil)
        }
    }

    @Test func shortWindowsRefillAfterTheirPeriod() throws {
        let limits = [SandboxVendor.ctm: SandboxRateLimit(windows: [.init(limit: 2, period: .milliseconds(400))])]
        try withSandbox(testConfiguration(rateLimits: limits)) { sandbox in
            let url = sandbox.baseURL(for: .ctm) + "/api/v1/accounts"
            let client = HTTPClient()
            let first = try (0..<3).map { _ in try fetch(url, headers: ctmAuth, client: client).status }
            #expect(first == [200, 200, 429])
            Thread.sleep(forTimeInterval: 0.5)
            #expect(try fetch(url, headers: ctmAuth, client: client).status == 200)
        }
    }

    @Test func injectedFailuresAnswerTheNextRequestsThenRecover() throws {
        try withSandbox { sandbox in
            let url = sandbox.baseURL(for: .callrail) + "/v3/a.json"
            sandbox.faults.fail(vendor: .callrail, status: 502, count: 2)
            sandbox.faults.fail(vendor: .callrail, status: 500, count: 1)
            // Other vendors are not affected.
            #expect(try fetch(sandbox.baseURL(for: .ctm) + "/api/v1/accounts", headers: ctmAuth).status == 200)
            let responses = try (0..<4).map { _ in try fetch(url, headers: callRailAuth) }
            #expect(responses.map(\.status) == [502, 502, 500, 200])
            #expect(responses[0].text.contains("502 Bad Gateway"))
            #expect(responses[0].headers["content-type"] == "text/html")
            #expect(sandbox.faults.pending(vendor: .callrail).failures == 0)
        }
    }

    @Test func stormAnswers429WithTheGivenRetryAfter() throws {
        try withSandbox { sandbox in
            let url = sandbox.baseURL(for: .justcall) + "/v2.1/users"
            let auth = [("Authorization", "justcall_sandbox_key:justcall_sandbox_secret")]
            sandbox.faults.rateLimitStorm(vendor: .justcall, count: 2, retryAfter: 7)
            let responses = try (0..<3).map { _ in try fetch(url, headers: auth) }
            #expect(responses.map(\.status) == [429, 429, 200])
            #expect(responses[0].headers["retry-after"] == "7")
            #expect(responses[0].headers["x-rate-limit-limit"] != nil)
        }
    }

    @Test func slowAnswersDoNotBlockTheServer() throws {
        try withSandbox { sandbox in
            sandbox.faults.slow(vendor: .ctm, delay: .milliseconds(800), count: 1)
            let url = sandbox.baseURL(for: .ctm) + "/api/v1/accounts"
            let slowStatus = Atomic<Int>(0)
            let slowDone = DispatchSemaphore(value: 0)
            let started = ContinuousClock.now
            DispatchQueue.global().async {
                slowStatus.store((try? fetch(url, headers: ctmAuth).status) ?? -1, ordering: .relaxed)
                slowDone.signal()
            }
            // Wait until the server has taken the slow request (it is logged before its answer is
            // sent), then ask again while it waits.
            while sandbox.requests.isEmpty && ContinuousClock.now - started < .seconds(5) { Thread.sleep(forTimeInterval: 0.005) }
            let fastStarted = ContinuousClock.now
            let fast = try fetch(url, headers: ctmAuth)
            #expect(fast.status == 200)
            #expect(ContinuousClock.now - fastStarted < .milliseconds(500))
            #expect(slowStatus.load(ordering: .relaxed) == 0, "the fast answer came while the slow one was still waiting")
            slowDone.wait()
            #expect(slowStatus.load(ordering: .relaxed) == 200)
            #expect(ContinuousClock.now - started >= .milliseconds(800))
        }
    }

    @Test func requestLogRecordsVendorPathQueryAndStatus() throws {
        try withSandbox { sandbox in
            let account = sandbox.accounts(vendor: .ctm)[0].id
            _ = try fetch(sandbox.baseURL(for: .ctm) + "/api/v1/accounts/\(account)/calls?start_date=2024-05-06&end_date=2024-05-07&page=1",
                          headers: ctmAuth)
            _ = try fetch(sandbox.baseURL(for: .callkeeper) + "/api/index.php?json/v3/ckuser0000000001/call/get/0/2024-05-01")
            _ = try fetch("http://127.0.0.1:\(sandbox.port)/elsewhere")
            let log = sandbox.requests
            #expect(log.count == 3)
            #expect(log[0].vendor == .ctm)
            #expect(log[0].path == "/ctm/api/v1/accounts/\(account)/calls")
            #expect(log[0].query["start_date"] == "2024-05-06")
            #expect(log[0].status == 200)
            #expect(log[1].vendor == .callkeeper)
            #expect(log[1].query.keys.contains("json/v3/ckuser0000000001/call/get/0/2024-05-01"))
            #expect(log[2].vendor == nil && log[2].status == 404)
            sandbox.clearRequests()
            #expect(sandbox.requests.isEmpty)
        }
    }
}
