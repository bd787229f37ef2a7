import CallFeedCore
import CallFeedPoll
import CallFeedVendors
import Foundation
import HTTPClient

/// `callfeed connector spec|check|discover|read`: a source's ``EntityStream``s behind the Airbyte
/// protocol (https://docs.airbyte.com/understanding-airbyte/airbyte-protocol), so Airbyte (or any
/// tool that speaks it) can run CallFeed's vendor readers without Kafka or a warehouse.
///
/// Every command writes Airbyte messages, one JSON object per line, to ``output``: `SPEC`,
/// `CONNECTION_STATUS`, `CATALOG`, `RECORD`, `STATE`, `LOG` and, when a command cannot run,
/// `TRACE` (`error`, with `failure_type` `config_error` or `system_error`). Commands return the
/// process's exit code: 0, or 1 after a `TRACE` error. A failed `check` is a `FAILED` status with
/// exit 0, as the protocol asks.
///
/// `read` follows the configured catalog: `full_refresh` reads each stream from its configured
/// start; `incremental` (streams whose ``EntityStream/isIncremental``) from the `until` of the
/// stream's state, when given. After each stream a `STATE` message (`type: STREAM`) carries
/// `{"until": RFC 3339}`, the end of what was read. Records that do not map are logged (`WARN`)
/// and skipped.
public struct Connector: Sendable {
    /// The sources `--source` may name.
    public static let sources: [String: any ConnectorSource] = ["clevertap": CleverTapConnectorSource()]

    public let source: any ConnectorSource
    /// Where the messages go (a line each, without the newline).
    public let output: @Sendable (String) -> Void
    let environment: [String: String]
    let makeClient: @Sendable () -> VendorClient
    let now: @Sendable () -> Timestamp

    /// - Parameters:
    ///   - source: What to expose.
    ///   - environment: For secrets left out of the config (`CLEVERTAP_PASSCODE`).
    ///   - output: Receives each message line.
    ///   - makeClient: The HTTP client for check and read; by default one request at a time, 5
    ///     retries of 429/5xx backing off from 5 s to 10 minutes (CleverTap asks for minutes).
    ///   - now: The end of what `read` asks for.
    public init(source: any ConnectorSource, environment: [String: String] = ProcessInfo.processInfo.environment,
                output: @escaping @Sendable (String) -> Void,
                makeClient: @escaping @Sendable () -> VendorClient = Connector.defaultClient,
                now: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) {
        self.source = source; self.environment = environment; self.output = output; self.makeClient = makeClient; self.now = now
    }

    /// The production client (see ``init(source:environment:output:makeClient:now:)``).
    @Sendable public static func defaultClient() -> VendorClient {
        VendorClient(limiter: RateLimiter(windows: []),
                     retry: RetryPolicy(maxRetries: 5, initialDelay: .seconds(5), factor: 2, maxDelay: .seconds(600)))
    }

    /// The source named `name`.
    /// - Throws: ``ConnectorError`` listing the known names.
    public static func source(named name: String) throws(ConnectorError) -> any ConnectorSource {
        guard let source = sources[name] else {
            throw ConnectorError("unknown source \(name); known: \(sources.keys.sorted().joined(separator: ", "))")
        }
        return source
    }

    // MARK: - Commands

    /// Prints `SPEC`.
    @discardableResult
    public func spec() -> Int32 {
        emit(["type": .string("SPEC"), "spec": .object([
            "documentationUrl": .string(source.documentationURL),
            "connectionSpecification": source.connectionSpecification,
            "supportsIncremental": .bool(true),
            "supported_destination_sync_modes": .array([.string("overwrite"), .string("append"), .string("append_dedup")]),
        ])])
        return 0
    }

    /// Prints `CONNECTION_STATUS`: `SUCCEEDED`, or `FAILED` with the reason (config or vendor).
    @discardableResult
    public func check(configPath: String) -> Int32 {
        do {
            let streams = try source.streams(config: try Self.readJSON(configPath, what: "config"), environment: environment)
            try source.check(streams, client: makeClient())
            log("INFO", "connection to \(source.name) succeeded")
            emit(["type": .string("CONNECTION_STATUS"), "connectionStatus": .object(["status": .string("SUCCEEDED")])])
        } catch {
            let reason = (error as? ConnectorError)?.reason ?? (error as? PollError)?.reason ?? "\(error)"
            emit(["type": .string("CONNECTION_STATUS"), "connectionStatus": .object([
                "status": .string("FAILED"), "message": .string(reason),
            ])])
        }
        return 0
    }

    /// Prints `CATALOG`: each stream with its schema, sync modes and primary key.
    @discardableResult
    public func discover(configPath: String) -> Int32 {
        do {
            let streams = try source.streams(config: try Self.readJSON(configPath, what: "config"), environment: environment)
            emit(["type": .string("CATALOG"), "catalog": .object(["streams": .array(streams.map(Self.catalogEntry))])])
            return 0
        } catch {
            return fail(error)
        }
    }

