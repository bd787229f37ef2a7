import CallFeedCore
import Foundation

/// Maps CallTrackingMetrics call records to ``CallFeedCore/CallContent``.
///
/// The webhook body is the same object as the API's call record (`ctm.md` §6–7), so one mapping
/// serves both; a list page (`{"calls": [...]}`) is mapped one element at a time. `unix_time` is
/// epoch seconds, so no time zone is involved; ``MappingContext/timeZone`` is unused.
/// Field-by-field tables are in docs/call-event.md.
public enum CTMMapping {
    /// The `source` of every CTM event.
    public static let source = "ctm"

    /// Maps one CTM call record.
    /// - Parameters:
    ///   - payload: One call object, parsed.
    ///   - context: Account id used when the record has no `account_id`; default country (normally US).
    /// - Returns: The normalised content.
    /// - Throws: ``MappingError`` when the payload is not an object, has no `id`, has no account id
    ///   anywhere, carries a malformed `unix_time`, or has no start time at all (neither `unix_time`
    ///   nor `called_at` gives an instant: `unparseable start time`).
    public static func content(from payload: JSONValue, context: MappingContext) throws(MappingError) -> CallContent {
        guard case .object = payload else {
            throw MappingError(reason: "CTM payload is \(payload.kindName), not a call object")
        }
        guard let id = payload.string("id"), id != "0" else {
            throw MappingError(reason: "missing call id (id)")
        }
        guard let account = payload.string("account_id") ?? nonBlank(context.accountID) else {
            throw MappingError(reason: "missing account id (account_id, context.accountID)")
        }
        let direction = direction(payload.string("direction"))
        let status = status(payload.string("status"), dialStatus: payload.string("dial_status"),
                            talkSeconds: payload.nonNegativeInteger("talk_time"))
        var content = CallContent(source: source, sourceAccountID: account, sourceCallID: id,
                                  direction: direction, status: status)

        // A call with no instant cannot be placed in any report, window or partition: reject it
        // (DLQ with the reason) rather than load it with an empty started_at (docs/call-event.md,
        // "Missing and unparseable values").
        guard let startedAt = try epoch(payload, "unix_time") ?? calledAt(payload.string("called_at")) else {
            throw .unparseableStartTime(["unix_time": payload["unix_time"], "called_at": payload["called_at"]])
        }
        content.startedAt = startedAt
        content.durationSeconds = payload.nonNegativeInteger("duration")  // total, ring included
        content.talkSeconds = payload.nonNegativeInteger("talk_time")
        content.ringSeconds = payload.nonNegativeInteger("ring_time")
        if let start = content.startedAt, let seconds = content.durationSeconds {
            content.endedAt = start.mappedAdding(seconds: seconds)
        }

        let country = context.defaultCountry
        // caller_number is always the customer: on outbound calls CTM keeps them in contact_number.
        let customer = direction == .outbound
            ? payload.string("contact_number") ?? payload.string("caller_number")
            : payload.string("caller_number")
        content.callerNumber = PhoneNumber.normalize(customer, defaultCountry: country)
        content.dialedNumber = PhoneNumber.normalize(payload.string("tracking_number"), defaultCountry: country)
        content.destinationNumber = PhoneNumber.normalize(payload.string("business_number"), defaultCountry: country)
        content.callerName = payload.string("name") ?? payload.string("cnam")

        content.agent = agent(payload)
        content.tracking = tracking(payload)
        content.location = CallContent.Location(city: payload.string("city"), region: payload.string("state"),
                                                country: payload.string("country"))
        content.recordingURL = payload.string("audio")
        content.tags = TagList.normalize(payload["tag_list"])
        content.firstCall = payload["is_new_caller"]?.boolean
        content.sourceUpdatedAt = updatedAt(payload)
        return content
    }

    // MARK: - Field rules

    /// `inbound`, `outbound`; anything else (CTM also lists texts, forms and chats as activities) is `unknown`.
    static func direction(_ text: String?) -> CallContent.Direction {
        switch text?.lowercased() {
        case "inbound": .inbound
        case "outbound": .outbound
        case "internal": .internal
        default: .unknown
        }
    }

    /// The outcome from `status`, else `dial_status`. CTM's value set is not documented (`ctm.md`
    /// §6 lists `answered`, `no answer`, `busy`, `missed`, `completed`); `completed` only says the
    /// carrier leg ended, so it counts as answered only when there was talk time.
    static func status(_ status: String?, dialStatus: String?, talkSeconds: Int64?) -> CallContent.Status {
        if let known = classify(status) ?? classify(dialStatus) { return known }
        let completed = [status, dialStatus].contains { $0?.lowercased() == "completed" }
        if completed, let talkSeconds, talkSeconds > 0 { return .answered }
        return .unknown
    }

