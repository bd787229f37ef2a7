import CallFeedCore

extension JustCallAPI {
    /// A call in the shape of `justcall.call.sample.json` (§6): `call_date`/`call_time` in UTC (the
    /// hour unpadded when configured), `call_user_*` in the user's zone, numbers as digits without `+`.
    func makeRecord(_ facts: CallFacts, account: SandboxAccount, oddity: SandboxOddity?,
                    configuration: SandboxConfiguration) -> (id: String, record: JSONValue) {
        let id = 918_000_000 + facts.serial
        let agent = facts.agent ?? account.agents[facts.serial % max(1, account.agents.count)]
        let userOffset = CivilTime.offsetSeconds(zone: configuration.justCallUserTimeZone, at: facts.startedAt) ?? 0
        let odd = oddity == .unparseableTime
        let answered = facts.outcome == .answered
        let type: String
        let missedReason: String
        switch (facts.isInbound, facts.outcome) {
        case (true, .answered), (false, .answered): (type, missedReason) = ("Answered", "")
        case (true, .voicemail): (type, missedReason) = ("Voicemail", "Agent did not pick up")
        case (true, .missed): (type, missedReason) = ("Missed", "Agent did not pick up")
        case (true, .busy): (type, missedReason) = ("Abandoned before ringing", "Caller hung up before ringing")
        case (false, _): (type, missedReason) = ("Unanswered", "")
        }
        let inQueue = facts.isInbound && facts.serial % 2 == 0
        let queueWait = inQueue ? min(facts.ringSeconds, 8) : 0
        let wrapUp = answered ? 20 : 0
        let total = facts.talkSeconds + facts.holdSeconds
        let friendly = "\(CivilTime.pad(total / 3600)):\(CivilTime.pad(total % 3600 / 60)):\(CivilTime.pad(total % 60))"
        let record: [String: JSONValue] = [
            "id": .int(id),
            "call_sid": .string("CA" + facts.entropy),
            "contact_number": .string(oddity == .garbagePhone ? "ask-for-bob" : PhoneFormat.digits(facts.customerNumber)),
            "contact_name": .string(facts.customerName ?? ""),
            "contact_email": .string(facts.customerName == nil ? "" : "\(facts.customerFirstName.lowercased())@example.com"),
            "justcall_number": .string(PhoneFormat.digits(facts.trackingNumber)),
            "justcall_line_name": .string("Sales Line (US)"),
            "agent_id": .int(agent.id),
            "agent_name": .string(agent.name),
            "agent_email": .string(agent.email),
            "agent_active": .string("Active"),
            "call_date": .string(odd ? "2024-13-45" : CivilTime.date(facts.startedAt)),
            "call_time": .string(odd ? "25:99:00" : CivilTime.time(facts.startedAt, padHour: !configuration.justCallUnpaddedHours)),
            "call_user_date": .string(odd ? "2024-13-45" : CivilTime.date(facts.startedAt, offsetSeconds: userOffset)),
            "call_user_time": .string(odd ? "25:99:00" : CivilTime.time(facts.startedAt, offsetSeconds: userOffset)),
            "cost_incurred": .double(Double((total + 59) / 60) * 0.02),
            "call_info": .object([
                "direction": .string(facts.isInbound ? "Incoming" : "Outgoing"),
                "type": .string(type),
                "status": .string("Unarchived"),
                "missed_call_reason": .string(missedReason),
                "disposition": .string(answered ? (facts.tags.first ?? "Appointment booked") : ""),
                "notes": .string(answered ? "Asked for a quote." : ""),
                "rating": .string(answered ? String(facts.serial % 5 + 1) : ""),
                "recording": .string(facts.hasRecording ? "https://recordings.example.invalid/justcall/\(id).mp3" : ""),
                "recording_child": .string(""),
                "voicemail_transcription": .string(facts.outcome == .voicemail ? "Hi, please call me back." : ""),
                "call_traits": .array(inQueue ? [.string("Queue")] : []),
            ]),
            "call_duration": .object([
                "friendly_duration": .string(friendly),
                "ring_time": .int(facts.ringSeconds),
                "queue_wait_time": .int(queueWait),
                "conversation_time": .int(facts.talkSeconds),
                "hold_time": .int(facts.holdSeconds),
                "total_duration": .int(total),
                "wrap_up_time": .int(wrapUp),
                "handle_time": .int(total + wrapUp),
            ]),
            "queue": inQueue ? .object(["id": .int(311), "name": .string("Inbound Sales"), "wait_time": .int(queueWait)]) : .null,
            "queue_callback": .null,
            "ivr_info": facts.isInbound ? .object(["content": .string("Press 1 for sales"), "digit_pressed": .string("1")]) : .null,
            "justcall_ai": .null,
        ]
        return (String(id), .object(record))
    }

    /// JustCall has no tags: `.tags` sets the agent's wrap-up label, `call_info.disposition`
    /// (joined by ", "), the closest field it has.
    func apply(_ change: SandboxCallChange, to record: JSONValue) -> JSONValue {
        var record = record
        switch change.kind {
        case .recording(let url): record.set(["call_info", "recording"], to: .string(url ?? ""))
        case .tags(let tags): record.set(["call_info", "disposition"], to: .string(tags.joined(separator: ", ")))
        case .field(let path, let value): record.set(dotted: path, to: value)
        }
        return record
    }

    /// The `call.completed` webhook (§7): `{request_id, webhook_url, url_id, type, data}` with the
    /// call object as `data`; `x-justcall-signature` signs secret, URL, type and timestamp, not the body.
    func webhook(for call: SandboxCall, account: SandboxAccount, url: String,
                 configuration: SandboxConfiguration, now: Timestamp) -> WebhookDelivery {
        let type = "call.completed"
        let timestamp = CivilTime.dateTime(now)
        var random = SeededRandom(configuration.seed, UInt64(call.serial), UInt64(now.millisecondsSinceEpoch))
        let h = random.hex(32)
        let requestID = "\(h.prefix(8))-\(h.dropFirst(8).prefix(4))-4\(h.dropFirst(13).prefix(3))-a\(h.dropFirst(17).prefix(3))-\(h.suffix(12))"
        let body: JSONValue = .object(["request_id": .string(requestID), "webhook_url": .string(url), "url_id": .int(77),
                                       "type": .string(type), "data": call.record])
        let secret = account.credential.secret ?? configuration.justCall.apiSecret
        return WebhookDelivery(headers: [
            ("Content-Type", "application/json"),
            ("x-justcall-signature", WebhookSignature.justCall(secret: secret, url: url, type: type, timestamp: timestamp)),
            ("x-justcall-signature-version", "v1"),
            ("x-justcall-request-timestamp", timestamp),
        ], body: JSONWriter.bytes(body))
    }
}
