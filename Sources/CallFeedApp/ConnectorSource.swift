import CallFeedCore
import CallFeedPoll
import HTTPClient

/// A source that `callfeed connector` can expose through the Airbyte protocol: its config schema,
/// how a config becomes ``EntityStream``s, and how to check a config against the vendor.
///
/// Any ``EntityStream`` can be exposed this way; only CleverTap is today
/// (``CleverTapConnectorSource``). Register new ones in ``Connector/sources``.
public protocol ConnectorSource: Sendable {
    /// The `--source` name (`clevertap`).
    var name: String { get }
    /// Link shown by Airbyte next to the form.
    var documentationURL: String { get }
    /// The JSON Schema of the config (`connectionSpecification`).
    var connectionSpecification: JSONValue { get }

    /// The streams a config reads.
    /// - Parameters:
    ///   - config: The config file's JSON object.
    ///   - environment: Process environment, for secrets left out of the file.
    /// - Throws: ``ConnectorError`` naming the field that is missing or wrong.
    func streams(config: JSONValue, environment: [String: String]) throws(ConnectorError) -> [ConnectorStream]

    /// Proves the config works with the cheapest real request.
    /// - Throws: ``PollError`` saying what the vendor answered.
    func check(_ streams: [ConnectorStream], client: VendorClient) throws(PollError)
}

/// One Airbyte stream: an ``EntityStream`` with what the catalog says about it.
public struct ConnectorStream: Sendable {
    /// The stream's name in the catalog (the entity: `profiles`).
    public var name: String { stream.entity }
    public var stream: any EntityStream
    /// The records' JSON Schema (`json_schema`).
    public var jsonSchema: JSONValue
    /// Airbyte primary key: a list of field paths (`[["objectId"]]`).
    public var primaryKey: [[String]]
    /// The field incremental reads follow, when the stream supports `incremental`.
    public var cursorField: [String]?

    public init(stream: any EntityStream, jsonSchema: JSONValue, primaryKey: [[String]], cursorField: [String]? = nil) {
        self.stream = stream; self.jsonSchema = jsonSchema; self.primaryKey = primaryKey; self.cursorField = cursorField
    }

    /// `full_refresh`, plus `incremental` when the stream reads by time.
    public var supportedSyncModes: [String] { stream.isIncremental ? ["full_refresh", "incremental"] : ["full_refresh"] }
}

/// A config, catalog or state the connector cannot use (Airbyte's `config_error`).
public struct ConnectorError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
