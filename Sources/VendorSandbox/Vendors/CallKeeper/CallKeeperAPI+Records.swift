import CallFeedCore

extension CallKeeperAPI {
    /// A v3 call in the shape of `callkeeper.call.sample.json` (§6): never null, `""`/`0`/`[]`
    /// instead. Every third call is a calltracking call (`ct*` fields), the rest callback calls
    /// (`cb*` fields, `cbCallId` being what the Webhookcall sends as `id`).
    func makeRecord(_ facts: CallFacts, account: SandboxAccount, oddity: SandboxOddity?,
                    configuration: SandboxConfiguration) -> (id: String, record: JSONValue) {
        let universalID = "4" + CivilTime.pad(facts.serial, 16)
        let isCallback = facts.serial % 3 != 0
        let client = oddity == .garbagePhone ? "позвоните-мне" : PhoneFormat.digits(facts.customerNumber)
        let tracking = PhoneFormat.digits(facts.trackingNumber)
        let manager = PhoneFormat.digits(facts.businessNumber)
        let (first, second) = Self.legs(facts, isCallback: isCallback)
        let offset = account.utcOffsetSeconds
        let time = oddity == .unparseableTime ? "2024-02-30 25:61:00" : CivilTime.dateTime(facts.startedAt)
        let local = oddity == .unparseableTime ? "2024-02-30 28:61:00" : CivilTime.dateTime(facts.startedAt, offsetSeconds: offset)
        let accountNumber = Int(account.id) ?? 0
        let isPaid = facts.medium == "cpc"
        let hooks: [JSONValue] = isCallback ? ["BEFORE_CALL_START", "AFTER_CALL_FINISH"].map { event in
            .object(["hookEventName": .string(event), "hookAddress": .string("https://ingest.example.com/hooks/callkeeper/tenant-token-1"),
                     "hookMethod": .string("POST"), "hookResponseStatus": .int(200)])
        } : []
        let record: [String: JSONValue] = [
            "page": .int(0),
            "universalId": .string(universalID),
            "serviceType": .string(isCallback ? "callback" : "calltracking"),
            "clientNumber": .string(client),
            "managerNumber": .string(manager),
            "callerIdToManager": .string(isCallback ? tracking : client),
            "callerIdToClient": .string(tracking),
            "statusFirst": .int(first),
            "statusSecond": .int(second),
            "status": .string(first == 200 && second == 200 ? "success" : "fail"),
            "callTime": .string(time),
            "localDate": .string(local),
            "timezoneOffset": .string(CivilTime.offset(offset, colon: false)),
            "duration": .int(facts.isAnswered ? facts.talkSeconds : 0),
            "tariffTime": .int((facts.durationSeconds + 59) / 60),
            "site": .string("example.ru"),
            "recordUrl": .string(facts.hasRecording && facts.isAnswered ? "https://ckct.ru/records/sandbox/\(universalID).mp3" : ""),
            "unique": .bool(facts.serial % 4 != 0),
            "target": .bool(facts.talkSeconds >= 30),
            "uniqueTarget": .bool(facts.serial % 4 != 0 && facts.talkSeconds >= 30),
            "visitSite": .string("example.ru"),
            "referrer": .string(isPaid ? "https://yandex.ru/" : ""),
            "utm_source": .string(isPaid ? "yandex" : ""),
            "utm_medium": .string(isPaid ? "cpc" : ""),
            "utm_campaign": .string(isPaid ? "spring_promo" : ""),
            "utm_content": .string(isPaid ? "ad_0\(facts.serial % 3 + 1)" : ""),
            "utm_term": .string(isPaid ? "santehnik" : ""),
            "yaClid": .string("17156800\(CivilTime.pad(facts.serial, 11))"),
            "gaClid": .string("\(1_234_567_890 + facts.serial).\(facts.startedAt.secondsSinceEpoch)"),
            "roistatClid": .string(""),
            "calltouchClid": .string(""),
            "comagicClid": .string(""),
            "city": .string(facts.city),
            "region": .string(facts.region),
            "country": .string(facts.country),
            "ipAddress": .string("203.0.113.\(facts.serial % 250 + 1)"),
            "pagesCount": .int(facts.serial % 7 + 1),
            "entryPoint": .string("https://example.ru/"),
            "entryPointQuery": .string(isPaid ? "https://example.ru/?utm_source=yandex&utm_medium=cpc" : "https://example.ru/"),
            "callPage": .string("https://example.ru/contacts"),
            "counts": .int(facts.serial % 5 + 1),
            "userAgent": .string("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)"),
            "device": .string("iphone"),
            "cbWidgetHash": .string(isCallback ? "sandboxwidgethash" + CivilTime.pad(accountNumber, 16) : ""),
            "cbToolId": .int(isCallback ? 1000 + account.index : 0),
            "cbCallId": .int(isCallback ? 10_000_000 + facts.serial : 0),
            "cbUid": .int(isCallback ? accountNumber : 0),
            "cbToolName": .string(isCallback ? "Callback widget" : ""),
            "cbOfficeNumber": .string(isCallback ? "0" : ""),
            "cbOfficeName": .string(isCallback ? "Main office" : ""),
            "cbOrderDate": .string(isCallback ? CivilTime.dateTime(facts.startedAt.adding(seconds: -15)) : ""),
            "cbAttempt": .int(isCallback ? 1 : 0),
            "cbAttemptsQueue": .array([]),
            "cbConnectType": .string(isCallback ? "auto" : ""),
            "cbSmartCallCount": .int(0),
            "cbIvrCount": .int(isCallback ? 1 : 0),
            "cbEventSource": .string(isCallback ? "widget" : ""),
            "ctCallId": .int(isCallback ? 0 : 700_000 + facts.serial),
            "ctCampaignId": .int(isCallback ? 0 : 1001),
            "ctCampaignName": .string(isCallback ? "" : facts.campaign),
            "ctIsListened": .string(isCallback ? "" : "0"),
            "tags": .array(facts.tags.map { .string($0) }),
            "hooks": .array(hooks),
        ]
        return (universalID, .object(record))
    }

