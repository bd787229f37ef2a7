import CallFeedCore
import Foundation

extension CallRailAPI {
    /// A call in the shape of `callrail.call.sample.json` (§6): default fields plus the ones
    /// `fields=` can add. Times are rewritten per request in the asked zone.
    func makeRecord(_ facts: CallFacts, account: SandboxAccount, oddity: SandboxOddity?,
                    configuration: SandboxConfiguration) -> (id: String, record: JSONValue) {
        let seed = configuration.seed
        let id = Self.maskedID("CAL", seed: seed, UInt64(facts.serial))
        let person = Self.maskedID("PER", seed: seed, UInt64(facts.serial))
        let company = Self.maskedID("COM", seed: seed, UInt64(account.index), 0)
        let trackerIndex = account.trackingNumbers.firstIndex(of: facts.trackingNumber) ?? 0
        let zone = configuration.callRailUserTimeZone
        let offset = CivilTime.offsetSeconds(zone: zone, at: facts.startedAt) ?? 0
        let start = oddity == .unparseableTime ? "14/05/2024 2:30pm" : CivilTime.iso8601Milliseconds(facts.startedAt, offsetSeconds: offset)
        let customer = oddity == .garbagePhone ? "+1-CALL-NOW" : facts.customerNumber
        let answered = facts.outcome == .answered
        let voicemail = facts.outcome == .voicemail
        let callType = !facts.isInbound ? "outbound" : answered ? "answered" : voicemail ? "voicemail" : "missed"
        let formattedType = ["answered": "Answered Call", "missed": "Missed Call", "voicemail": "Voicemail", "outbound": "Outbound Call"][callType] ?? ""
        let isPaid = facts.medium == "cpc"
        let landing = "https://www.example.com/" + (facts.gclid.map { "?gclid=\($0)" } ?? "")
        let referrer = facts.source.hasPrefix("Google") ? "https://www.google.com/" : facts.source.hasPrefix("Bing") ? "https://www.bing.com/" : ""
        let milestone: JSONValue = .object([
            "event_date": .string(start), "source": .string(facts.source), "medium": .string(facts.medium.lowercased()),
            "campaign": .string(facts.campaign), "keywords": .string(facts.keyword), "landing": .string(landing),
            "referrer": .string(referrer), "device": .string("mobile"),
        ])
        let recordingSeconds = max(0, facts.talkSeconds - 7)
        let record: [String: JSONValue] = [
            "id": .string(id),
            "answered": .bool(answered),
            "voicemail": .bool(voicemail),
            "direction": .string(facts.isInbound ? "inbound" : "outbound"),
            "duration": .int(facts.durationSeconds),
            "start_time": .string(start),
            "created_at": .string(start),
            "customer_phone_number": .string(customer),
            "customer_name": .string(orNull: facts.customerName?.uppercased()),
            "customer_city": .string(facts.city),
            "customer_state": .string(facts.region),
            "customer_country": .string(facts.country),
            "tracking_phone_number": .string(facts.trackingNumber),
            "business_phone_number": answered ? .string(facts.businessNumber) : .null,
            "recording": facts.hasRecording ? .string(Self.recordingURL(account: account.id, call: id)) : .null,
            "recording_player": facts.hasRecording ? .string(Self.playerURL(call: id, key: facts.entropy)) : .null,
            "recording_duration": facts.hasRecording ? .string(String(recordingSeconds)) : .null,
            "agent_email": .string(orNull: facts.agent?.email),
            "call_type": .string(callType),
            "formatted_call_type": .string(formattedType),
            "company_id": .string(company),
            "company_name": .string(account.name),
            "company_time_zone": .string(zone),
            "tracker_id": .string(Self.maskedID("TRK", seed: seed, UInt64(account.index), UInt64(trackerIndex))),
            "source": .string(facts.source),
            "source_name": .string("\(facts.source) - Main"),
            "medium": .string(facts.medium.uppercased()),
            "campaign": .string(facts.campaign),
            "keywords": .string(facts.keyword),
            "landing_page_url": .string(landing),
            "referring_url": .string(referrer),
            "referrer_domain": .string(referrer.split(separator: "/").dropFirst().first.map(String.init) ?? ""),
            "utm_source": isPaid ? .string(facts.source.lowercased().split(separator: " ").first.map(String.init) ?? "") : .null,
            "utm_medium": isPaid ? .string("cpc") : .null,
            "utm_campaign": isPaid ? .string(facts.campaign.lowercased().replacingOccurrences(of: " ", with: "_")) : .null,
            "utm_content": .null,
            "utm_term": isPaid ? .string(facts.keyword) : .null,
            "gclid": .string(orNull: facts.gclid),
            "fbclid": .null,
            "msclkid": .null,
            "tags": .array(facts.tags.map { .string($0) }),
            "note": .string(""),
            "value": .null,
            "lead_status": answered && facts.talkSeconds > 60 ? .string("good_lead") : .null,
            "first_call": .bool(facts.serial % 3 != 0),
            "prior_calls": .int(facts.serial % 3 == 0 ? 1 + facts.serial % 4 : 0),
            "total_calls": .int(facts.serial % 3 == 0 ? 2 + facts.serial % 4 : 1),
            "person_id": .string(person),
            "device_type": .string(facts.serial % 2 == 0 ? "mobile" : "desktop"),
            "timeline_url": .string("https://app.callrail.com/a/\(account.id)/timeline/\(person)"),
            "milestones": .object(["first_touch": milestone, "lead_created": milestone, "qualified": .null, "last_touch": .null]),
        ]
        return (id, .object(record))
    }

