import CallFeedCore
import HTTPServer

/// The test-only control endpoints under `/_sandbox/`: what an in-process test does through
/// ``VendorSandbox/faults``, ``VendorSandbox/requests`` and ``VendorSandbox/calls(vendor:)``, over
/// HTTP for a test in another process (the fault suite drives `callfeed-sandbox --control` while
/// `callfeed-ingest` polls it). Served only with ``SandboxConfiguration/controlEndpoints``; the
/// requests are not logged and use no vendor's budget. Bodies and answers are JSON; a bad request
/// is a 400 `{"error": …}`. The formats are in docs/sandbox.md, "Fault control (tests)".
extension VendorSandbox {
    /// The first path segment of the control endpoints.
    static let controlSegment = "_sandbox"

    /// `http://127.0.0.1:PORT/_sandbox`, whether or not the endpoints are enabled.
    public var controlURL: String { rootURL + "/" + Self.controlSegment }

    // MARK: - Routing

    func control(_ http: HTTPRequest) -> HTTPResponse {
        let route = String(http.path.dropFirst(Self.controlSegment.count + 1))
        do throws(VendorSandboxError) {
            switch (http.method, route) {
            case ("GET", "/info"): return .json(200, summaryValue())
            case ("GET", "/faults"): return .json(200, faultState())
            case ("POST", "/faults"): try queueFault(ControlBody(http.body)); return .json(200, faultState())
            case ("DELETE", "/faults"): faults.reset(); return .json(200, faultState())
            case ("POST", "/chaos"): faults.startChaos(try chaos(ControlBody(http.body))); return .json(200, faultState())
            case ("DELETE", "/chaos"): faults.stopChaos(); return .json(200, faultState())
            case ("GET", "/stats"): return .json(200, stats())
            case ("GET", "/requests"): return .json(200, try requestLog(http.query))
            case ("DELETE", "/requests"): clearRequests(); return .json(200, stats())
            case ("DELETE", "/rate-limits"): resetRateLimits(); return .json(200, .object([:]))
            case ("GET", "/calls"): return .json(200, try callList(http.query))
            case ("POST", "/calls/update"): return try updatedCall(ControlBody(http.body))
            case ("POST", "/calls/add"): return .json(200, try addedCall(ControlBody(http.body)))
            case (_, "/info"), (_, "/faults"), (_, "/chaos"), (_, "/stats"), (_, "/requests"), (_, "/rate-limits"),
                 (_, "/calls"), (_, "/calls/update"), (_, "/calls/add"):
                return .error(405, "\(http.method) is not allowed on \(http.path)")
            default:
                return .error(404, "unknown control path \(http.path); see docs/sandbox.md, Fault control (tests)")
            }
        } catch {
            return .error(400, error.reason)
        }
    }

    // MARK: - Faults and chaos

    /// `{"vendor", "kind": "storm|fail|slow", "count", "status", "retry_after", "delay_ms"}`.
    private func queueFault(_ body: ControlBody) throws(VendorSandboxError) {
        let vendor = try body.vendor()
        let count = try body.int("count") ?? 1
        guard count >= 1 else { throw VendorSandboxError(reason: "count must be at least 1") }
        switch try body.string("kind") {
        case "storm":
            faults.rateLimitStorm(vendor: vendor, count: count, retryAfter: try body.retryAfter())
        case "fail":
            let status = try body.int("status") ?? 503
            guard (400...599).contains(status) else { throw VendorSandboxError(reason: "status must be 4xx or 5xx") }
            faults.fail(vendor: vendor, status: status, count: count)
        case "slow":
            guard let delay = try body.int("delay_ms"), delay >= 0 else {
                throw VendorSandboxError(reason: "a slow fault needs delay_ms (milliseconds, not negative)")
            }
            faults.slow(vendor: vendor, delay: .milliseconds(delay), count: count)
        default:
            throw VendorSandboxError(reason: "kind must be storm, fail or slow")
        }
    }

    /// `{"storm_rate", "fail_rate", "slow_rate", "slow_ms", "seed", "retry_after", "fail_statuses", "vendors"}`.
    private func chaos(_ body: ControlBody) throws(VendorSandboxError) -> SandboxChaos {
        var vendors = Set(SandboxVendor.all)
        if let names = try body.strings("vendors") { vendors = Set(try names.map(ControlBody.vendor(named:))) }
        return try SandboxChaos(stormRate: try body.double("storm_rate") ?? 0, failRate: try body.double("fail_rate") ?? 0,
                                slowRate: try body.double("slow_rate") ?? 0, slowDelay: .milliseconds(try body.int("slow_ms") ?? 5000),
                                seed: UInt64(clamping: try body.int("seed") ?? 1), retryAfterSeconds: try body.retryAfter(),
                                failStatuses: try body.ints("fail_statuses") ?? [500, 502, 503, 504], vendors: vendors)
    }

