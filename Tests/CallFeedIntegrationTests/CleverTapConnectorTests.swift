import CallFeedApp
import CallFeedCore
import CallFeedPoll
import Foundation
import HTTPClient
import Synchronization
import Testing
import VendorSandbox

/// `callfeed connector` (Airbyte protocol) for CleverTap, through the library with an output sink,
/// against the sandbox on 127.0.0.1.
@Suite("CleverTap connector")
struct CleverTapConnectorTests {
    /// Collects the connector's lines.
    final class Lines: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
        /// Every line parsed; a line that is not JSON fails the test.
        func messages() throws -> [JSONValue] { try all.map { try JSONValue.parse(Array($0.utf8)) } }
        func of(_ type: String) throws -> [JSONValue] { try messages().filter { $0["type"] == .string(type) } }
    }

    static let may8 = Timestamp(year: 2024, month: 5, day: 8)!

    static func sandbox() throws -> VendorSandbox {
        var c = SandboxConfiguration(seed: 3, accounts: 1, callsPerAccount: 30, from: Timestamp(year: 2024, month: 5, day: 1)!, to: may8,
                                     callRailRetentionDays: nil)
        c.cleverTapCursorNotReadyOnce = false
        let sandbox = VendorSandbox(configuration: c)
        try sandbox.start()
        return sandbox
    }

    static func connector(environment: [String: String] = [:], now: Timestamp = may8) -> (Connector, Lines) {
        let lines = Lines()
        let connector = Connector(source: CleverTapConnectorSource(), environment: environment, output: { lines.append($0) },
                                  makeClient: { VendorClient(limiter: RateLimiter(windows: []),
                                                             retry: RetryPolicy(maxRetries: 2, initialDelay: .milliseconds(10))) },
                                  now: { now })
        return (connector, lines)
    }

    /// Writes a JSON file in a fresh temporary directory.
    static func file(_ value: JSONValue, _ name: String = "config.json") throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clevertap-connector-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        try Data(value.canonicalJSON.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func config(_ sandbox: VendorSandbox, passcode: String? = "clevertap-sandbox-passcode", endDate: String? = "20240531") -> JSONValue {
        var members: [String: JSONValue] = [
            "account_id": .string("TEST-R78-ZZ1"), "region": .string("in1"), "event_name": .string("App Launched"),
            "start_date": .int(20_240_401), "batch_size": .int(7), "base_url": .string(sandbox.baseURL(for: .clevertap)),
        ]
        if let passcode { members["passcode"] = .string(passcode) }
        if let endDate { members["end_date"] = .string(endDate) }
        return .object(members)
    }

    static let catalog: JSONValue = .object(["streams": .array([.object([
        "stream": .object(["name": .string("profiles"), "json_schema": .object([:]), "supported_sync_modes": .array([.string("full_refresh")])]),
        "sync_mode": .string("full_refresh"), "destination_sync_mode": .string("overwrite"),
    ])])])

    @Test("spec: one SPEC line with the config's JSON Schema")
    func spec() throws {
        let (connector, lines) = Self.connector()
        #expect(connector.spec() == 0)
        let messages = try lines.messages()
        #expect(messages.count == 1)
        let schema = try #require(messages.first?[path: "spec", "connectionSpecification"])
        #expect(messages.first?["type"] == .string("SPEC"))
        #expect(schema["type"] == .string("object"))
        let properties = try #require(schema["properties"]?.objectValue)
        for key in ["account_id", "passcode", "region", "event_name", "start_date", "end_date", "batch_size"] {
            #expect(properties[key] != nil, "missing \(key)")
        }
        #expect(properties["passcode"]?["airbyte_secret"] == .bool(true))
        let regions = Set(properties["region"]?["enum"]?.arrayValue?.compactMap(\.text) ?? [])
        #expect(regions == ["eu1", "in1", "sg1", "us1", "aps3", "mec1"])
        #expect(properties["start_date"]?["pattern"] == .string("^[0-9]{8}$"))
        #expect(properties["end_date"]?["pattern"] == .string("^[0-9]{8}$"))
        #expect(properties["batch_size"]?["maximum"] == .int(5000))
        let required = Set(schema["required"]?.arrayValue?.compactMap(\.text) ?? [])
        #expect(required.isSuperset(of: ["account_id", "passcode", "event_name", "start_date"]))
    }

    @Test("check: SUCCEEDED against the sandbox (passcode from the file or CLEVERTAP_PASSCODE), FAILED with a wrong one")
    func check() throws {
        let sandbox = try Self.sandbox()
        defer { sandbox.stop() }
        let (good, goodLines) = Self.connector()
        #expect(good.check(configPath: try Self.file(Self.config(sandbox))) == 0)
        #expect(try goodLines.of("CONNECTION_STATUS").map { $0[path: "connectionStatus", "status"] } == [.string("SUCCEEDED")])
        #expect(sandbox.requests(for: .clevertap).map(\.method) == ["POST"])

        let (fromEnv, envLines) = Self.connector(environment: ["CLEVERTAP_PASSCODE": "clevertap-sandbox-passcode"])
        fromEnv.check(configPath: try Self.file(Self.config(sandbox, passcode: nil)))
        #expect(try envLines.of("CONNECTION_STATUS").first?[path: "connectionStatus", "status"] == .string("SUCCEEDED"))

        let (bad, badLines) = Self.connector()
        #expect(bad.check(configPath: try Self.file(Self.config(sandbox, passcode: "wrong-passcode"))) == 0)
        let status = try #require(try badLines.of("CONNECTION_STATUS").first?["connectionStatus"])
        #expect(status["status"] == .string("FAILED"))
        #expect(status["message"]?.text?.contains("401") == true)
        #expect(status["message"]?.text?.contains("wrong-passcode") == false)

        // A config error fails the check without a request.
        let (broken, brokenLines) = Self.connector()
        sandbox.clearRequests()
        broken.check(configPath: try Self.file(Self.config(sandbox).setting("batch_size", .int(9000))))
        let message = try #require(try brokenLines.of("CONNECTION_STATUS").first?[path: "connectionStatus", "message"]?.text)
        #expect(message.contains("batch_size"))
        #expect(sandbox.requests(for: .clevertap).isEmpty)
    }

    @Test("discover: the profiles stream, open schema, objectId key; incremental only without end_date")
    func discover() throws {
        let sandbox = try Self.sandbox()
        defer { sandbox.stop() }
        let (fixed, fixedLines) = Self.connector()
        #expect(fixed.discover(configPath: try Self.file(Self.config(sandbox))) == 0)
        let streams = try #require(try fixedLines.of("CATALOG").first?[path: "catalog", "streams"]?.arrayValue)
        #expect(streams.count == 1)
        let stream = try #require(streams.first)
        #expect(stream["name"] == .string("profiles"))
        #expect(stream[path: "json_schema", "additionalProperties"] == .bool(true))
        #expect(stream[path: "json_schema", "properties", "phone_e164"] != nil)
        #expect(stream["supported_sync_modes"] == .array([.string("full_refresh")]))
        #expect(stream["source_defined_primary_key"] == .array([.array([.string("objectId")])]))

        let (open, openLines) = Self.connector()
        open.discover(configPath: try Self.file(Self.config(sandbox, endDate: nil)))
        let modes = try openLines.of("CATALOG").first?[path: "catalog", "streams"]?.arrayValue?.first?["supported_sync_modes"]
        #expect(modes == .array([.string("full_refresh"), .string("incremental")]))
        #expect(sandbox.requests(for: .clevertap).isEmpty)
    }

    @Test("read: a RECORD per profile (the mapped data) and a final STATE")
    func read() throws {
        let sandbox = try Self.sandbox()
        defer { sandbox.stop() }
        let (connector, lines) = Self.connector()
        let code = connector.read(configPath: try Self.file(Self.config(sandbox)), catalogPath: try Self.file(Self.catalog, "catalog.json"))
        #expect(code == 0)
        let messages = try lines.messages()
        let records = messages.filter { $0["type"] == .string("RECORD") }
        let profiles = sandbox.calls(vendor: .clevertap, account: "TEST-R78-ZZ1")
        #expect(records.count == profiles.count)
        #expect(records.allSatisfy { $0[path: "record", "stream"] == .string("profiles") && $0[path: "record", "emitted_at"]?.integer != nil })
        #expect(Set(records.compactMap { $0[path: "record", "data", "objectId"]?.text }) == Set(profiles.map(\.id)))
        #expect(records.allSatisfy { $0[path: "record", "data", "phone_e164"]?.text?.hasPrefix("+1") == true })
        #expect(messages.last?["type"] == .string("STATE"))
        #expect(messages.last?[path: "state", "stream", "stream_descriptor", "name"] == .string("profiles"))
        #expect(messages.last?[path: "state", "stream", "stream_state", "until"] == .string(Self.may8.rfc3339))
        #expect(messages.filter { $0["type"] == .string("STATE") }.count == 1)
        #expect(messages.contains { $0["type"] == .string("LOG") })
        // Only RECORD, STATE and LOG: nothing else on the protocol stream.
        #expect(messages.allSatisfy { ["RECORD", "STATE", "LOG"].contains($0["type"]?.text ?? "") })
        // 30 profiles in pages of 7: one POST and five GETs.
        #expect(sandbox.requests(for: .clevertap).map(\.method) == ["POST"] + Array(repeating: "GET", count: 5))
    }

    @Test("read incremental with the previous STATE: only profiles active since that day, the new one included")
    func readIncremental() throws {
        let sandbox = try Self.sandbox()
        defer { sandbox.stop() }
        let config = try Self.file(Self.config(sandbox, endDate: nil))
        var catalog = Self.catalog
        if case .array(var streams)? = catalog["streams"] {
            streams[0] = streams[0].setting("sync_mode", .string("incremental"))
            catalog = catalog.setting("streams", .array(streams))
        }
        let catalogPath = try Self.file(catalog, "catalog.json")
        let (first, firstLines) = Self.connector()
        #expect(first.read(configPath: config, catalogPath: catalogPath) == 0)
        #expect(try firstLines.of("RECORD").count == 30)
        let state = try #require(try firstLines.of("STATE").last)

        let added = sandbox.addCall(vendor: .clevertap, account: "TEST-R78-ZZ1", at: Timestamp(year: 2024, month: 5, day: 9, hour: 8)!)
        let (second, secondLines) = Self.connector(now: Timestamp(year: 2024, month: 5, day: 10)!)
        #expect(second.read(configPath: config, catalogPath: catalogPath, statePath: try Self.file(.array([state]), "state.json")) == 0)
        let ids = Set(try secondLines.of("RECORD").compactMap { $0[path: "record", "data", "objectId"]?.text })
        let may8 = Self.may8.secondsSinceEpoch
        let expected = Set(sandbox.calls(vendor: .clevertap, account: "TEST-R78-ZZ1").filter {
            ($0.record[path: "events", "App Launched", "last_seen"]?.integer ?? 0) >= may8
        }.map(\.id))
        #expect(ids == expected)
        #expect(ids.contains(added.id) && ids.count < 31)
        #expect(try secondLines.of("STATE").last?[path: "state", "stream", "stream_state", "until"] == .string("2024-05-10T00:00:00Z"))
    }

    @Test("read with a bad config or an unknown stream: a TRACE error and exit code 1")
    func readErrors() throws {
        let sandbox = try Self.sandbox()
        defer { sandbox.stop() }
        let (connector, lines) = Self.connector()
        let catalogPath = try Self.file(Self.catalog, "catalog.json")
        #expect(connector.read(configPath: try Self.file(Self.config(sandbox).setting("region", .string("sk1")).setting("base_url", nil)),
                               catalogPath: catalogPath) == 1)
        let trace = try #require(try lines.of("TRACE").first)
        #expect(trace[path: "trace", "error", "failure_type"] == .string("config_error"))
        #expect(trace[path: "trace", "error", "message"]?.text?.contains("region") == true)
        let unknown = JSONValue.object(["streams": .array([.object(["stream": .object(["name": .string("events")]), "sync_mode": .string("full_refresh")])])])
        let (other, otherLines) = Self.connector()
        #expect(other.read(configPath: try Self.file(Self.config(sandbox)), catalogPath: try Self.file(unknown, "catalog.json")) == 1)
        #expect(try otherLines.of("TRACE").first?[path: "trace", "error", "message"]?.text?.contains("events") == true)
        #expect(sandbox.requests(for: .clevertap).isEmpty)
    }
}

extension JSONValue {
    /// A copy of this object with member `key` set, or removed when `value` is nil.
    fileprivate func setting(_ key: String, _ value: JSONValue?) -> JSONValue {
        guard case .object(var members) = self else { return self }
        members[key] = value
        return .object(members)
    }
}
