import CallFeedCore
import CallFeedPoll
import Foundation
import HTTPClient

/// CleverTap's profiles as an Airbyte source (seed 002's `source-clevertap`, with
/// vendors/clevertap.md's corrections: `next_cursor`, the documented regions).
///
/// Config (JSON): `account_id`, `passcode` (or the environment's `CLEVERTAP_PASSCODE`), `region`
/// (`eu1` default), `event_name`, `start_date` (`YYYYMMDD`, string or integer as in the seed),
/// optional `end_date` (absent: up to today, and the stream supports `incremental`), `batch_size`
/// (1–5000, default 4991), and the optional `base_url` (a proxy or the sandbox) and
/// `default_country` (`US`).
public struct CleverTapConnectorSource: ConnectorSource {
    public init() {}

    public let name = "clevertap"
    public let documentationURL = "https://developer.clevertap.com/docs/get-user-profiles-api"

    /// The environment variable that may hold the passcode instead of the config file.
    public static let passcodeVariable = "CLEVERTAP_PASSCODE"

    public var connectionSpecification: JSONValue {
        let day: JSONValue = .string("^[0-9]{8}$")
        return .object([
            "$schema": .string("http://json-schema.org/draft-07/schema#"),
            "title": .string("CleverTap Profiles Spec"),
            "type": .string("object"),
            "required": .array(["account_id", "passcode", "event_name", "start_date"].map { .string($0) }),
            "additionalProperties": .bool(true),
            "properties": .object([
                "account_id": .object(["type": .string("string"), "title": .string("Account ID"), "order": .int(0),
                                       "description": .string("Your CleverTap project (account) id, sent as X-CleverTap-Account-Id.")]),
                "passcode": .object(["type": .string("string"), "title": .string("Passcode"), "airbyte_secret": .bool(true), "order": .int(1),
                                     "description": .string("The account passcode, sent as X-CleverTap-Passcode (or set CLEVERTAP_PASSCODE).")]),
                "region": .object(["type": .string("string"), "title": .string("Region"), "default": .string("eu1"), "order": .int(2),
                                   "enum": .array(CleverTapProfileStream.regions.map { .string($0) }),
                                   "description": .string("The account's region: eu1 is api.clevertap.com, the others <region>.api.clevertap.com.")]),
                "event_name": .object(["type": .string("string"), "title": .string("Event name"), "order": .int(3),
                                       "examples": .array([.string("App Launched")]),
                                       "description": .string("Profiles of the users who did this event in the date range are exported.")]),
                "start_date": .object(["type": .string("string"), "title": .string("Start date"), "pattern": day, "order": .int(4),
                                       "examples": .array([.string("20240101")]),
                                       "description": .string("First day, YYYYMMDD.")]),
                "end_date": .object(["type": .string("string"), "title": .string("End date"), "pattern": day, "order": .int(5),
                                     "examples": .array([.string("20241231")]),
                                     "description": .string("Last day, YYYYMMDD. Leave empty to read up to today (incremental syncs then read from the last sync's day).")]),
                "batch_size": .object(["type": .string("integer"), "title": .string("Batch size"), "default": .int(4991),
                                       "minimum": .int(1), "maximum": .int(Int64(CleverTapProfileStream.maxBatchSize)), "order": .int(6),
                                       "description": .string("Profiles per page, at most 5000; CleverTap advises multiples of 23.")]),
                "default_country": .object(["type": .string("string"), "title": .string("Default country"), "default": .string("US"),
                                            "order": .int(7),
                                            "description": .string("ISO country for profile phone numbers without a country code (phone_e164).")]),
                "base_url": .object(["type": .string("string"), "title": .string("Base URL"), "order": .int(8),
                                     "description": .string("Overrides the region's host (a proxy or a test server), e.g. https://in1.api.clevertap.com.")]),
            ]),
        ])
    }

    /// The profiles' schema: the documented keys plus `phone_e164`, open to any other key.
    public static var profileSchema: JSONValue {
        func type(_ names: String...) -> JSONValue { .object(["type": .array(names.map { .string($0) })]) }
        return .object([
            "$schema": .string("http://json-schema.org/draft-07/schema#"),
            "type": .string("object"),
            "additionalProperties": .bool(true),
            "properties": .object([
                "objectId": type("string"),
                "identity": type("null", "string"),
                "all_identities": .object(["type": .array([.string("null"), .string("array")]), "items": type("string")]),
                "name": type("null", "string"),
                "email": type("null", "string"),
                "phone": type("null", "string"),
                "phone_e164": type("null", "string"),
                "profileData": .object(["type": .array([.string("null"), .string("object")]), "additionalProperties": .bool(true)]),
                "platformInfo": .object(["type": .array([.string("null"), .string("array")]),
                                         "items": .object(["type": .string("object"), "additionalProperties": .bool(true)])]),
                "events": .object(["type": .array([.string("null"), .string("object")]), "additionalProperties": .object([
                    "type": .string("object"),
                    "properties": .object(["count": type("null", "integer"), "first_seen": type("null", "integer"),
                                           "last_seen": type("null", "integer")]),
                ])]),
            ]),
        ])
    }

    public func streams(config: JSONValue, environment: [String: String]) throws(ConnectorError) -> [ConnectorStream] {
        guard config.objectValue != nil else { throw ConnectorError("the config must be a JSON object") }
        func text(_ key: String) -> String? { config[key]?.text }
        guard let accountID = text("account_id") else { throw ConnectorError("account_id is required") }
        guard let passcode = text("passcode") ?? environment[Self.passcodeVariable].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw ConnectorError("passcode is required (in the config or \(Self.passcodeVariable))")
        }
        guard let eventName = text("event_name") else { throw ConnectorError("event_name is required") }
        var batchSize = 4991
        if let value = config["batch_size"], !value.isNull {
            guard let n = value.integer else { throw ConnectorError("batch_size must be an integer") }
            batchSize = Int(n)
        }
        let stream = CleverTapProfileStream(
            name: "connector", accountID: accountID, passcode: passcode, region: text("region") ?? "eu1", baseURL: text("base_url"),
            eventName: eventName, startDate: text("start_date"), endDate: text("end_date"), batchSize: batchSize,
            defaultCountry: text("default_country") ?? "US")
        guard stream.startDate != nil else { throw ConnectorError("start_date is required (YYYYMMDD)") }
        do {
            try stream.validate()
        } catch {
            throw ConnectorError(error.reason.replacingOccurrences(of: "CleverTap source connector: ", with: ""))
        }
        return [ConnectorStream(stream: stream, jsonSchema: Self.profileSchema, primaryKey: [["objectId"]],
                                cursorField: nil)]
    }

    /// Step 1 of the export (a cursor is made, no profile is read).
    public func check(_ streams: [ConnectorStream], client: VendorClient) throws(PollError) {
        for connector in streams {
            guard let stream = connector.stream as? CleverTapProfileStream else { continue }
            let now = Timestamp.now()
            _ = try stream.startExport(since: nil, until: now, client: client)
        }
    }
}
