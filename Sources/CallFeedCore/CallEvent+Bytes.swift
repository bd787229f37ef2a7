import Foundation

extension CallEvent {
    /// The event as compact JSON with sorted keys: the bytes published to `callfeed.calls.v1` and
    /// kept in `call_revisions.event_json`.
    ///
    /// Written by hand, byte for byte what `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]`
    /// writes (``foundationJSONBytes()``; `CallEventBytesTests` compares the two on every fixture and
    /// the 1,020-event conformance scenario). The members are written straight into one buffer in
    /// an order sorted once (``CallJSONField``), with no intermediate tree and no sort per event.
    public func jsonBytes() -> [UInt8] {
        var writer = EncoderCompatibleJSONWriter()
        writer.writeMembers(of: self, order: CallJSONField.eventOrder)
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
        writer.writeContent(self)
        return writer.bytes
    }
}

/// The members of a CallEvent's JSON (its content's and its own), each with its key. The orders
/// are sorted once, by the keys' UTF-8 bytes as `JSONEncoder`'s `.sortedKeys` sorts them.
enum CallJSONField: String, CaseIterable {
    // CallContent (every member `Codable` writes; absent optionals are left out, nested objects
    // are always there, possibly `{}`).
    case source, sourceAccountID = "source_account_id", sourceCallID = "source_call_id", direction, status
    case startedAt = "started_at", endedAt = "ended_at", durationSeconds = "duration_seconds", talkSeconds = "talk_seconds"
    case ringSeconds = "ring_seconds", callerNumber = "caller_number", dialedNumber = "dialed_number"
    case destinationNumber = "destination_number", callerName = "caller_name", agent, tracking, location
    case recordingURL = "recording_url", tags, firstCall = "first_call", sourceUpdatedAt = "source_updated_at"
    // CallEvent's own.
    case schemaVersion = "schema_version", eventID = "event_id", revision, channel, receivedAt = "received_at"

    var isContent: Bool {
        switch self {
        case .schemaVersion, .eventID, .revision, .channel, .receivedAt: return false
        default: return true
        }
    }

    /// A member to write: the field and its `"key":` in UTF-8.
    typealias Entry = (field: CallJSONField, key: [UInt8])

    static let eventOrder: [Entry] = allCases.sorted { $0.rawValue.utf8.lexicographicallyPrecedes($1.rawValue.utf8) }
        .map { ($0, Array("\"\($0.rawValue)\":".utf8)) }
    static let contentOrder: [Entry] = eventOrder.filter(\.field.isContent)

    /// The nested objects' members, sorted the same way.
    static let agentMembers = members(["id", "name", "email"])
    static let trackingMembers = members(["campaign_id", "campaign_name", "source", "medium", "campaign", "content", "term",
                                          "referrer", "landing_page", "gclid", "ga_client_id"])
    static let locationMembers = members(["city", "region", "country"])

    /// A nested object's member: its `"key":` and its position in ``NestedJSONObject/member(_:)``.
    typealias Member = (key: [UInt8], position: Int)

    private static func members(_ keys: [String]) -> [Member] {
        keys.enumerated().sorted { $0.element.utf8.lexicographicallyPrecedes($1.element.utf8) }
            .map { (Array("\"\($0.element)\":".utf8), $0.offset) }
    }
}

/// A nested object of the content: its members by position, in the order of its member list.
protocol NestedJSONObject {
    func member(_ position: Int) -> String?
}

extension CallContent.Agent: NestedJSONObject {
    func member(_ position: Int) -> String? {
        switch position {
        case 0: return id
        case 1: return name
        default: return email
        }
    }
}

extension CallContent.Tracking: NestedJSONObject {
    func member(_ position: Int) -> String? {
        switch position {
        case 0: return campaignID
        case 1: return campaignName
        case 2: return source
        case 3: return medium
        case 4: return campaign
        case 5: return content
        case 6: return term
        case 7: return referrer
        case 8: return landingPage
        case 9: return gclid
        default: return gaClientID
        }
    }
}

extension CallContent.Location: NestedJSONObject {
    func member(_ position: Int) -> String? {
        switch position {
        case 0: return city
        case 1: return region
        default: return country
        }
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
    private(set) var bytes: [UInt8] = []
    private var needsComma = false

    init() { bytes.reserveCapacity(1024) }

    mutating func writeContent(_ content: CallContent) {
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        for entry in CallJSONField.contentOrder { writeMember(entry, content: content, event: nil) }
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func writeMembers(of event: CallEvent, order: [CallJSONField.Entry]) {
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        for entry in order { writeMember(entry, content: event.content, event: event) }
        bytes.append(UInt8(ascii: "}"))
    }

    private mutating func key(_ key: [UInt8]) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
        bytes += key
    }

    private mutating func member(_ field: [UInt8], _ text: String?) {
        guard let text else { return }
        key(field)
        writeString(text)
    }

    private mutating func member(_ field: [UInt8], _ number: Int64?) {
        guard let number else { return }
        key(field)
        bytes += String(number).utf8
    }

    private mutating func member(_ field: [UInt8], _ time: Timestamp?) {
        guard let time else { return }
        key(field)
        bytes.append(UInt8(ascii: "\""))
        time.appendRFC3339(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func object(_ field: [UInt8], _ value: some NestedJSONObject, _ members: [CallJSONField.Member]) {
        key(field)
        bytes.append(UInt8(ascii: "{"))
        var first = true
        for m in members {
            guard let text = value.member(m.position) else { continue }
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            bytes += m.key
            writeString(text)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    private mutating func writeMember(_ entry: CallJSONField.Entry, content c: CallContent, event: CallEvent?) {
        let field = entry.key
        switch entry.field {
        case .source: member(field, c.source)
        case .sourceAccountID: member(field, c.sourceAccountID)
        case .sourceCallID: member(field, c.sourceCallID)
        case .direction: member(field, c.direction.rawValue)
        case .status: member(field, c.status.rawValue)
        case .startedAt: member(field, c.startedAt)
        case .endedAt: member(field, c.endedAt)
        case .durationSeconds: member(field, c.durationSeconds)
        case .talkSeconds: member(field, c.talkSeconds)
        case .ringSeconds: member(field, c.ringSeconds)
        case .callerNumber: member(field, c.callerNumber)
        case .dialedNumber: member(field, c.dialedNumber)
        case .destinationNumber: member(field, c.destinationNumber)
        case .callerName: member(field, c.callerName)
        case .agent: object(field, c.agent, CallJSONField.agentMembers)
        case .tracking: object(field, c.tracking, CallJSONField.trackingMembers)
        case .location: object(field, c.location, CallJSONField.locationMembers)
        case .recordingURL: member(field, c.recordingURL)
        case .tags:
            key(field)
            bytes.append(UInt8(ascii: "["))
            for (index, tag) in c.tags.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                writeString(tag)
            }
            bytes.append(UInt8(ascii: "]"))
        case .firstCall:
            guard let flag = c.firstCall else { return }
            key(field)
            bytes += (flag ? "true" : "false").utf8
        case .sourceUpdatedAt: member(field, c.sourceUpdatedAt)
        case .schemaVersion: member(field, event?.schemaVersion)
        case .eventID: member(field, event?.eventID)
        case .revision: member(field, event?.revision)
        case .channel: member(field, event?.channel.rawValue)
        case .receivedAt: member(field, event?.receivedAt)
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
                    bytes += #"\u00"#.utf8
                    bytes.append(lowerHexDigits[Int(byte >> 4)])
                    bytes.append(lowerHexDigits[Int(byte & 0x0F)])
                default: bytes.append(byte)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
