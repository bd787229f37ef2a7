import CallFeedCore

extension Five9API {
    /// The default Call Log report's columns, in the sample's order (`five9.calllog.report-result.sample.csv`).
    static let columns = [
        "CALL ID", "TIMESTAMP", "CAMPAIGN", "CALL TYPE", "AGENT", "AGENT NAME", "DISPOSITION", "ANI", "CUSTOMER NAME", "DNIS",
        "CALL TIME", "BILL TIME (ROUNDED)", "COST", "IVR TIME", "QUEUE WAIT TIME", "RING TIME", "TALK TIME", "HOLD TIME",
        "PARK TIME", "AFTER CALL WORK TIME", "TRANSFERS", "CONFERENCES", "HOLDS", "ABANDONED", "RECORDINGS",
    ]

    static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Tue, 14 May 2024 11:30:00` in Pacific time (DST-aware), as the samples show `TIMESTAMP`.
    static func reportTimestamp(_ instant: Timestamp) -> String {
        let offset = CivilTime.offsetSeconds(zone: pacific, at: instant) ?? -7 * 3600
        let local = Timestamp(millisecondsSinceEpoch: instant.millisecondsSinceEpoch + Int64(offset) * 1000)
        let f = local.utcComponents
        let seconds = local.secondsSinceEpoch
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let weekday = weekdays[((days % 7) + 7) % 7]
        return "\(weekday), \(CivilTime.pad(f.day)) \(monthNames[f.month - 1]) \(f.year) \(CivilTime.pad(f.hour)):\(CivilTime.pad(f.minute)):\(CivilTime.pad(f.second))"
    }

    /// `H:MM:SS`.
    static func hms(_ seconds: Int) -> String { "\(seconds / 3600):\(CivilTime.pad(seconds % 3600 / 60)):\(CivilTime.pad(seconds % 60))" }

    /// A call as the Call Log report lists it: `{"rows": [row, …]}`, one row per leg, cells as text.
    /// Every fourth answered call of a minute or more was transferred: two rows with the same
    /// `CALL ID`, the second leg (another agent) starting when the first ended; ring, talk and hold
    /// split over the legs so that they add up to the call's.
    func makeRecord(_ facts: CallFacts, account: SandboxAccount, oddity: SandboxOddity?,
                    configuration: SandboxConfiguration) -> (id: String, record: JSONValue) {
        let id = String(300_000_000_000_000 + facts.serial)
        let customer = PhoneFormat.national(facts.customerNumber)
        let business = PhoneFormat.national(facts.isInbound ? facts.trackingNumber : facts.businessNumber)
        let callType = facts.isInbound ? "Inbound" : (facts.serial % 2 == 0 ? "Outbound" : "Manual")
        let disposition: String
        switch (facts.outcome, facts.isInbound) {
        case (.answered, _): disposition = facts.tags.contains("quote") ? "Quote Sent" : "Appointment Set"
        case (.missed, true): disposition = "Abandon"
        case (.missed, false): disposition = "No Answer"
        case (.voicemail, _): disposition = "Voicemail"
        case (.busy, _): disposition = "Busy"
        }
        let transferred = facts.isAnswered && facts.serial % 4 == 0 && facts.talkSeconds >= 60
        struct Leg { var agent: SandboxAgent?; var ring: Int; var talk: Int; var hold: Int; var offset: Int; var transfers: Int }
        var legs: [Leg]
        if transferred, let first = facts.agent {
            let second = account.agents.first { $0 != first } ?? first
            let talk1 = facts.talkSeconds / 2
            let firstLeg = Leg(agent: first, ring: facts.ringSeconds, talk: talk1, hold: facts.holdSeconds, offset: 0, transfers: 1)
            legs = [firstLeg, Leg(agent: second, ring: 0, talk: facts.talkSeconds - talk1, hold: 0,
                                  offset: facts.ringSeconds + talk1 + facts.holdSeconds, transfers: 0)]
        } else {
            legs = [Leg(agent: facts.agent, ring: facts.ringSeconds, talk: facts.talkSeconds, hold: facts.holdSeconds, offset: 0, transfers: 0)]
        }
        let rows: [JSONValue] = legs.enumerated().map { n, leg in
            let callTime = leg.ring + leg.talk + leg.hold
            let cents = (callTime + 59) / 60 * 2
            let timestamp = oddity == .unparseableTime ? "Fri, 30 Feb 2024 25:61:00" : Self.reportTimestamp(facts.startedAt.adding(seconds: Int64(leg.offset)))
            let ani = oddity == .garbagePhone ? "call-me-maybe" : (facts.isInbound ? customer : business)
            let row: [String: String] = [
                "CALL ID": id,
                "TIMESTAMP": timestamp,
                "CAMPAIGN": (facts.isInbound ? "Inbound " : "Outbound ") + facts.campaign,
                "CALL TYPE": callType,
                "AGENT": leg.agent?.email ?? "",
                "AGENT NAME": leg.agent?.name ?? "",
                "DISPOSITION": n == legs.count - 1 ? disposition : "Transferred To 3rd Party",
                "ANI": ani,
                "CUSTOMER NAME": facts.customerName ?? "",
                "DNIS": facts.isInbound ? business : customer,
                "CALL TIME": Self.hms(callTime),
                "BILL TIME (ROUNDED)": Self.hms((callTime + 59) / 60 * 60),
                "COST": "\(cents / 100).\(CivilTime.pad(cents % 100))00",
                "IVR TIME": Self.hms(n == 0 && facts.isInbound ? 12 : 0),
                "QUEUE WAIT TIME": Self.hms(n == 0 && facts.isInbound ? min(facts.ringSeconds, 8) : 0),
                "RING TIME": Self.hms(leg.ring),
                "TALK TIME": Self.hms(leg.talk),
                "HOLD TIME": Self.hms(leg.hold),
                "PARK TIME": "0:00:00",
                "AFTER CALL WORK TIME": Self.hms(leg.agent == nil ? 0 : 20),
                "TRANSFERS": String(leg.transfers),
                "CONFERENCES": "0",
                "HOLDS": leg.hold > 0 ? "1" : "0",
                "ABANDONED": facts.isInbound && facts.outcome == .missed ? "1" : "0",
                "RECORDINGS": facts.hasRecording && leg.agent != nil ? "1" : "0",
            ]
            return .object(row.mapValues { .string($0) })
        }
        return (id, .object(["rows": .array(rows)]))
    }

    /// Five9's report has no recording URL or tags: `.recording` sets `RECORDINGS` (1 or 0) and
    /// `.tags` the last row's `DISPOSITION` (joined by ", "); `.field` with a bare column name sets
    /// it on every row, a dotted path edits the record as JSON.
    func apply(_ change: SandboxCallChange, to record: JSONValue) -> JSONValue {
        var rows = record["rows"]?.arrayValue ?? []
        func setAll(_ column: String, _ value: JSONValue) {
            for n in rows.indices { rows[n].set([column], to: value) }
        }
        switch change.kind {
        case .recording(let url): setAll("RECORDINGS", .string(url == nil ? "0" : "1"))
        case .tags(let tags): if !rows.isEmpty { rows[rows.count - 1].set(["DISPOSITION"], to: .string(tags.joined(separator: ", "))) }
        case .field(let path, let value):
            guard !path.contains(".") else {
                var copy = record
                copy.set(dotted: path, to: value)
                return copy
            }
            setAll(path, value)
        }
        return .object(["rows": .array(rows)])
    }

    /// Five9 has no signed webhooks; the nearest thing is a Web Connector (`five9.md` §7): an HTTP
    /// POST of form parameters on `OnCallDisconnected`, no signature. This is that POST, with the
    /// call's last row in the usual `@Call.…@` variables.
    func webhook(for call: SandboxCall, account: SandboxAccount, url: String,
                 configuration: SandboxConfiguration, now: Timestamp) -> WebhookDelivery {
        let row = call.record["rows"]?.arrayValue?.last ?? .null
        func cell(_ column: String) -> String { row[column]?.text ?? "" }
        let parameters = [
            ("trigger", "OnCallDisconnected"), ("call_id", call.id), ("ANI", cell("ANI")), ("DNIS", cell("DNIS")),
            ("campaign_name", cell("CAMPAIGN")), ("disposition_name", cell("DISPOSITION")), ("agent_username", cell("AGENT")),
            ("domain", account.id),
        ]
        return WebhookDelivery(headers: [("Content-Type", "application/x-www-form-urlencoded")],
                               body: Array(QueryString.make(parameters).utf8))
    }
}