    /// `{"pending": {vendor: {"storms", "failures", "slow"}}, "chaos": {…} or null}`.
    private func faultState() -> JSONValue {
        var pending: [String: JSONValue] = [:]
        for vendor in SandboxVendor.all {
            let p = faults.pending(vendor: vendor)
            pending[vendor.name] = .object(["storms": .int(p.storms), "failures": .int(p.failures), "slow": .int(p.delays)])
        }
        return .object(["pending": .object(pending), "chaos": faults.currentChaos.map(Self.json) ?? .null])
    }

    private static func json(_ chaos: SandboxChaos) -> JSONValue {
        .object(["storm_rate": .double(chaos.stormRate), "fail_rate": .double(chaos.failRate),
                 "slow_rate": .double(chaos.slowRate), "slow_ms": .int(Int64(RateLimiterMath.milliseconds(chaos.slowDelay))),
                 "seed": Int64(exactly: chaos.seed).map { .int($0) } ?? .string(String(chaos.seed)), "retry_after": chaos.retryAfterSeconds.map { .int($0) } ?? .null,
                 "fail_statuses": .array(chaos.failStatuses.map { .int($0) }),
                 "vendors": .array(SandboxVendor.all.filter(chaos.vendors.contains).map { .string($0.name) })])
    }

    // MARK: - Request log and stats

    /// Per vendor: requests, by status, and who decided the 429s and 5xx (from the request log).
    private func stats() -> JSONValue {
        let log = requests
        var vendors: [String: JSONValue] = [:]
        for vendor in SandboxVendor.all {
            let mine = log.filter { $0.vendor == vendor }
            var byStatus: [String: Int] = [:]
            for request in mine { byStatus[String(request.status), default: 0] += 1 }
            func count(_ outcome: SandboxRequest.Outcome) -> JSONValue { .int(mine.count(where: { $0.outcome == outcome })) }
            vendors[vendor.name] = .object([
                "requests": .int(mine.count), "by_status": .object(byStatus.mapValues { .int($0) }),
                "over_budget": count(.overBudget), "injected_storms": count(.injectedStorm),
                "injected_failures": count(.injectedFailure), "delayed": .int(mine.count(where: { $0.delay != nil })),
            ])
        }
        return .object(["requests": .int(log.count), "vendors": .object(vendors)])
    }

    /// `?vendor=ctm&since=N`: the log from index N (0 by default), `next` = the index to ask next.
    private func requestLog(_ query: [String: String]) throws(VendorSandboxError) -> JSONValue {
        let vendor = try query["vendor"].map(ControlBody.vendor(named:))
        guard let since = Int(query["since"] ?? "0"), since >= 0 else { throw VendorSandboxError(reason: "since must be a log index") }
        let log = requests
        let entries = log.indices.dropFirst(since).filter { vendor == nil || log[$0].vendor == vendor }.map { n in
            let r = log[n]
            let target = r.query.isEmpty ? r.path : r.path + "?" + QueryString.display(r.query)
            return JSONValue.object([
                "index": .int(n), "vendor": .string(orNull: r.vendor?.name), "method": .string(r.method),
                "path": .string(r.path), "query": .object(r.query.mapValues { .string($0) }), "target": .string(target),
                "status": .int(r.status), "outcome": .string(r.outcome.name), "time": .string(r.time.rfc3339),
                "delay_ms": r.delay.map { .int(Int64(RateLimiterMath.milliseconds($0))) } ?? .null,
            ])
        }
        return .object(["requests": .array(entries), "next": .int(max(since, log.count))])
    }

    // MARK: - Calls

    /// `?vendor=ctm[&account=ID][&records=0]`: the calls as currently served, account by account.
    private func callList(_ query: [String: String]) throws(VendorSandboxError) -> JSONValue {
        let vendor = try ControlBody.vendor(named: query["vendor"] ?? "")
        let withRecords = query["records"] != "0" && query["records"] != "false"
        let held = query["account"].map { calls(vendor: vendor, account: $0) } ?? calls(vendor: vendor)
        return .object(["vendor": .string(vendor.name), "calls": .array(held.map { Self.json($0, record: withRecords) })])
    }

    /// `{"vendor", "id", "account"?, "recording"?, "tags"?, "fields"?}`; with no change given, a new
    /// recording URL (so the call's content, and its revision, changes).
    private func updatedCall(_ body: ControlBody) throws(VendorSandboxError) -> HTTPResponse {
        let vendor = try body.vendor()
        let id = try body.string("id")
        guard let account = try body.optionalString("account") ?? call(vendor: vendor, id: id)?.account,
              let current = calls(vendor: vendor, account: account).first(where: { $0.id == id }) else {
            return .error(404, "\(vendor) has no call \(id)")
        }
        var changes: [SandboxCallChange] = []
        if let recording = body.member("recording") { changes.append(.recording(recording.text)) }
        if let tags = try body.strings("tags") { changes.append(.tags(tags)) }
        if let fields = body.member("fields") {
            guard let members = fields.objectValue else { throw VendorSandboxError(reason: "fields must be an object of dotted paths") }
            changes += members.keys.sorted().map { .field($0, members[$0] ?? .null) }
        }
        if changes.isEmpty {
            changes = [.recording("https://recordings.sandbox.invalid/\(vendor.name)/\(id)/v\(current.version + 1).mp3")]
        }
        guard let api = apis[vendor], let updated = updateCall(vendor: vendor, account: account, id: id, edit: { record in
            record = changes.reduce(record) { api.apply($1, to: $0) }
        }) else { return .error(404, "\(vendor) has no call \(id)") }
        return .json(200, Self.json(updated, record: true))
    }