    static func recordingURL(account: String, call: String) -> String {
        "https://api.callrail.com/v3/a/\(account)/calls/\(call)/recording.json"
    }

    static func playerURL(call: String, key: String) -> String {
        "https://app.callrail.com/calls/\(call)/recording?access_key=\(key.prefix(16))"
    }

    func apply(_ change: SandboxCallChange, to record: JSONValue) -> JSONValue {
        var record = record
        switch change.kind {
        case .recording(let url):
            let id = record["id"]?.text ?? ""
            record.set(["recording"], to: .string(orNull: url))
            record.set(["recording_player"], to: url == nil ? .null : .string(Self.playerURL(call: id, key: "sandboxlateaccess")))
            let talk = record["duration"]?.integer ?? 0
            record.set(["recording_duration"], to: url == nil ? .null : .string(String(max(1, talk - 7))))
        case .tags(let tags):
            record.set(["tags"], to: .array(tags.map { .string($0) }))
        case .field(let path, let value):
            record.set(dotted: path, to: value)
        }
        return record
    }

    /// The Post-Call webhook (§7): the single-call object with every field, numbers where the
    /// legacy payload has them (`id`, `company_id`, `tracker_id` numeric; `duration` a string;
    /// empty strings for nulls), the legacy fields (`callernum`, `trackingnum`, `datetime`, …),
    /// `resource_id` = the API's `CAL…` id, signed in `Signature` over the raw body.
    func webhook(for call: SandboxCall, account: SandboxAccount, url: String,
                 configuration: SandboxConfiguration, now: Timestamp) -> WebhookDelivery {
        var members = (call.record.objectValue ?? [:]).mapValues { $0 == .null ? JSONValue.string("") : $0 }
        let trackerIndex = account.trackingNumbers.firstIndex(of: call.record["tracking_phone_number"]?.text ?? "") ?? 0
        members["id"] = .int(900_000_000 + call.serial)
        members["resource_id"] = .string(call.id)
        members["company_id"] = .int(100_000_001 + account.index)
        members["tracker_id"] = .int(300_000_001 + account.index * 10 + trackerIndex)
        members["duration"] = .string(call.record["duration"]?.text ?? "")
        members["recording_duration"] = call.record["recording_duration"]?.integer.map { .int64($0) } ?? .string("")
        members["milestones"] = nil
        let customer = call.record["customer_phone_number"]?.text ?? ""
        let tracking = call.record["tracking_phone_number"]?.text ?? ""
        members["formatted_customer_phone_number"] = .string(PhoneFormat.dashed(customer))
        members["formatted_tracking_phone_number"] = .string(PhoneFormat.dashed(tracking))
        let seconds = Int(call.record["duration"]?.integer ?? 0)
        members["formatted_duration"] = .string(seconds >= 60 ? "\(seconds / 60)m \(seconds % 60)s" : "\(seconds)s")
        members["formatted_tracking_source"] = .string(call.record["source"]?.text ?? "")
        members["integration_data"] = .array([.object(["integration": .string("Webhooks"), "data": .null])])
        members["callernum"] = .string(customer)
        members["callername"] = call.record["customer_name"].map { $0 == .null ? .string("") : $0 } ?? .string("")
        members["trackingnum"] = .string(tracking)
        members["callsource"] = .string((call.record["source"]?.text ?? "").lowercased().replacingOccurrences(of: " ", with: "_"))
        members["datetime"] = .string(call.oddity == .unparseableTime ? (call.record["start_time"]?.text ?? "") : CivilTime.dateTime(call.startedAt))
        members["score"] = .int(1)
        members["timestamp"] = call.record["start_time"] ?? .string("")
        let body = JSONWriter.bytes(.object(members))
        return WebhookDelivery(headers: [
            ("Content-Type", "application/json"),
            ("Signature", WebhookSignature.callRail(signingKey: configuration.callRail.signingKey, body: body)),
        ], body: body)
    }
}
