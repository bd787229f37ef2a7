import CallFeedCore

extension JustCallAPI {
    func users(_ account: SandboxAccount) -> [JSONValue] {
        account.agents.map { agent in
            .object(["id": .int(agent.id), "name": .string(agent.name), "email": .string(agent.email),
                     "role": .string("Agent"), "availability_status": .string("online"),
                     "timezone": .string("America/Los_Angeles"), "created_at": .string("2021-03-01 10:00:00")])
        }
    }

    func phoneNumbers(_ account: SandboxAccount) -> [JSONValue] {
        account.trackingNumbers.enumerated().map { n, number in
            .object(["id": .int(account.index * 100 + n + 1), "justcall_number": .string(PhoneFormat.digits(number)),
                     "friendly_name": .string("Sales Line \(n + 1) (US)"), "number_type": .string("local"),
                     "capabilities": .object(["voice": .bool(true), "sms": .bool(true), "mms": .bool(false)])])
        }
    }

    /// One contact per distinct customer number, in first-call order.
    func contacts(_ calls: [SandboxCall]) -> [JSONValue] {
        var seen = Set<String>()
        var contacts: [JSONValue] = []
        for call in calls {
            let number = call.record["contact_number"]?.text ?? ""
            guard !number.isEmpty, seen.insert(number).inserted else { continue }
            let name = (call.record["contact_name"]?.text ?? "").split(separator: " ").map(String.init)
            contacts.append(.object([
                "id": .int(call.serial + 7_000_000), "firstname": .string(name.first ?? ""),
                "lastname": .string(name.dropFirst().joined(separator: " ")), "email": call.record["contact_email"] ?? .string(""),
                "contact_number": .string(number), "company": .string(""), "address": .string(""),
            ]))
        }
        return contacts
    }

    /// One SMS for every third call, three minutes after it (`sms_date`/`sms_time` UTC).
    func texts(_ calls: [SandboxCall], account: SandboxAccount, context: VendorContext) -> [JSONValue] {
        calls.filter { $0.serial % 3 == 0 }.map { call in
            let at = call.startedAt.adding(seconds: 180)
            let offset = CivilTime.offsetSeconds(zone: context.configuration.justCallUserTimeZone, at: at) ?? 0
            let r = call.record
            return .object([
                "id": .int(call.serial + 5_000_000), "contact_number": r["contact_number"] ?? .null,
                "contact_name": r["contact_name"] ?? .null, "justcall_number": r["justcall_number"] ?? .null,
                "agent_id": r["agent_id"] ?? .null, "agent_name": r["agent_name"] ?? .null, "agent_email": r["agent_email"] ?? .null,
                "sms_date": .string(CivilTime.date(at)), "sms_time": .string(CivilTime.time(at)),
                "sms_user_date": .string(CivilTime.date(at, offsetSeconds: offset)),
                "sms_user_time": .string(CivilTime.time(at, offsetSeconds: offset)),
                "direction": .string("Incoming"), "cost_incurred": .double(0.01), "delivery_status": .string("delivered"),
                "sms_info": .object(["body": .string("Thanks for the call, see you Saturday."), "is_mms": .bool(false), "mms": .array([])]),
            ])
        }
    }

    /// Per-agent totals over the calls in the window (seed 004: `agent_id`, `agent_email`, `answered_calls`, …).
    func analytics(_ calls: [SandboxCall], account: SandboxAccount) -> [JSONValue] {
        account.agents.map { agent in
            let mine = calls.filter { $0.record["agent_id"]?.integer == Int64(agent.id) }
            let answered = mine.filter { $0.record[path: "call_info", "type"]?.text == "Answered" }
            let talk = mine.reduce(Int64(0)) { $0 + ($1.record[path: "call_duration", "conversation_time"]?.integer ?? 0) }
            return .object([
                "agent_id": .int(agent.id), "agent_name": .string(agent.name), "agent_email": .string(agent.email),
                "total_calls": .int(mine.count), "answered_calls": .int(answered.count), "missed_calls": .int(mine.count - answered.count),
                "total_talk_time": .int64(talk), "average_talk_time": .int(answered.isEmpty ? 0 : Int(talk) / answered.count),
            ])
        }
    }
}