    /// `{"vendor", "account"?, "started_at"?, "oddity"?}`: a new call (first account, now, by default).
    private func addedCall(_ body: ControlBody) throws(VendorSandboxError) -> JSONValue {
        let vendor = try body.vendor()
        let owners = accounts(vendor: vendor).map(\.id)
        let account = try body.optionalString("account") ?? owners.first ?? ""
        guard owners.contains(account) else { throw VendorSandboxError(reason: "\(vendor) has no account \(account)") }
        var startedAt = configuration.now()
        if let text = try body.optionalString("started_at") {
            guard let parsed = Timestamp.parseISO8601(text, defaultUTCOffsetSeconds: 0) else {
                throw VendorSandboxError(reason: "started_at must be RFC 3339")
            }
            startedAt = parsed
        }
        let oddity = try body.optionalString("oddity").map { name throws(VendorSandboxError) in
            guard let known = [SandboxOddity.unparseableTime, .missingTime, .garbagePhone].first(where: { $0.name == name }) else {
                throw VendorSandboxError(reason: "oddity must be unparseable-time, missing-time or garbage-phone")
            }
            return known
        }
        return Self.json(addCall(vendor: vendor, account: account, at: startedAt, oddity: oddity), record: true)
    }

    private static func json(_ call: SandboxCall, record: Bool) -> JSONValue {
        var members: [String: JSONValue] = [
            "account": .string(call.account), "id": .string(call.id), "started_at": .string(call.startedAt.rfc3339),
            "version": .int(call.version), "updated_at": .string(orNull: call.updatedAt?.rfc3339),
            "oddity": .string(orNull: call.oddity?.name),
        ]
        if record { members["record"] = call.record }
        return .object(members)
    }
}

/// A control request's JSON object body, read with typed errors.
private struct ControlBody {
    let members: [String: JSONValue]

    init(_ bytes: [UInt8]) throws(VendorSandboxError) {
        guard let parsed = try? JSONValue.parse(bytes), let members = parsed.objectValue else {
            throw VendorSandboxError(reason: "the body must be a JSON object")
        }
        self.members = members
    }

    static func vendor(named name: String) throws(VendorSandboxError) -> SandboxVendor {
        guard let vendor = SandboxVendor(name: name) else {
            throw VendorSandboxError(reason: "vendor must be one of \(SandboxVendor.all.map(\.name).joined(separator: ", "))")
        }
        return vendor
    }

    /// A member, nil when absent (a JSON `null` is returned as `.null`).
    func member(_ key: String) -> JSONValue? { members[key] }

    func vendor() throws(VendorSandboxError) -> SandboxVendor { try Self.vendor(named: try string("vendor")) }

    func string(_ key: String) throws(VendorSandboxError) -> String {
        guard let text = try optionalString(key) else { throw VendorSandboxError(reason: "\(key) is required") }
        return text
    }

    func optionalString(_ key: String) throws(VendorSandboxError) -> String? {
        guard let value = members[key], !value.isNull else { return nil }
        guard case .string(let text) = value else { throw VendorSandboxError(reason: "\(key) must be a string") }
        return text
    }

    func int(_ key: String) throws(VendorSandboxError) -> Int? {
        guard let value = members[key], !value.isNull else { return nil }
        guard case .int(let n) = value, let small = Int(exactly: n) else { throw VendorSandboxError(reason: "\(key) must be an integer") }
        return small
    }

    func double(_ key: String) throws(VendorSandboxError) -> Double? {
        switch members[key] {
        case nil, .null?: return nil
        case .int(let n)?: return Double(n)
        case .double(let d)?: return d
        default: throw VendorSandboxError(reason: "\(key) must be a number")
        }
    }

    func strings(_ key: String) throws(VendorSandboxError) -> [String]? {
        guard let value = members[key], !value.isNull else { return nil }
        guard let items = value.arrayValue?.compactMap({ item -> String? in if case .string(let s) = item { s } else { nil } }),
              items.count == value.arrayValue?.count else { throw VendorSandboxError(reason: "\(key) must be an array of strings") }
        return items
    }

    func ints(_ key: String) throws(VendorSandboxError) -> [Int]? {
        guard let value = members[key], !value.isNull else { return nil }
        guard let items = value.arrayValue?.compactMap({ $0.integer.flatMap { Int(exactly: $0) } }),
              items.count == value.arrayValue?.count else { throw VendorSandboxError(reason: "\(key) must be an array of integers") }
        return items
    }

    /// `retry_after`: 1 when absent, no header when `null`.
    func retryAfter() throws(VendorSandboxError) -> Int? {
        guard let value = members["retry_after"] else { return 1 }
        return value.isNull ? nil : try int("retry_after")
    }
}
