/// Reading a CallEvent from the calls topic without Foundation's `JSONDecoder`.
///
/// The loader decodes every message; through `Codable`, `JSONDecoder` took 29 % of the loader's CPU
/// (docs/performance.md, "Loader"). This reads the same JSON through the byte-level ``JSONParser``
/// with the rules the `Codable` conformance has: required keys must be present with the right JSON
/// type, optional ones may be missing or `null`, unknown keys are ignored, integers must be integral
/// numbers. `CallEventDecodeTests` checks it against `JSONDecoder` on valid and broken events.
extension CallEvent {
    init(schemaVersion: String, eventID: String, revision: String, channel: Channel, receivedAt: Timestamp,
         content: CallContent) {
        self.schemaVersion = schemaVersion
        self.eventID = eventID
        self.revision = revision
        self.channel = channel
        self.receivedAt = receivedAt
        self.content = content
    }

    /// Decodes the flat wire object (metadata and content keys side by side).
    static func fromWire(_ bytes: [UInt8]) throws(CallEventDecodingError) -> CallEvent {
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(bytes)
        } catch {
            throw CallEventDecodingError(reason: "not a CallEvent v1: \(error)")
        }
        guard case .object(let root) = parsed else {
            throw CallEventDecodingError(reason: "not a CallEvent v1: the JSON is not an object")
        }
        let wire = WireObject(members: root, path: "")
        var content = CallContent(source: try wire.string("source"), sourceAccountID: try wire.string("source_account_id"),
                                  sourceCallID: try wire.string("source_call_id"),
                                  direction: try wire.enumeration("direction"), status: try wire.enumeration("status"))
        content.startedAt = try wire.timestampIfPresent("started_at")
        content.endedAt = try wire.timestampIfPresent("ended_at")
        content.durationSeconds = try wire.integerIfPresent("duration_seconds")
        content.talkSeconds = try wire.integerIfPresent("talk_seconds")
        content.ringSeconds = try wire.integerIfPresent("ring_seconds")
        content.callerNumber = try wire.stringIfPresent("caller_number")
        content.dialedNumber = try wire.stringIfPresent("dialed_number")
        content.destinationNumber = try wire.stringIfPresent("destination_number")
        content.callerName = try wire.stringIfPresent("caller_name")
        let agent = try wire.object("agent")
        content.agent = CallContent.Agent(id: try agent.stringIfPresent("id"), name: try agent.stringIfPresent("name"),
                                          email: try agent.stringIfPresent("email"))
        let tracking = try wire.object("tracking")
        content.tracking.campaignID = try tracking.stringIfPresent("campaign_id")
        content.tracking.campaignName = try tracking.stringIfPresent("campaign_name")
        content.tracking.source = try tracking.stringIfPresent("source")
        content.tracking.medium = try tracking.stringIfPresent("medium")
        content.tracking.campaign = try tracking.stringIfPresent("campaign")
        content.tracking.content = try tracking.stringIfPresent("content")
        content.tracking.term = try tracking.stringIfPresent("term")
        content.tracking.referrer = try tracking.stringIfPresent("referrer")
        content.tracking.landingPage = try tracking.stringIfPresent("landing_page")
        content.tracking.gclid = try tracking.stringIfPresent("gclid")
        content.tracking.gaClientID = try tracking.stringIfPresent("ga_client_id")
        let location = try wire.object("location")
        content.location = CallContent.Location(city: try location.stringIfPresent("city"),
                                                region: try location.stringIfPresent("region"),
                                                country: try location.stringIfPresent("country"))
        content.recordingURL = try wire.stringIfPresent("recording_url")
        content.tags = try wire.strings("tags")
        content.firstCall = try wire.boolIfPresent("first_call")
        content.sourceUpdatedAt = try wire.timestampIfPresent("source_updated_at")
        return CallEvent(schemaVersion: try wire.string("schema_version"), eventID: try wire.string("event_id"),
                         revision: try wire.string("revision"), channel: try wire.enumeration("channel"),
                         receivedAt: try wire.timestamp("received_at"), content: content)
    }
}

/// One JSON object of the wire format, read key by key with `Codable`'s strictness.
private struct WireObject {
    let members: [String: JSONValue]
    let path: String

    private func fail(_ key: String, _ problem: String) -> CallEventDecodingError {
        CallEventDecodingError(reason: "not a CallEvent v1: \(path)\(key) \(problem)")
    }

    private func required(_ key: String) throws(CallEventDecodingError) -> JSONValue {
        guard let value = members[key] else { throw fail(key, "is missing") }
        return value
    }

    /// The member, or nil when it is missing or `null` (`decodeIfPresent`).
    private func present(_ key: String) -> JSONValue? {
        guard let value = members[key], value != .null else { return nil }
        return value
    }

    func string(_ key: String) throws(CallEventDecodingError) -> String {
        guard case .string(let s) = try required(key) else { throw fail(key, "is not a string") }
        return s
    }

    func stringIfPresent(_ key: String) throws(CallEventDecodingError) -> String? {
        guard let value = present(key) else { return nil }
        guard case .string(let s) = value else { throw fail(key, "is not a string") }
        return s
    }

    func integerIfPresent(_ key: String) throws(CallEventDecodingError) -> Int64? {
        switch present(key) {
        case nil: return nil
        case .int(let i): return i
        case .double(let d): if let i = Int64(exactly: d) { return i }
        default: break
        }
        throw fail(key, "is not an integer")
    }

    func boolIfPresent(_ key: String) throws(CallEventDecodingError) -> Bool? {
        guard let value = present(key) else { return nil }
        guard case .bool(let b) = value else { throw fail(key, "is not a boolean") }
        return b
    }

    func timestamp(_ key: String) throws(CallEventDecodingError) -> Timestamp {
        let text = try string(key)
        guard let t = Timestamp.parseISO8601(text) else { throw fail(key, "is not an RFC 3339 date-time: \(text)") }
        return t
    }

    func timestampIfPresent(_ key: String) throws(CallEventDecodingError) -> Timestamp? {
        guard present(key) != nil else { return nil }
        return try timestamp(key)
    }

    func enumeration<E: RawRepresentable<String>>(_ key: String) throws(CallEventDecodingError) -> E {
        let text = try string(key)
        guard let value = E(rawValue: text) else { throw fail(key, "has an unknown value \(text)") }
        return value
    }

    func strings(_ key: String) throws(CallEventDecodingError) -> [String] {
        guard case .array(let items) = try required(key) else { throw fail(key, "is not an array") }
        var result: [String] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard case .string(let s) = item else { throw fail(key, "holds a non-string") }
            result.append(s)
        }
        return result
    }

    func object(_ key: String) throws(CallEventDecodingError) -> WireObject {
        guard case .object(let members) = try required(key) else { throw fail(key, "is not an object") }
        return WireObject(members: members, path: path + key + ".")
    }
}

extension CallEvent {
    /// The wire reader alone, without the schema-version and identity checks of ``decode(_:)``
    /// (tests compare it with `JSONDecoder` on edited events whose revision no longer matches).
    public static func fromWireForTesting(_ bytes: [UInt8]) throws(CallEventDecodingError) -> CallEvent {
        try fromWire(bytes)
    }
}