    /// Prints a `RECORD` per object of each configured stream, then its `STATE`.
    @discardableResult
    public func read(configPath: String, catalogPath: String, statePath: String? = nil) -> Int32 {
        do {
            let streams = try source.streams(config: try Self.readJSON(configPath, what: "config"), environment: environment)
            let selected = try Self.configuredStreams(try Self.readJSON(catalogPath, what: "catalog"))
            let state = try statePath.map { path throws(ConnectorError) in try Self.streamStates(try Self.readJSON(path, what: "state")) } ?? [:]
            let client = makeClient()
            for (name, mode) in selected {
                guard let stream = streams.first(where: { $0.name == name }) else {
                    throw ConnectorError("the catalog asks for stream \(name), which \(source.name) does not have (it has \(streams.map(\.name).joined(separator: ", ")))")
                }
                guard mode == "full_refresh" || (mode == "incremental" && stream.stream.isIncremental) else {
                    throw ConnectorError("stream \(name) does not support sync_mode \(mode) (it supports \(stream.supportedSyncModes.joined(separator: ", ")))")
                }
                let since = mode == "incremental" ? state[name]?["until"]?.text.flatMap { Timestamp.parseISO8601($0) } : nil
                try read(stream, since: since, client: client)
            }
            return 0
        } catch {
            return fail(error)
        }
    }

    // MARK: - Reading

    private func read(_ connector: ConnectorStream, since: Timestamp?, client: VendorClient) throws(PollError) {
        let stream = connector.stream
        let until = now()
        log("INFO", "reading \(source.name) \(connector.name)" + (since.map { " since \($0.rfc3339)" } ?? "") + " until \(until.rfc3339)")
        var records = 0
        var skipped = 0
        var request = stream.firstPage(account: nil, since: since, until: until)
        while true {
            let page = try stream.page(request, account: nil, since: since, until: until, client: client)
            for raw in page.records {
                do {
                    let object = try stream.object(from: raw, account: nil)
                    emit(["type": .string("RECORD"), "record": .object([
                        "stream": .string(connector.name), "data": object.data, "emitted_at": .int(Timestamp.now().millisecondsSinceEpoch),
                    ])])
                    records += 1
                } catch {
                    skipped += 1
                    log("WARN", "skipped a \(connector.name) record: \(error.reason)")
                }
            }
            // The same rule as EntityPoller: an empty page ends the list unless it names a different next page.
            guard let next = page.next, next != request else { break }
            if page.records.isEmpty, case .number = next { break }
            request = next
        }
        log("INFO", "read \(records) \(connector.name) record(s), skipped \(skipped)")
        emit(["type": .string("STATE"), "state": .object([
            "type": .string("STREAM"),
            "stream": .object(["stream_descriptor": .object(["name": .string(connector.name)]),
                               "stream_state": .object(["until": .string(until.rfc3339)])]),
        ])])
    }

    // MARK: - Protocol documents

    static func catalogEntry(_ stream: ConnectorStream) -> JSONValue {
        var entry: [String: JSONValue] = [
            "name": .string(stream.name),
            "json_schema": stream.jsonSchema,
            "supported_sync_modes": .array(stream.supportedSyncModes.map { .string($0) }),
            "source_defined_primary_key": .array(stream.primaryKey.map { .array($0.map { .string($0) }) }),
        ]
        if stream.stream.isIncremental {
            entry["source_defined_cursor"] = .bool(true)
            if let cursor = stream.cursorField { entry["default_cursor_field"] = .array(cursor.map { .string($0) }) }
        }
        return .object(entry)
    }

    /// The configured catalog's streams and sync modes, in order.
    static func configuredStreams(_ catalog: JSONValue) throws(ConnectorError) -> [(String, String)] {
        guard let streams = catalog["streams"]?.arrayValue else { throw ConnectorError("the catalog has no streams list") }
        var selected: [(String, String)] = []
        for entry in streams {
            guard let name = entry[path: "stream", "name"]?.text ?? entry["name"]?.text else {
                throw ConnectorError("a catalog stream has no stream.name")
            }
            selected.append((name, entry["sync_mode"]?.text ?? "full_refresh"))
        }
        return selected
    }

    /// Stream states by name, from a list of state messages (`type: STREAM`, the current protocol) or
    /// a legacy object keyed by stream name.
    static func streamStates(_ document: JSONValue) throws(ConnectorError) -> [String: JSONValue] {
        var states: [String: JSONValue] = [:]
        if let messages = document.arrayValue {
            for message in messages {
                let body = message["state"] ?? message
                guard let name = body[path: "stream", "stream_descriptor", "name"]?.text,
                      let state = body[path: "stream", "stream_state"] else { continue }
                states[name] = state
            }
        } else if let legacy = document.objectValue {
            for (name, state) in legacy where state.objectValue != nil { states[name] = state }
        } else {
            throw ConnectorError("the state must be a list of state messages or an object")
        }
        return states
    }

    static func readJSON(_ path: String, what: String) throws(ConnectorError) -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else { throw ConnectorError("cannot read the \(what) file \(path)") }
        do { return try JSONValue.parse(Array(data)) } catch { throw ConnectorError("the \(what) file \(path) is not JSON: \(error)") }
    }

    // MARK: - Output

    private func emit(_ message: [String: JSONValue]) { output(JSONValue.object(message).canonicalJSON) }

    private func log(_ level: String, _ message: String) {
        emit(["type": .string("LOG"), "log": .object(["level": .string(level), "message": .string(message)])])
    }

    /// A `TRACE` error (config or system) and exit code 1.
    private func fail(_ error: any Error) -> Int32 {
        let isConfig = error is ConnectorError || (error as? PollError).map { $0.kind == .configuration || $0.kind == .credentials } ?? false
        let reason = (error as? ConnectorError)?.reason ?? (error as? PollError)?.reason ?? "\(error)"
        log("ERROR", reason)
        emit(["type": .string("TRACE"), "trace": .object([
            "type": .string("ERROR"), "emitted_at": .int(Timestamp.now().millisecondsSinceEpoch),
            "error": .object(["message": .string(reason), "failure_type": .string(isConfig ? "config_error" : "system_error")]),
        ])])
        return 1
    }
}
