import CallFeedCore
import Foundation

/// Maps JustCall (API v2.1) payloads to ``CallFeedCore/CallContent``.
///
/// Accepts the Call Object (`GET /v2.1/calls` element, `GET /v2.1/calls/{id}`) and the call
/// webhooks' envelope `{request_id, webhook_url, url_id, type, data}`, whose `data` **is** the Call
/// Object (`justcall.md` §6–7); so a call gets the same `source_call_id` (`id`) and the same content
/// by webhook and by poll. Webhook types other than the documented call events (SMS, contacts, the
/// sales dialer's separate call log, AI reports) are rejected.
///
/// `call_date` + `call_time` are UTC (`justcall.md` §6), so ``MappingContext/timeZone`` is not used
/// (`call_user_date`/`call_user_time` are the user's editable local copy and are ignored). Numbers
/// come as digits with the country code and no `+`. JustCall payloads name no account, so
/// `source_account_id` is always the context's. Field-by-field tables are in docs/call-event.md.
public enum JustCallMapping {
    /// The `source` of every JustCall event.
    public static let source = "justcall"

    /// Webhook `type`s whose `data` is a Call Object (`justcall.md` §7).
    static let callEventTypes: Set<String> = [
        "call.incoming", "call.answered", "call.missed", "call.voicemail", "call.enters_queue",
        "call.exits_queue", "call.initiated", "call.completed", "call.updated",
    ]

    /// Maps one JustCall Call Object or call webhook body.
    /// - Parameters:
    ///   - payload: One Call Object, or a webhook envelope holding one in `data`, parsed.
    ///   - context: The configured account id (always used), and the default country (normally US)
    ///     for numbers that are neither country-code digits nor E.164.
    /// - Returns: The normalised content: times in UTC, numbers in E.164 where possible, blanks as
    ///   `nil`, the disposition as the call's tags.
    /// - Throws: ``MappingError`` when the payload is not a call object (a list page, a non-call
    ///   webhook type), has no `id`, the context has no account id, or `call_date`/`call_time` is
    ///   not a date and time.
    public static func content(from payload: JSONValue, context: MappingContext) throws(MappingError) -> CallContent {
        guard case .object = payload else {
            throw MappingError(reason: "JustCall payload is \(payload.kindName), not a call object")
        }
        let (call, eventType) = try unwrap(payload)
        let id = try callID(call)
        let account = context.accountID.trimming(.whitespaces)
        guard !account.isEmpty else { throw MappingError(reason: "missing account id (context.accountID)") }

        let info = call["call_info"] ?? .null
        let durations = call["call_duration"] ?? .null
        var content = CallContent(source: source, sourceAccountID: account, sourceCallID: id,
                                  direction: direction(info.string("direction")),
                                  status: status(type: info.string("type"), missedReason: info.string("missed_call_reason"),
                                                 eventType: eventType))

        guard let startedAt = try startTime(date: call.string("call_date"), time: call.string("call_time")) else {
            throw .unparseableStartTime(["call_date": call["call_date"], "call_time": call["call_time"]])
        }
        content.startedAt = startedAt
        // total_duration = conversation + hold; ring, queue wait and wrap-up are not in it.
        content.durationSeconds = durations.nonNegativeInteger("total_duration")
        content.talkSeconds = durations.nonNegativeInteger("conversation_time")
        content.ringSeconds = durations.nonNegativeInteger("ring_time")
        if let start = content.startedAt, let seconds = content.durationSeconds {
            content.endedAt = start.mappedAdding(seconds: seconds)
        }

        let country = context.defaultCountry
        // contact_number is the customer both ways; justcall_number is the business's JustCall line:
        // the number dialled (inbound) or shown to the customer (outbound).
        content.callerNumber = phone(call.string("contact_number"), defaultCountry: country)
        content.dialedNumber = phone(call.string("justcall_number"), defaultCountry: country)
        content.callerName = call.string("contact_name")

        content.agent = CallContent.Agent(id: call.string("agent_id").flatMap { $0 == "0" ? nil : $0 },
                                          name: call.string("agent_name"), email: call.string("agent_email"))
        content.recordingURL = info.string("recording")
        // JustCall has no call tags; the agent's wrap-up label is the closest thing.
        content.tags = TagList.normalize(info["disposition"])
        return content
    }

    // MARK: - Envelope and identity

    /// The Call Object and the webhook `type` (nil for a bare Call Object).
    /// - Throws: ``MappingError`` for a list page or a webhook that does not carry a Call Object.
    static func unwrap(_ payload: JSONValue) throws(MappingError) -> (call: JSONValue, eventType: String?) {
        switch payload["data"] {
        case .object?:
            let type = payload.string("type")
            if let type, !callEventTypes.contains(type.lowercased()) {
                throw MappingError(reason: "JustCall webhook type \"\(type)\" is not a call event "
                    + "(expected one of \(callEventTypes.sorted().joined(separator: ", ")))")
            }
            return (payload["data"] ?? .null, type?.lowercased())
        case .array?:
            throw MappingError(reason: "JustCall list page (data), not a call object: map each element of data")
        default:
            return (payload, nil)
        }
    }

