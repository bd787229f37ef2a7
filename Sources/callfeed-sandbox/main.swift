import ArgumentParser
import CallFeedCore
import Dispatch
import Foundation
import VendorSandbox

/// `callfeed-sandbox`: runs the vendor sandbox until SIGINT or SIGTERM.
struct SandboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "callfeed-sandbox",
        abstract: "Serve CTM, CallKeeper, CallRail, JustCall, HubSpot, CleverTap and Five9 APIs with generated data, for polling without vendor accounts.",
        discussion: """
            One port serves every vendor under its own prefix: /ctm (CTM REST v1), /callkeeper (CallKeeper \
            export v3), /callrail (CallRail v3), /justcall (JustCall v2.1), /hubspot (HubSpot CRM v3), /clevertap \
            (CleverTap profiles, 2-step cursor) and /five9 (Five9 SOAP reports), each with the vendor's documented \
            auth, pagination, date filters, error bodies and rate limits. The data is generated from --seed, so the \
            same flags always serve the same calls. On start it prints each vendor's base URL, credentials and a \
            curl line to try. Details: docs/sandbox.md.
            """)

    @Option(help: "Port to listen on (0 picks a free one).")
    var port: UInt16 = 8090

    @Option(help: "Address to bind.")
    var host: String = "127.0.0.1"

    @Option(help: "Seed of the generated data.")
    var seed: UInt64 = 1

    @Option(help: "Accounts per vendor.")
    var accounts: Int = 2

    @Option(name: .customLong("calls-per-account"), help: "Calls generated per account.")
    var callsPerAccount: Int = 50

    @Option(help: "First day of the calls (YYYY-MM-DD or RFC 3339, UTC). Default: 7 days before today.")
    var from: String?

    @Option(help: "Day after the last call (YYYY-MM-DD or RFC 3339, UTC, exclusive). Default: today.")
    var to: String?

    @Option(name: .customLong("odd-records"), help: "Deliberately broken records per account (bad time or phone).")
    var oddRecords: Int = 0

    @Option(name: .customLong("rate-limit"),
            help: "A vendor's budget, VENDOR=N/SECONDS[,N/SECONDS...] or VENDOR=none (repeatable), e.g. ctm=30/60.")
    var rateLimits: [String] = []

    @Flag(help: "Serve the test-only control endpoints under /_sandbox/ (faults, chaos, request log, stats, calls).")
    var control = false

    @Flag(name: .customLong("print-json"), help: "Print one JSON line (port, base URLs, credentials, accounts) instead of the summary.")
    var printJSON = false

    @Option(name: .customLong("chaos-storm-rate"), help: "Chaos: probability (0-1) that a request gets the vendor's 429.")
    var chaosStormRate: Double = 0

    @Option(name: .customLong("chaos-fail-rate"), help: "Chaos: probability (0-1) that a request gets a 5xx.")
    var chaosFailRate: Double = 0

    @Option(name: .customLong("chaos-slow-rate"), help: "Chaos: probability (0-1) that an answer is sent --chaos-slow-ms late.")
    var chaosSlowRate: Double = 0

    @Option(name: .customLong("chaos-slow-ms"), help: "Chaos: how late a slow answer is sent, in milliseconds.")
    var chaosSlowMilliseconds: Int = 5000

    @Option(name: .customLong("chaos-seed"), help: "Chaos: seed of the fault sequence (default: --seed).")
    var chaosSeed: UInt64?

    @Option(name: .customLong("chaos-retry-after"), help: "Chaos: Retry-After seconds on a 429 (negative: no header).")
    var chaosRetryAfter: Int = 1

    @Option(name: .customLong("chaos-fail-status"), help: "Chaos: a 5xx status to pick from (repeatable; default 500, 502, 503, 504).")
    var chaosFailStatuses: [Int] = []

    @Option(name: .customLong("chaos-vendor"), help: "Chaos: a vendor it applies to (repeatable; default every vendor).")
    var chaosVendors: [String] = []

    mutating func validate() throws {
        if let from, Self.instant(from) == nil { throw ValidationError("--from must be YYYY-MM-DD or an RFC 3339 date-time") }
        if let to, Self.instant(to) == nil { throw ValidationError("--to must be YYYY-MM-DD or an RFC 3339 date-time") }
        if let start = from.flatMap(Self.instant), let end = to.flatMap(Self.instant), start >= end {
            throw ValidationError("--from must be before --to")
        }
        guard accounts >= 1, callsPerAccount >= 0, oddRecords >= 0 else {
            throw ValidationError("--accounts must be at least 1; --calls-per-account and --odd-records not negative")
        }
        _ = try limits()
        _ = try chaos()
    }

    /// `--rate-limit` by vendor.
    func limits() throws -> [SandboxVendor: SandboxRateLimit] {
        var limits: [SandboxVendor: SandboxRateLimit] = [:]
        for text in rateLimits {
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let vendor = SandboxVendor(name: parts[0]),
                  let limit = SandboxRateLimit.parse(parts[1], sendsRetryAfter: SandboxRateLimit.vendorDefault(for: vendor).sendsRetryAfter)
            else { throw ValidationError("--rate-limit must be VENDOR=N/SECONDS[,N/SECONDS...] or VENDOR=none, got \(text)") }
            limits[vendor] = limit
        }
        return limits
    }

    /// The chaos the `--chaos-*` options ask for; nil when every rate is 0.
    func chaos() throws -> SandboxChaos? {
        guard chaosStormRate > 0 || chaosFailRate > 0 || chaosSlowRate > 0 else { return nil }
        guard chaosSlowMilliseconds >= 0 else { throw ValidationError("--chaos-slow-ms must not be negative") }
        var vendors = Set(SandboxVendor.all)
        if !chaosVendors.isEmpty {
            vendors = Set(try chaosVendors.map { name in
                guard let vendor = SandboxVendor(name: name) else { throw ValidationError("--chaos-vendor: unknown vendor \(name)") }
                return vendor
            })
        }
        do {
            return try SandboxChaos(stormRate: chaosStormRate, failRate: chaosFailRate, slowRate: chaosSlowRate,
                                    slowDelay: .milliseconds(chaosSlowMilliseconds), seed: chaosSeed ?? seed,
                                    retryAfterSeconds: chaosRetryAfter < 0 ? nil : chaosRetryAfter,
                                    failStatuses: chaosFailStatuses.isEmpty ? [500, 502, 503, 504] : chaosFailStatuses,
                                    vendors: vendors)
        } catch {
            throw ValidationError(error.reason)
        }
    }

    func run() throws {
        let configuration = SandboxConfiguration(seed: seed, accounts: accounts, callsPerAccount: callsPerAccount,
                                                 from: from.flatMap(Self.instant), to: to.flatMap(Self.instant),
                                                 oddRecords: oddRecords, rateLimits: try limits(), controlEndpoints: control)
        let sandbox = VendorSandbox(configuration: configuration)
        if let chaos = try chaos() { sandbox.faults.startChaos(chaos) }
        try sandbox.start(host: host, port: port)
        // Unbuffered, so a script reading the pipe sees the URLs at once.
        FileHandle.standardOutput.write(Data(((printJSON ? sandbox.summaryJSON() : sandbox.summary()) + "\n").utf8))

        let stopped = DispatchSemaphore(value: 0)
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)  // the dispatch source takes it from here
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { stopped.signal() }
            source.resume()
            sources.append(source)
        }
        stopped.wait()
        sandbox.stop()
        // With --print-json, stdout holds the one JSON line only.
        (printJSON ? FileHandle.standardError : FileHandle.standardOutput)
            .write(Data("callfeed-sandbox: stopped, \(sandbox.requests.count) requests served\n".utf8))
        withExtendedLifetime(sources) {}
    }

    /// `YYYY-MM-DD` (UTC midnight) or an RFC 3339 date-time.
    static func instant(_ text: String) -> Timestamp? {
        Timestamp.parseISO8601(text, defaultUTCOffsetSeconds: 0)
    }
}

SandboxCommand.main()
