import CallFeedCore

extension CTMAPI {
    /// A call in the shape of `ctm.call.sample.json` (§6): the same object the list, the detail
    /// endpoint and the webhook carry.
    func makeRecord(_ facts: CallFacts, account: SandboxAccount, oddity: SandboxOddity?,
                    configuration: SandboxConfiguration) -> (id: String, record: JSONValue) {
        let id = 90_000_000 + facts.serial
        let offset = account.utcOffsetSeconds
        let local = CivilTime.fields(facts.startedAt, offsetSeconds: offset)
        let customer = oddity == .garbagePhone ? "call-me-maybe" : facts.customerNumber
        let isPaid = facts.medium == "cpc"
        let trackingIndex = account.trackingNumbers.firstIndex(of: facts.trackingNumber) ?? 0
        let weekdays = ["Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"]
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                      "October", "November", "December"]
        let daysSinceEpoch = (facts.startedAt.secondsSinceEpoch + Int64(offset)).floorDiv(86_400)
        let hour12 = local.hour % 12 == 0 ? 12 : local.hour % 12
        let (status, dialStatus): (String, String) = switch facts.outcome {
        case .answered: ("answered", "completed")
        case .missed: ("no answer", "no-answer")
        case .voicemail: ("voicemail", "completed")
        case .busy: ("busy", "busy")
        }
        let legStart = facts.startedAt.adding(seconds: Int64(facts.ringSeconds))
        var record: [String: JSONValue] = [
            "id": .int(id),
            "sid": .string("CA" + facts.entropy),
            "account_id": .int(Int(account.id) ?? 0),
            "name": .string(facts.customerName ?? ""),
            "cnam": .string("\(facts.customerLastName) \(facts.customerFirstName)".uppercased()),
            "search": .null,
            "referrer": .string(facts.source.hasPrefix("Google") ? "https://www.google.com/" : ""),
            "location": .string("https://www.example.com/" + (isPaid ? "?gclid=\(facts.gclid ?? "")" : "")),
            "source": .string(facts.source),
            "source_id": .int(5500 + abs(Int(stableHash(facts.source) % 100))),
            "source_sid": .string("TSO" + String(facts.entropy.prefix(32))),
            "likelihood": .null,
            "duration": .int(facts.durationSeconds),
            "direction": .string(facts.isInbound ? "inbound" : "outbound"),
            "talk_time": .int(facts.talkSeconds),
            "ring_time": .int(facts.ringSeconds),
            "hold_time": .int(facts.holdSeconds),
            "wait_time": .int(0),
            "email": .string(facts.customerName == nil ? "" : "\(facts.customerFirstName.lowercased())@example.com"),
            "city": .string(facts.city),
            "state": .string(facts.region),
            "country": .string(facts.country),
            "postal_code": .string("2\(CivilTime.pad(facts.serial % 10_000, 4))"),
            "called_at": .string(oddity == .unparseableTime ? "sometime last tuesday"
                                 : oddity == .missingTime ? "Invalid date" : CivilTime.ctmCalledAt(facts.startedAt, offsetSeconds: offset)),
            "unix_time": oddity == .unparseableTime ? .string("not-a-time")
                         : oddity == .missingTime ? .null : .int64(facts.startedAt.secondsSinceEpoch),
            "tracking_number_id": .int(7700 + account.index * 10 + trackingIndex + 1),
            "tracking_number_sid": .string("TPN" + String(facts.entropy.reversed())),
            "tracking_number": .string(facts.trackingNumber),
            "tracking_label": .string("\(facts.source) - Main"),
            "tracking_number_format": .string(PhoneFormat.parenthesized(facts.trackingNumber)),
            "tracking_number_bare": .string(PhoneFormat.national(facts.trackingNumber)),
            "business_number": .string(facts.businessNumber),
            "business_label": .string("Front Desk"),
            "receiving_number_id": .int(300 + account.index),
            "business_number_format": .string(PhoneFormat.parenthesized(facts.businessNumber)),
            "caller_number": .string(customer),
            "caller_number_format": .string(PhoneFormat.parenthesized(customer)),
            "caller_number_bare": .string(PhoneFormat.national(customer)),
            "caller_number_complete": .string(customer),
            "caller_number_split": .array(PhoneFormat.split(customer).map { .string($0) }),
            "alternative_number": .string(PhoneFormat.parenthesized(customer)),
            "contact_number": .string(customer),
            "dial_status": .string(dialStatus),
            "call_status": .string(dialStatus == "no-answer" ? "no-answer" : dialStatus),
            "status": .string(status),
            "is_new_caller": .bool(facts.serial % 3 != 0),
            "excluded": .bool(false),
            "redacted": .bool(false),
            "visitor": .bool(facts.source != "Direct"),
            "audio": facts.hasRecording ? .string(Self.recordingURL(account: account.id, call: id)) : .null,
            "is_s3_link": .bool(false),
            "transcription_text": .string(facts.hasRecording ? "Hi, I'd like a quote please." : ""),
            "summary": .string(facts.hasRecording ? "Caller asked for a quote." : ""),
            "agent_id": .string(orNull: facts.agent.map(Self.userID)),
            "agent": facts.agent.map { .object(["id": .string(Self.userID($0)), "name": .string($0.name), "email": .string($0.email)]) } ?? .null,
            "tag_list": .array(facts.tags.map { .string($0) }),
            "notes": .string(""),
            "medium": .string(facts.medium),
            "campaign": .string(facts.campaign),
            "keyword": .string(facts.keyword),
            "web_source": .string(facts.source.lowercased().split(separator: " ").first.map(String.init) ?? ""),
            "ga": .object(["cid": .string("\(1_000_000_000 + facts.serial).\(facts.startedAt.secondsSinceEpoch)"),
                           "gclid": .string(facts.gclid ?? ""), "medium": .string(facts.medium), "campaign": .string(facts.campaign)]),
            "legs": .array([.object([
                "sid": .string("CA" + String(facts.entropy.reversed())),
                "from": .string(facts.trackingNumber), "to": .string(facts.businessNumber),
                "status": .string(dialStatus),
                "started_at": .string(legStart.rfc3339),
                "end_at": .string(legStart.adding(seconds: Int64(facts.talkSeconds + facts.holdSeconds)).rfc3339),
            ])]),
            "call_path": .array([.object(["route_name": .string("Main Queue"), "route_id": .int(44), "route_type": .string("queue"),
                                          "started_at": .string(facts.startedAt.rfc3339)])]),
            "day": .string(weekdays[Int(((daysSinceEpoch % 7) + 7) % 7)]),
            "month": .string(months[local.month - 1]),
            "hour": .string("\(hour12) \(local.hour < 12 ? "AM" : "PM")"),
            "latitude": .double(39.29),
            "longitude": .double(-76.61),
        ]
        record["paid"] = isPaid
            ? .object(["source": .string("google"), "medium": .string("cpc"), "keyword": .string(facts.keyword),
                       "campaign": .string(facts.campaign), "ad_group": .string("Emergency"),
                       "campaign_id": .string(String(1_111_111_111 + facts.serial % 7)), "ad_group_id": .string("2222222222")])
            : .null
        return (String(id), .object(record))
    }

    /// Recordings live behind the API (`ctm.md` §6: an API URL that redirects to S3).
    static func recordingURL(account: String, call: Int) -> String {
        "https://api.calltrackingmetrics.com/api/v1/accounts/\(account)/calls/\(call)/recording"
    }

    func apply(_ change: SandboxCallChange, to record: JSONValue) -> JSONValue {
        var record = record
        switch change.kind {
        case .recording(let url):
            record.set(["audio"], to: .string(orNull: url))
            record.set(["is_s3_link"], to: .bool(false))
        case .tags(let tags):
            record.set(["tag_list"], to: .array(tags.map { .string($0) }))
        case .field(let path, let value):
            record.set(dotted: path, to: value)
        }
        return record
    }

    /// The end-of-call webhook (§7): the call object as the body, signed with the secret over
    /// `X-CTM-Time` + body.
    func webhook(for call: SandboxCall, account: SandboxAccount, url: String,
                 configuration: SandboxConfiguration, now: Timestamp) -> WebhookDelivery {
        let body = JSONWriter.bytes(call.record)
        let time = String(now.secondsSinceEpoch)
        return WebhookDelivery(headers: [
            ("Content-Type", "application/json"),
            ("X-CTM-Time", time),
            ("X-CTM-Signature", WebhookSignature.ctm(secret: configuration.ctm.secretKey, time: time, body: body)),
        ], body: body)
    }
}

extension Int64 {
    /// Division rounding toward negative infinity.
    func floorDiv(_ divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}

extension JSONValue {
    /// An `Int64` number.
    static func int64(_ value: Int64) -> JSONValue { .int(value) }
}
