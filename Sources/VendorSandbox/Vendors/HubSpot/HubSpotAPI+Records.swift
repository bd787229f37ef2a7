import CallFeedCore
import Foundation

extension HubSpotAPI {
    // MARK: - Dispositions

    /// HubSpot's six default call outcomes (`hubspot.md` §6), GUID and label.
    static let defaultDispositions: [(id: String, label: String)] = [
        ("9d9162e7-6cf3-4944-bf63-4dff82258764", "Busy"),
        ("f240bbac-87c9-4f6e-bf70-924b57d47db7", "Connected"),
        ("a4c4c377-d246-4b32-a13b-75a56a4cd0ff", "Left live message"),
        ("b2cf5968-551e-4856-9783-52b3da59a7d0", "Left voicemail"),
        ("73a0d17f-1163-4015-bdd5-ec830791da20", "No answer"),
        ("17b47fee-58de-441e-a44c-c6300d46f273", "Wrong number"),
    ]
    /// The portal's custom outcomes, used by some answered calls.
    static let customDispositions: [(id: String, label: String)] = [
        ("5a1e2c3d-0b7f-4e59-9c21-7d3f8a6b1c01", "Appointment booked"),
        ("5a1e2c3d-0b7f-4e59-9c21-7d3f8a6b1c02", "Quote sent"),
    ]

    static func disposition(_ label: String) -> String {
        (defaultDispositions + customDispositions).first { $0.label == label }?.id ?? ""
    }

    // MARK: - Call records

    /// The call id of serial `n`: a string of digits like the sample's `51234567890`.
    static func callID(serial: Int) -> String { String(51_200_000_000 + serial) }

    /// The contact id of a customer number: `9` + its digits, so it is stable and unique per number.
    static func contactID(e164: String) -> String? {
        let digits = e164.dropFirst()
        guard e164.hasPrefix("+"), !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return "9" + digits
    }

    /// A call in the shape of `hubspot.call.sample.json` (§6): every property a string or null,
    /// times ISO 8601 UTC with milliseconds, `hs_call_duration` in milliseconds, numbers as free
    /// text in the forms dialers write, `hs_lastmodifieddate` ≥ `hs_createdate` ≥ `hs_timestamp`
    /// (kept before the configured `to` when there is room, so a poll up to `to` sees it).
    func makeRecord(_ facts: CallFacts, account: SandboxAccount, oddity: SandboxOddity?,
                    configuration: SandboxConfiguration) -> (id: String, record: JSONValue) {
        let id = Self.callID(serial: facts.serial)
        let start = facts.startedAt
        let limit = max(start.millisecondsSinceEpoch, configuration.to.millisecondsSinceEpoch - 1)
        var random = SeededRandom(configuration.seed, stableHash("hubspot-record"), UInt64(facts.serial))
        let lengthMs = Int64(facts.talkSeconds + facts.holdSeconds) * 1000 + (facts.talkSeconds > 0 ? Int64(random.int(0...999)) : 0)
        let created = min(limit, start.millisecondsSinceEpoch + lengthMs + Int64(random.int(2_000...200_000)))
        let modified = min(limit, created + Int64(random.int(0...600_000)))
        let business = facts.isInbound ? facts.trackingNumber : facts.businessNumber
        let customer = oddity == .garbagePhone ? "call-me-maybe" : Self.freeText(facts.customerNumber, style: facts.serial)
        let businessText = Self.freeText(business, style: facts.serial + 1)
        let status: String
        let disposition: String
        let voicemail: Bool
        switch (facts.outcome, facts.isInbound) {
        case (.answered, _):
            status = "COMPLETED"
            disposition = facts.serial % 11 == 0 ? "Wrong number"
                : facts.serial % 4 == 0 ? "Appointment booked" : facts.serial % 7 == 0 ? "Quote sent" : "Connected"
            voicemail = false
        case (.voicemail, true): (status, disposition, voicemail) = ("NO_ANSWER", "Left voicemail", true)
        case (.voicemail, false): (status, disposition, voicemail) = ("COMPLETED", "Left voicemail", false)
        case (.missed, _): (status, disposition, voicemail) = (facts.serial % 5 == 0 ? "CANCELED" : "NO_ANSWER", "No answer", false)
        case (.busy, _): (status, disposition, voicemail) = ("BUSY", "Busy", false)
        }
        // The HubSpot user who took or made the call; nobody on an unanswered inbound call.
        let owner = facts.agent ?? (facts.isInbound ? nil : account.agents[facts.serial % max(1, account.agents.count)])
        let contact = oddity == .garbagePhone ? nil : Self.contactID(e164: facts.customerNumber)
        let timestamp: String = oddity == .unparseableTime ? "2024-02-30T25:61:00.000Z" : Self.iso(start)
        let properties: [String: JSONValue] = [
            "hs_object_id": .string(id),
            "hs_timestamp": .string(timestamp),
            "hs_createdate": .string(Self.iso(Timestamp(millisecondsSinceEpoch: created))),
            "hs_lastmodifieddate": .string(Self.iso(Timestamp(millisecondsSinceEpoch: modified))),
            "hs_call_title": .string(facts.isInbound ? "Inbound call from \(customer)" : "Outbound call to \(customer)"),
            "hs_call_body": facts.outcome == .answered ? .string("<p>Asked for a quote.</p>") : .null,
            "hs_call_direction": .string(facts.isInbound ? "INBOUND" : "OUTBOUND"),
            "hs_call_status": .string(status),
            "hs_call_has_voicemail": .string(voicemail ? "true" : "false"),
            "hs_call_disposition": .string(Self.disposition(disposition)),
            "hs_call_duration": .string(String(lengthMs)),
            "hs_call_from_number": .string(facts.isInbound ? customer : businessText),
            "hs_call_to_number": .string(facts.isInbound ? businessText : customer),
            "hs_call_recording_url": facts.hasRecording ? .string("https://recordings.example.invalid/hubspot/\(id).mp3") : .null,
            "hs_call_callee_object_id": .string(orNull: contact),
            "hs_call_callee_object_type": contact == nil ? .null : .string("CONTACT"),
            "hs_call_source": .string("INTEGRATIONS_PLATFORM"),
            "hs_call_external_id": .string("CA" + facts.entropy),
            "hs_call_app_id": .string("1234567"),
            "hs_activity_type": facts.tags.contains("quote") ? .string("Sales call") : .null,
            "hs_attachment_ids": .null,
            "hubspot_owner_id": .string(orNull: owner.map { Self.ownerID($0) }),
        ]
        return (id, .object([
            "id": .string(id),
            "properties": .object(properties),
            "createdAt": properties["hs_createdate"] ?? .null,
            "updatedAt": properties["hs_lastmodifieddate"] ?? .null,
            "archived": .bool(false),
        ]))
    }