    /// `statusFirst`/`statusSecond` for an outcome (`callkeeper.md` §6 status pairs).
    private static func legs(_ facts: CallFacts, isCallback: Bool) -> (Int, Int) {
        switch facts.outcome {
        case .answered: (200, 200)
        case .missed: isCallback && facts.serial % 2 == 0 ? (487, 0) : (200, 487)
        case .busy: facts.serial % 2 == 0 ? (486, 0) : (200, 486)
        case .voicemail: (480, 0)
        }
    }

    func apply(_ change: SandboxCallChange, to record: JSONValue) -> JSONValue {
        var record = record
        switch change.kind {
        case .recording(let url): record.set(["recordUrl"], to: .string(url ?? ""))
        case .tags(let tags): record.set(["tags"], to: .array(tags.map { .string($0) }))
        case .field(let path, let value): record.set(dotted: path, to: value)
        }
        return record
    }

    /// The after-call webhook (§7, unsigned): a callback call sends the Webhookcall JSON
    /// (`callkeeper.webhook.after-call-finish.sample.json`) whose `id` is the record's `cbCallId`; a
    /// calltracking call sends the ckct "Webhook Calltracking" body with the default parameter names
    /// (`callkeeper.webhook.calltracking.sample.json`), which carries no call id.
    func webhook(for call: SandboxCall, account: SandboxAccount, url: String,
                 configuration: SandboxConfiguration, now: Timestamp) -> WebhookDelivery {
        let r = call.record
        func text(_ key: String) -> JSONValue { .string(r[key]?.text ?? "") }
        func number(_ key: String) -> JSONValue { .int(r[key]?.integer ?? 0) }
        let first = Int(r["statusFirst"]?.integer ?? 0)
        let second = Int(r["statusSecond"]?.integer ?? 0)
        let body: JSONValue
        if r["serviceType"]?.text == "callback" {
            let duration = Int(r["duration"]?.integer ?? 0)
            let utm: JSONValue = .object(["utm_source": text("utm_source"), "utm_medium": text("utm_medium"),
                                          "utm_campaign": text("utm_campaign")])
            body = .object([
                "id": number("cbCallId"),
                "hook_event": .string("Call is over"),
                "phone1": text("managerNumber"),
                "phone2": text("clientNumber"),
                "date": text("callTime"),
                "date_timestamp": .int64(call.startedAt.secondsSinceEpoch),
                "order_date": text("cbOrderDate"),
                "duration_sec": .int(duration),
                "duration_min": .string(String((duration + 59) / 60)),
                "status_code": .int(first),
                "status_reason": .string(Self.reason(first)),
                "status2_code": .int(second),
                "status2_reason": .string(Self.reason(second)),
                "record_url": text("recordUrl"),
                "attempt": number("cbAttempt"),
                "a_type": .int(0),
                "asr_attempts": .int(0),
                "playback_tick": .int(1),
                "event_source": text("cbEventSource"),
                "widget_hash": text("cbWidgetHash"),
                "widget_name": text("cbToolName"),
                "tags": .string((r["tags"]?.arrayValue ?? []).compactMap(\.text).joined(separator: ",")),
                "site": text("site"),
                "cpg": text("callPage"),
                "uag": text("userAgent"),
                "ip": text("ipAddress"),
                "uip": text("ipAddress"),
                "country": .string("RU"),
                "city": text("city"),
                "region": text("region"),
                "district": .string("Центральный федеральный округ"),
                "ga_clientid": text("gaClid"),
                "ga_clid": text("gaClid"),
                "ya_clientid": .null,
                "roistat_visit": .null,
                "visit_info": .object(["current": utm, "first": utm]),
                "session": .object(["pgs": number("pagesCount")]),
                "udata": .object(["vst": number("counts")]),
            ])
        } else {
            body = .object([
                "record_url": text("recordUrl"), "ip": text("ipAddress"), "device": text("device"), "host": text("site"),
                "city": text("city"), "region": text("region"), "country": text("country"),
                "source_type": .string(r["utm_source"]?.text == "yandex" ? "Яндекс.Директ" : "Прямой заход"),
                "utm_source": text("utm_source"), "utm_medium": text("utm_medium"), "utm_campaign": text("utm_campaign"),
                "utm_term": text("utm_term"), "utm_content": text("utm_content"),
                "client_number": text("clientNumber"), "calltracking_number": text("callerIdToClient"),
                "manager_number": text("managerNumber"), "time_start": text("callTime"), "duration": number("duration"),
                "dtmf_pressed": .string(""), "call_status": .string("\(first)/\(second)"),
                "call_type": .string("Динамический коллтрекинг"), "company_name": text("ctCampaignName"),
                "office_name": .string("Main office"), "user_id": .int(Int(account.id) ?? 0), "ga_clid": text("gaClid"),
            ])
        }
        return WebhookDelivery(headers: [("Content-Type", "application/json")], body: JSONWriter.bytes(body))
    }

    private static func reason(_ code: Int) -> String {
        switch code {
        case 200: "OK"
        case 480: "Temporarily Unavailable"
        case 486: "Busy Here"
        case 487: "Request Terminated"
        default: ""
        }
    }
}