    /// `id`, the JustCall call id.
    /// - Throws: ``MappingError`` when it is missing, blank or 0 — also when only `call_sid` is set
    ///   (early webhook events): keying such a call by its SID would give it a second `event_id`
    ///   next to the one its later events and the API record carry.
    static func callID(_ call: JSONValue) throws(MappingError) -> String {
        guard let id = call.string("id"), id != "0" else {
            if let sid = call.string("call_sid") {
                throw MappingError(reason: "missing call id (id): only call_sid \(sid) is set, which the API "
                    + "record is not keyed by; the call's later events and the API poll carry the id")
            }
            throw MappingError(reason: "missing call id (id)")
        }
        return id
    }

    // MARK: - Field rules

    /// `call_info.direction`: `Incoming` → inbound, `Outgoing` → outbound.
    static func direction(_ text: String?) -> CallContent.Direction {
        switch text?.lowercased() {
        case "incoming", "inbound": .inbound
        case "outgoing", "outbound": .outbound
        case "internal": .internal
        default: .unknown
        }
    }

    /// The outcome from `call_info.type` (`Answered`, `Missed`, `Voicemail`, `Unanswered`,
    /// `Abandoned before ringing`, `In Progress`; the filter spellings `INCOMING_MISSED` … too); when it
    /// names none, a `missed_call_reason` means missed, else the webhook type decides. `call_info.status`
    /// (`Archived`/`Unarchived`) and the disposition (free text) are not outcomes.
    static func status(type: String?, missedReason: String?, eventType: String?) -> CallContent.Status {
        if let known = classify(type) { return known }
        if missedReason != nil { return .missed }
        switch eventType {
        case "call.missed": return .missed
        case "call.voicemail": return .voicemail
        case "call.answered": return .answered
        case "call.incoming", "call.initiated", "call.enters_queue", "call.exits_queue": return .inProgress
        default: return .unknown
        }
    }

    private static func classify(_ text: String?) -> CallContent.Status? {
        guard var words = text?.lowercased().replacingOccurrences(of: "_", with: " ") else { return nil }
        for prefix in ["incoming ", "outgoing "] where words.hasPrefix(prefix) {
            words = String(words.dropFirst(prefix.count))
        }
        switch words {
        case "answered": return .answered
        case "missed", "unanswered", "cancelled", "canceled": return .missed
        case _ where words.hasPrefix("abandoned"): return .missed  // "Abandoned before ringing"
        case "voicemail": return .voicemail
        case "busy": return .busy
        case "failed", "restricted", "blocked": return .failed
        case "in progress", "ringing", "initiated", "queued": return .inProgress
        default: return nil
        }
    }

    /// `call_date` (`YYYY-MM-DD`) + `call_time` (`HH:MM:SS`, the hour possibly unpadded), in UTC.
    /// - Returns: `nil` when both are absent or blank.
    /// - Throws: ``MappingError`` when only one is present or they are not a date and a time.
    static func startTime(date: String?, time: String?) throws(MappingError) -> Timestamp? {
        guard date != nil || time != nil else { return nil }
        guard let date, let time else {
            throw MappingError(reason: "malformed date-time (call_date, call_time): "
                + (date == nil ? "call_date" : "call_time") + " is missing")
        }
        var parts = time.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 3, parts[0].count == 1 { parts[0] = "0" + parts[0] }  // "8:25:43"
        let padded = parts.joined(separator: ":")
        guard padded.count == 8, date.count == 10,
              let instant = Timestamp.parseISO8601("\(date) \(padded)", defaultUTCOffsetSeconds: 0) else {
            throw MappingError(reason: "malformed date-time (call_date, call_time): \"\(date) \(time)\" is not "
                + "YYYY-MM-DD HH:MM:SS")
        }
        return instant
    }

    /// E.164 for JustCall's numbers: the usual rules first (they read country-code digits of the
    /// supported countries and national forms), then `+` before bare digits, which JustCall writes
    /// with the country code.
    static func phone(_ raw: String?, defaultCountry: String) -> String? {
        guard let normalized = PhoneNumber.normalize(raw, defaultCountry: defaultCountry) else { return nil }
        guard !normalized.hasPrefix("+"), normalized.allSatisfy({ $0.isASCII && $0.isNumber }) else { return normalized }
        return PhoneNumber.normalize("+" + normalized, defaultCountry: defaultCountry).flatMap { $0.hasPrefix("+") ? $0 : nil }
            ?? normalized
    }
}