    /// A HubSpot owner (user) id for a sandbox agent.
    static func ownerID(_ agent: SandboxAgent) -> String { String(80_000_000 + agent.id) }

    /// The number as a dialer or a person typed it, cycling through `(410) 555-0123`,
    /// `+1 410-555-0123` and `4105550123`.
    static func freeText(_ e164: String, style: Int) -> String {
        switch style % 3 {
        case 0: PhoneFormat.parenthesized(e164)
        case 1: e164.hasPrefix("+1") ? "+1 " + PhoneFormat.dashed(e164) : e164
        default: PhoneFormat.national(e164)
        }
    }

    /// `2024-05-14T18:30:00.000Z`: HubSpot always writes the milliseconds.
    static func iso(_ instant: Timestamp) -> String {
        let c = instant.utcComponents
        return "\(CivilTime.date(instant))T\(CivilTime.time(instant)).\(CivilTime.pad(c.millisecond, 3))Z"
    }

    /// Applies a test's change in HubSpot's property names (`.field` paths are property names,
    /// or dotted paths into the record), and bumps `hs_lastmodifieddate`/`updatedAt` to now (at
    /// least 1 ms past the previous value) as HubSpot does on every write, so an incremental
    /// search sees the change. `.tags` sets `hs_activity_type` (calls have no tags).
    func apply(_ change: SandboxCallChange, to record: JSONValue) -> JSONValue {
        var record = record
        switch change.kind {
        case .recording(let url): record.set(["properties", "hs_call_recording_url"], to: .string(orNull: url))
        case .tags(let tags): record.set(["properties", "hs_activity_type"], to: .string(orNull: tags.isEmpty ? nil : tags.joined(separator: ";")))
        case .field(let path, let value):
            if path.contains(".") { record.set(dotted: path, to: value) } else { record.set(["properties", path], to: value) }
        }
        let previous = record[path: "properties", "hs_lastmodifieddate"]?.text.flatMap { Timestamp.parseISO8601($0) }
        let now = Timestamp.now()
        let bumped = previous.map { now > $0 ? now : Timestamp(millisecondsSinceEpoch: $0.millisecondsSinceEpoch + 1) } ?? now
        record.set(["properties", "hs_lastmodifieddate"], to: .string(Self.iso(bumped)))
        record.set(["updatedAt"], to: .string(Self.iso(bumped)))
        return record
    }

    // MARK: - Webhook

    /// A generic-object webhook batch (§8): a JSON array with one `object.propertyChange` event
    /// for the call (`objectTypeId` `0-48`), its disposition as the changed property. It carries no
    /// call record. Signed with v3: `X-HubSpot-Signature-v3` = Base64(HMAC-SHA256(client secret,
    /// `POST` + URL + body + timestamp)), `X-HubSpot-Request-Timestamp` in epoch milliseconds.
    func webhook(for call: SandboxCall, account: SandboxAccount, url: String,
                 configuration: SandboxConfiguration, now: Timestamp) -> WebhookDelivery {
        let event: JSONValue = .object([
            "eventId": .int(Int64(3_816_000_000) + Int64(call.serial) * 1000 + Int64(call.version)),
            "subscriptionId": .int(2_881_778),
            "portalId": .int(Int64(account.id) ?? 0),
            "appId": .int(1_160_452),
            "occurredAt": .int(now.millisecondsSinceEpoch),
            "subscriptionType": .string("object.propertyChange"),
            "attemptNumber": .int(0),
            "objectId": .int(Int64(call.id) ?? 0),
            "objectTypeId": .string("0-48"),
            "propertyName": .string("hs_call_disposition"),
            "propertyValue": call.record[path: "properties", "hs_call_disposition"] ?? .null,
            "changeSource": .string("INTEGRATION"),
            "sourceId": .string("1234567"),
        ])
        let body = JSONWriter.bytes(.array([event]))
        let timestamp = String(now.millisecondsSinceEpoch)
        return WebhookDelivery(headers: [
            ("Content-Type", "application/json"),
            ("X-HubSpot-Signature-v3", WebhookSignature.hubSpotV3(clientSecret: configuration.hubSpot.clientSecret, method: "POST",
                                                                  uri: url, body: body, timestamp: timestamp)),
            ("X-HubSpot-Request-Timestamp", timestamp),
        ], body: body)
    }
}