    private static func classify(_ text: String?) -> CallContent.Status? {
        guard let text else { return nil }
        let words = text.lowercased().replacingOccurrences(of: "-", with: " ").replacingOccurrences(of: "_", with: " ")
        switch words {
        case "answered": return .answered
        case "no answer", "missed", "abandoned", "canceled", "cancelled": return .missed
        case "busy": return .busy
        case "voicemail", "voice mail": return .voicemail
        case "failed", "error": return .failed
        case "in progress", "ringing", "queued", "initiated": return .inProgress
        default: return nil
        }
    }

    /// Epoch seconds of `key`; `nil` when absent or 0.
    /// - Throws: ``MappingError`` when the value is present but not a number of seconds.
    private static func epoch(_ payload: JSONValue, _ key: String) throws(MappingError) -> Timestamp? {
        guard let value = payload[key], !value.isNull else { return nil }
        guard let seconds = value.integer, seconds >= 0, seconds <= Timestamp.latestMappedSecond else {
            throw MappingError(reason: "malformed start time (\(key)): \(JSONValue.shown(value)) is not epoch seconds")
        }
        return seconds == 0 ? nil : Timestamp(secondsSinceEpoch: seconds)
    }

    /// `called_at` as CTM writes it: account-local time with its own offset, minute precision,
    /// `2024-05-14 02:31 PM -04:00` (ctm.md §4); ISO 8601 is also read. `nil` for anything else
    /// (`"Invalid date"`, empty).
    public static func calledAt(_ text: String?) -> Timestamp? {
        guard let text, !text.isEmpty else { return nil }
        let parts = text.split(separator: " ")
        guard parts.count == 4, ["AM", "PM"].contains(parts[2].uppercased()) else {
            return Timestamp.parseISO8601(text)
        }
        let date = parts[0].split(separator: "-").compactMap { Int($0) }
        let time = parts[1].split(separator: ":").compactMap { Int($0) }
        let offset = parts[3]
        guard date.count == 3, time.count == 2, (1...12).contains(time[0]), offset.count == 6,
              let sign = offset.first, sign == "+" || sign == "-",
              let offsetHours = Int(offset.dropFirst().prefix(2)), let offsetMinutes = Int(offset.suffix(2)),
              offset.dropFirst(3).first == ":" else { return nil }
        let hour = time[0] % 12 + (parts[2].uppercased() == "PM" ? 12 : 0)
        let utcOffset = (sign == "-" ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60)
        return Timestamp(year: date[0], month: date[1], day: date[2], hour: hour, minute: time[1], utcOffsetSeconds: utcOffset)
    }

    /// `agent {id, name, email}`; when `agent` is null, the bare `agent_id`.
    private static func agent(_ payload: JSONValue) -> CallContent.Agent {
        let agent = payload["agent"] ?? .null
        return CallContent.Agent(id: agent.string("id") ?? payload.string("agent_id"),
                                 name: agent.string("name"), email: agent.string("email"))
    }

    private static func tracking(_ payload: JSONValue) -> CallContent.Tracking {
        var tracking = CallContent.Tracking()
        tracking.campaignID = payload[path: "paid", "campaign_id"]?.text
        tracking.campaignName = payload[path: "paid", "campaign"]?.text
        tracking.source = payload.string("source")
        tracking.medium = payload.string("medium")
        tracking.campaign = payload.string("campaign")
        tracking.term = payload.string("keyword")
        tracking.referrer = payload.string("referrer")
        tracking.landingPage = payload.string("location")
        tracking.gclid = payload[path: "ga", "gclid"]?.text
        tracking.gaClientID = payload[path: "ga", "cid"]?.text
        return tracking
    }

    /// CTM's call record has no update time today (`ctm.md` §6; `indexed_at` is of unknown meaning
    /// and ignored). Should an `updated_at` appear, as epoch seconds or RFC 3339 with an offset, it is used.
    private static func updatedAt(_ payload: JSONValue) -> Timestamp? {
        guard let value = payload["updated_at"] else { return nil }
        if let seconds = value.integer, seconds > 0 { return Timestamp.mapped(secondsSinceEpoch: seconds) }
        return value.text.flatMap { Timestamp.parseISO8601($0) }
    }

    private static func nonBlank(_ text: String) -> String? {
        let trimmed = text.trimming(.whitespaces)
        return trimmed.isEmpty ? nil : trimmed
    }
}
