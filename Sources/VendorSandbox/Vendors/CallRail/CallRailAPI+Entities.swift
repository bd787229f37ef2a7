import CallFeedCore
import HTTPServer

extension CallRailAPI {
    /// An entry of `GET /v3/a.json`: masked `id` plus the 9-digit `numeric_id` of dashboard URLs (§1).
    func accountObject(_ account: SandboxAccount, context: VendorContext) -> JSONValue {
        .object(["id": .string(maskedID("ACC", account, context: context)), "name": .string(account.name),
                 "numeric_id": .int(Int(account.id) ?? 0), "outbound_recording_enabled": .bool(true), "hipaa_account": .bool(false)])
    }

    func companyObject(_ account: SandboxAccount, context: VendorContext) -> JSONValue {
        .object(["id": .string(maskedID("COM", account, context: context)), "name": .string(account.name),
                 "status": .string("active"), "time_zone": .string(context.configuration.callRailUserTimeZone),
                 "created_at": .string("2021-03-01T10:00:00.000-05:00"), "disabled_at": .null,
                 "callscore_enabled": .bool(false), "lead_scoring_enabled": .bool(true)])
    }

    func trackers(_ account: SandboxAccount, context: VendorContext) -> [JSONValue] {
        account.trackingNumbers.enumerated().map { n, number in
            .object(["id": .string(maskedID("TRK", account, n, context: context)), "name": .string("Tracking line \(n + 1)"),
                     "type": .string("source"), "status": .string("active"),
                     "tracking_numbers": .array([.string(number)]),
                     "destination_number": .string(account.businessNumber),
                     "company": .object(["id": .string(maskedID("COM", account, context: context)), "name": .string(account.name)])])
        }
    }

    func users(_ account: SandboxAccount, context: VendorContext) -> [JSONValue] {
        account.agents.map { agent in
            let parts = agent.name.split(separator: " ").map(String.init)
            return .object(["id": .string(Self.maskedID("USR", seed: context.configuration.seed, UInt64(agent.id))),
                            "email": .string(agent.email), "first_name": .string(parts.first ?? ""),
                            "last_name": .string(parts.dropFirst().joined(separator: " ")), "name": .string(agent.name),
                            "role": .string("reporting"), "created_at": .string("2021-03-01T10:00:00.000-05:00")])
        }
    }

    func tags(_ account: SandboxAccount, context: VendorContext) -> [JSONValue] {
        let used = Set((context.dataset.calls[account.id] ?? []).flatMap { $0.record["tags"]?.arrayValue ?? [] }.compactMap(\.text))
        return DataGenerator.tags.filter(used.contains).enumerated().map { n, name in
            .object(["id": .int(account.index * 100 + n + 1), "name": .string(name), "tag_level": .string("account"),
                     "color": .string("gray1"), "background_color": .string("gray1"),
                     "company_id": .null, "status": .string("enabled"), "created_at": .string("2021-03-01T10:00:00.000-05:00")])
        }
    }

    // MARK: - Records derived from calls

    /// Form submissions and text conversations: one for every `every`-th call of the account, at
    /// the call's time plus a few minutes, dated and paginated like calls.
    func derived(_ account: SandboxAccount, request: APIRequest, context: VendorContext, key: String, link: String,
                 every: Int, make: (SandboxCall, SandboxAccount, String, VendorContext) -> JSONValue) -> HTTPResponse {
        let window: CallRailDateWindow
        switch CallRailDateWindow.parse(request, context: context) {
        case .success(let w): window = w
        case .failure(let problem): return badRequest(problem.text)
        }
        var calls = (context.dataset.calls[account.id] ?? []).filter { $0.serial % every == 0 && window.contains($0.startedAt.adding(seconds: 180)) }
        if request.query["order"] != "asc" { calls.reverse() }
        return numbered(calls.map { make($0, account, window.zone, context) }, key: key, request: request, link: link)
    }

    func formSubmission(_ call: SandboxCall, account: SandboxAccount, zone: String, context: VendorContext) -> JSONValue {
        let at = call.startedAt.adding(seconds: 180)
        let r = call.record
        return .object([
            "id": .string(Self.maskedID("FOR", seed: context.configuration.seed, UInt64(call.serial))),
            "company_id": .string(maskedID("COM", account, context: context)),
            "person_id": r["person_id"] ?? .null,
            "form_data": .object(["name": r["customer_name"] ?? .null, "phone": r["customer_phone_number"] ?? .null,
                                  "message": .string("Please call me back about a quote.")]),
            "form_url": .string("https://www.example.com/contact"),
            "landing_page_url": r["landing_page_url"] ?? .null,
            "referrer": r["referring_url"] ?? .null,
            "referring_url": r["referring_url"] ?? .null,
            "submitted_at": .string(CivilTime.iso8601Milliseconds(at, offsetSeconds: CivilTime.offsetSeconds(zone: zone, at: at) ?? 0)),
            "first_form": .bool(true),
            "customer_phone_number": r["customer_phone_number"] ?? .null,
            "customer_name": r["customer_name"] ?? .null,
            "formatted_customer_phone_number": .string(PhoneFormat.dashed(r["customer_phone_number"]?.text ?? "")),
            "source": r["source"] ?? .null, "keywords": r["keywords"] ?? .null,
            "campaign": r["campaign"] ?? .null, "medium": r["medium"] ?? .null,
        ])
    }

    func conversation(_ call: SandboxCall, account: SandboxAccount, zone: String, context: VendorContext) -> JSONValue {
        let at = call.startedAt.adding(seconds: 180)
        let offset = CivilTime.offsetSeconds(zone: zone, at: at) ?? 0
        let r = call.record
        let customer = r["customer_phone_number"]?.text ?? ""
        let tracking = r["tracking_phone_number"]?.text ?? ""
        return .object([
            "id": .string(Self.maskedID("SMT", seed: context.configuration.seed, UInt64(call.serial))),
            "company_id": .string(maskedID("COM", account, context: context)),
            "initial_tracker_id": r["tracker_id"] ?? .null, "current_tracker_id": r["tracker_id"] ?? .null,
            "customer_name": r["customer_name"] ?? .null, "customer_phone_number": .string(customer),
            "initial_tracking_number": .string(tracking), "current_tracking_number": .string(tracking),
            "last_message_at": .string(CivilTime.iso8601Milliseconds(at, offsetSeconds: offset)),
            "state": .string("active"),
            "formatted_customer_phone_number": .string(PhoneFormat.dashed(customer)),
            "formatted_initial_tracking_number": .string(PhoneFormat.dashed(tracking)),
            "recent_messages": .array([
                .object(["direction": .string("incoming"), "content": .string("Hi, are you open on Saturday?"),
                         "created_at": .string(CivilTime.iso8601Milliseconds(at, offsetSeconds: offset))]),
                .object(["direction": .string("outgoing"), "content": .string("Yes, 9am to 1pm."),
                         "created_at": .string(CivilTime.iso8601Milliseconds(at.adding(seconds: 60), offsetSeconds: offset))]),
            ]),
        ])
    }
}
