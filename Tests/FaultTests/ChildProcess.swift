import CallFeedTestSupport
import Foundation
import Synchronization
import Testing

/// One of CallFeed's executables running as a child process, its output collected.
final class ChildProcess: Sendable {
    let name: String
    private let process: Process
    private let stdin: Pipe
    let stdout: CollectedOutput
    let stderr: CollectedOutput

    /// Starts `.build/<config>/<name>` (next to the test bundle) with `arguments` and `environment`
    /// added to this process's environment.
    init(_ name: String, arguments: [String], environment: [String: String] = [:]) throws {
        self.name = name
        let process = Process()
        process.executableURL = try Self.binary(name)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        stdout = CollectedOutput(output)
        stderr = CollectedOutput(errors)
        try process.run()
        self.process = process
        self.stdin = input
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Sends `signal` (SIGKILL: no clean-up at all, as a crash or the OOM killer).
    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the exit; nil if it is still running after `timeout`.
    func waitForExit(_ timeout: Duration = .seconds(30)) -> Int32? {
        guard waitUntil(timeout, { !self.process.isRunning }) else { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGKILL and reap.
    func killHard() {
        signal(SIGKILL)
        process.waitUntilExit()
    }

    func write(line: String) {
        stdin.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    /// Finds an executable of this package: next to the test bundle (`.build/debug/`), else under
    /// the package's `.build/debug`.
    static func binary(_ name: String) throws -> URL {
        try #require(TestBinaries.locate(name), "\(name) not found; looked in \(TestBinaries.candidates(name).map(\.path))")
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes; its last value.
func waitUntil(_ timeout: Duration, _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return condition()
}

/// Runs a command to completion (posix_spawn + waitpid, stdout and stderr to /dev/null) and returns
/// its exit status. Foundation's `Process.waitUntilExit` is not used here: it was seen to miss the
/// exit of `pg_ctl start`, whose server keeps running as a grandchild.
func runToCompletion(_ arguments: [String]) -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ) == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    // WIFEXITED / WEXITSTATUS are macros.
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
}
