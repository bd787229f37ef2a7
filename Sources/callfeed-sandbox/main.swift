import ArgumentParser
import CallFeedCore
import Dispatch
import Foundation
import VendorSandbox

/// `callfeed-sandbox`: runs the vendor sandbox until SIGINT or SIGTERM.
struct SandboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "callfeed-sandbox",
        abstract: "Serve CTM, CallKeeper, CallRail and JustCall APIs with generated calls, for polling without vendor accounts.",
        discussion: """
            One port serves every vendor under its own prefix: /ctm (CTM REST v1), /callkeeper (CallKeeper \
            export v3), /callrail (CallRail v3) and /justcall (JustCall v2.1), each with the vendor's documented \
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

    mutating func validate() throws {
        if let from, Self.instant(from) == nil { throw ValidationError("--from must be YYYY-MM-DD or an RFC 3339 date-time") }
        if let to, Self.instant(to) == nil { throw ValidationError("--to must be YYYY-MM-DD or an RFC 3339 date-time") }
        if let start = from.flatMap(Self.instant), let end = to.flatMap(Self.instant), start >= end {
            throw ValidationError("--from must be before --to")
        }
        guard accounts >= 1, callsPerAccount >= 0, oddRecords >= 0 else {
            throw ValidationError("--accounts must be at least 1; --calls-per-account and --odd-records not negative")
        }
    }

    func run() throws {
        let configuration = SandboxConfiguration(seed: seed, accounts: accounts, callsPerAccount: callsPerAccount,
                                                 from: from.flatMap(Self.instant), to: to.flatMap(Self.instant),
                                                 oddRecords: oddRecords)
        let sandbox = VendorSandbox(configuration: configuration)
        try sandbox.start(host: host, port: port)
        // Unbuffered, so a script reading the pipe sees the URLs at once.
        FileHandle.standardOutput.write(Data((sandbox.summary() + "\n").utf8))

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
        FileHandle.standardOutput.write(Data("callfeed-sandbox: stopped, \(sandbox.requests.count) requests served\n".utf8))
        withExtendedLifetime(sources) {}
    }

    /// `YYYY-MM-DD` (UTC midnight) or an RFC 3339 date-time.
    static func instant(_ text: String) -> Timestamp? {
        Timestamp.parseISO8601(text, defaultUTCOffsetSeconds: 0)
    }
}

SandboxCommand.main()
