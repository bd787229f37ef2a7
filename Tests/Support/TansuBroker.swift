import Foundation
import Synchronization

/// A tansu broker of a test's own (docs/reliability.md, "Brokers"): the binary that
/// scripts/services/tansu.sh installed (`CALLFEED_TEST_TANSU_BIN`), S3 storage in a bucket of its
/// own on the test S3 server (`CALLFEED_TEST_TANSU_S3`), and scripts/services/kafka_tags_proxy.py in
/// front of it, whose address the broker advertises (Debian's librdkafka 2.0.2 cannot read tansu's
/// ApiVersions answer directly: see the script). With ``Storage/s3`` the storage is outside the
/// broker process, so ``kill()`` then ``start()`` is a broker crash and restart that keeps every
/// acknowledged record.
public final class TansuBroker: @unchecked Sendable {
    /// Where the broker keeps its log.
    public enum Storage: Sendable {
        /// In the broker process (`memory://`): gone with it. The default: S3 on moto's
        /// single-threaded Python server made a 1,000-webhook test take 8 minutes instead of 30 s.
        case memory
        /// A bucket of its own on the test S3 server (`s3://`): survives a broker SIGKILL.
        case s3
    }
    public let storage: Storage
    /// `127.0.0.1:<proxy port>`, to pass as `bootstrap.servers`.
    public let bootstrapServers: String
    public let bucket: String
    private let binary: String
    private let s3: String
    private let brokerPort: UInt16
    private let proxyPort: UInt16
    private let proxy: Process
    private let broker = Mutex<Process?>(nil)
    /// The broker's output of every start (for failure messages).
    private let logs = Mutex<[CollectedOutput]>([])

    /// Whether the tests have tansu (scripts/test.sh installs and configures it).
    public static var isAvailable: Bool { TestServers.tansuBinary != nil && TestServers.tansuS3 != nil }

    public init(storage: Storage = .memory) throws {
        self.storage = storage
        guard let binary = TestServers.tansuBinary, let s3 = TestServers.tansuS3 else {
            throw TansuError("tansu is not configured (CALLFEED_TEST_TANSU_BIN, CALLFEED_TEST_TANSU_S3): run scripts/test.sh")
        }
        self.binary = binary
        self.s3 = s3
        bucket = "tansu-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        guard Self.run(["/usr/bin/env", "curl", "-sf", "-X", "PUT", "-o", "/dev/null", "\(s3)/\(bucket)"]) == 0 else {
            throw TansuError("cannot create the S3 bucket \(bucket) at \(s3)")
        }
        brokerPort = try freeLoopbackPort()
        proxyPort = try freeLoopbackPort()
        bootstrapServers = "127.0.0.1:\(proxyPort)"

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/services/kafka_tags_proxy.py")
        let proxy = Process()
        proxy.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        proxy.arguments = ["python3", script.path, "\(proxyPort)", "\(brokerPort)"]
        let out = Pipe()
        proxy.standardOutput = out
        proxy.standardError = FileHandle.nullDevice
        let proxyOutput = CollectedOutput(out)
        try proxy.run()
        self.proxy = proxy
        guard Self.wait(.seconds(20), { proxyOutput.value.contains("listening") }) else {
            proxy.terminate()
            throw TansuError("the Kafka tags proxy did not start")
        }
        try start()
    }

    deinit { shutdown() }

    /// Starts the broker (again) on its port and storage; returns once it accepts connections.
    public func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["broker",
                             "--listener-url", "tcp://127.0.0.1:\(brokerPort)",
                             "--advertised-listener-url", "tcp://\(bootstrapServers)",
                             "--storage-engine", storage == .s3 ? "s3://\(bucket)/" : "memory://tansu/"]
        process.environment = ProcessInfo.processInfo.environment.merging([
            "AWS_ACCESS_KEY_ID": "callfeed-test", "AWS_SECRET_ACCESS_KEY": "callfeed-test",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT": s3, "AWS_ALLOW_HTTP": "true",
        ]) { _, new in new }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        let output = CollectedOutput(out)
        logs.withLock { $0.append(output) }
        try process.run()
        broker.withLock { $0 = process }
        guard Self.wait(.seconds(30), { output.value.contains("ready in") }) else {
            throw TansuError("tansu did not start: \(output.value.suffix(1000))")
        }
    }

    /// SIGKILL: a broker crash (no flush, no goodbye to the clients).
    public func kill() { stopBroker(signal: SIGKILL) }

    /// SIGTERM and wait: a clean broker stop.
    public func stop() { stopBroker(signal: SIGTERM) }

    public var isRunning: Bool { broker.withLock { $0?.isRunning ?? false } }

    /// The broker's output so far (every start).
    public var log: String { logs.withLock { $0.map(\.value).joined(separator: "\n--- restart ---\n") } }

    /// Stops the broker and the proxy. The bucket stays on the S3 server until it stops.
    public func shutdown() {
        stopBroker(signal: SIGKILL)
        if proxy.isRunning {
            Foundation.kill(proxy.processIdentifier, SIGKILL)
            _ = Self.wait(.seconds(5)) { !self.proxy.isRunning }
        }
    }

    private func stopBroker(signal: Int32) {
        guard let process = broker.withLock({ $0 }), process.isRunning else { return }
        // Not Process.waitUntilExit: it was seen to miss a child's exit here and hang the test.
        Foundation.kill(process.processIdentifier, signal)
        if !Self.wait(.seconds(10), { !process.isRunning }) {
            Foundation.kill(process.processIdentifier, SIGKILL)
            _ = Self.wait(.seconds(5)) { !process.isRunning }
        }
    }

    static func wait(_ timeout: Duration, _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return condition()
    }

    /// Runs a command to completion, its output discarded; its exit status.
    static func run(_ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

public struct TansuError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// A TCP port free on 127.0.0.1 right now (bound to port 0, read, released).
public func freeLoopbackPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TansuError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw TansuError("cannot find a free port on 127.0.0.1") }
    return UInt16(bigEndian: address.sin_port)
}
