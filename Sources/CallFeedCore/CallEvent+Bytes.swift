import Foundation

extension CallEvent {
    /// The event as compact JSON with sorted keys: the bytes published to `callfeed.calls.v1` and
    /// kept in `call_revisions.event_json`.
    ///
    /// Written by hand, byte for byte what `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]`
    /// writes (``foundationJSONBytes()``; `CallEventBytesTests` compares the two on every fixture and
    /// the 1,020-event conformance scenario): about ten times cheaper than going through `Codable`.
    public func jsonBytes() -> [UInt8] {
        var fields = content.jsonFields
        fields += [
            ("schema_version", .string(schemaVersion)), ("event_id", .string(eventID)), ("revision", .string(revision)),
            ("channel", .string(channel.rawValue)), ("received_at", .string(receivedAt.rfc3339)),
        ]
        var writer = EncoderCompatibleJSONWriter()
        writer.write(.object(fields))
        return writer.bytes
    }

    /// The same bytes through Foundation's `JSONEncoder` and the `Codable` conformance: the
    /// reference ``jsonBytes()`` is checked against.
    public func foundationJSONBytes() -> [UInt8] {
        // Encoding plain value types with string keys cannot fail.
        Array(try! CallEvent.encoder.encode(self))
    }
}

extension CallContent {
    /// The content as compact JSON with sorted keys, exactly as `JSONEncoder` writes it: the bytes
    /// ``EventIdentity/revision(of:)`` hashes.
    public func jsonBytes() -> [UInt8] {
        var writer = EncoderCompatibleJSONWriter()
        writer.write(.object(jsonFields))
        return writer.bytes
    }

    /// Every member `Codable` would write: absent optionals are left out, nested objects are always
    /// there (possibly `{}`).
    var jsonFields: [(String, EncoderCompatibleJSONWriter.Value)] {
        typealias Value = EncoderCompatibleJSONWriter.Value
        var fields: [(String, Value)] = [
            ("source", .string(source)), ("source_account_id", .string(sourceAccountID)),
            ("source_call_id", .string(sourceCallID)), ("direction", .string(direction.rawValue)),
            ("status", .string(status.rawValue)),
        ]
        func add(_ key: String, _ value: String?) { if let value { fields.append((key, .string(value))) } }
        func add(_ key: String, _ value: Int64?) { if let value { fields.append((key, .integer(value))) } }
        func add(_ key: String, _ value: Timestamp?) { if let value { fields.append((key, .string(value.rfc3339))) } }
        add("started_at", startedAt)
        add("ended_at", endedAt)
        add("duration_seconds", durationSeconds)
        add("talk_seconds", talkSeconds)
        add("ring_seconds", ringSeconds)
        add("caller_number", callerNumber)
        add("dialed_number", dialedNumber)
        add("destination_number", destinationNumber)
        add("caller_name", callerName)
        fields.append(("agent", .object(Self.members([("id", agent.id), ("name", agent.name), ("email", agent.email)]))))
        fields.append(("tracking", .object(Self.members([
            ("campaign_id", tracking.campaignID), ("campaign_name", tracking.campaignName), ("source", tracking.source),
            ("medium", tracking.medium), ("campaign", tracking.campaign), ("content", tracking.content),
            ("term", tracking.term), ("referrer", tracking.referrer), ("landing_page", tracking.landingPage),
            ("gclid", tracking.gclid), ("ga_client_id", tracking.gaClientID),
        ]))))
        fields.append(("location", .object(Self.members([
            ("city", location.city), ("region", location.region), ("country", location.country),
        ]))))
        add("recording_url", recordingURL)
        fields.append(("tags", .strings(tags)))
        if let firstCall { fields.append(("first_call", .bool(firstCall))) }
        add("source_updated_at", sourceUpdatedAt)
        return fields
    }

    private static func members(_ pairs: [(String, String?)]) -> [(String, EncoderCompatibleJSONWriter.Value)] {
        pairs.compactMap { key, value in value.map { (key, .string($0)) } }
    }
}

/// Compact JSON exactly as Foundation's `JSONEncoder` writes it with `.sortedKeys` and
/// `.withoutEscapingSlashes`: members sorted by the UTF-8 bytes of their keys; in strings `"` and `\`
/// escaped, `\b` `\f` `\n` `\r` `\t` for those controls, other controls as `\u00xx` (lower-case hex),
/// everything else (`/`, DEL, non-ASCII) as is.
///
/// It exists so that CallEvent bytes and revision hashes stay what they always were (a different
/// form would change every stored revision) while skipping `Codable`'s cost.
struct EncoderCompatibleJSONWriter {
    indirect enum Value {
        case string(String)
        case integer(Int64)
        case bool(Bool)
        case strings([String])
        case object([(String, Value)])
    }

    private(set) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(1024) }

    mutating func write(_ value: Value) {
        switch value {
        case .string(let text): writeString(text)
        case .integer(let number): bytes += String(number).utf8
        case .bool(let flag): bytes += (flag ? "true" : "false").utf8
        case .strings(let items):
            bytes.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                writeString(item)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            let sorted = members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
            for (index, member) in sorted.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                writeString(member.0)
                bytes.append(UInt8(ascii: ":"))
                write(member.1)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    private mutating func writeString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings need no escape: copy them whole.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            bytes += text.utf8
        } else {
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\""): bytes += #"\""#.utf8
                case UInt8(ascii: "\\"): bytes += #"\\"#.utf8
                case 0x08: bytes += #"\b"#.utf8
                case 0x0C: bytes += #"\f"#.utf8
                case 0x0A: bytes += #"\n"#.utf8
                case 0x0D: bytes += #"\r"#.utf8
                case 0x09: bytes += #"\t"#.utf8
                case 0..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    bytes += #"\u00"#.utf8
                    bytes.append(hex[Int(byte >> 4)])
                    bytes.append(hex[Int(byte & 0x0F)])
                default: bytes.append(byte)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
