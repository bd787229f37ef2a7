import CallFeedCore
import Foundation

/// Maps CallKeeper / CallKeeper Calltracking (ckct.ru) payloads to ``CallFeedCore/CallContent``.
///
/// Accepts, recognised by their keys:
/// - the v3 API call record (`universalId`, `serviceType`, `callTime`, …), polled or relayed;
/// - the "Webhookcall" JSON body of the callback product (`id`, `hook_event`, `phone1`, `phone2`, …);
/// - an API error envelope (`inbound.error`) and the ckct calltracking webhook (flavour 2), which
///   are rejected with a ``MappingError`` saying why.
///
/// The same call gets the same `source_call_id` by either route: the Webhookcall `id` is the API
/// record's `cbCallId`. Zone-less times are read in ``MappingContext/timeZone`` (UTC by default:
/// CallKeeper documents the webhook `date` as UTC, and `callTime` is believed to be UTC too).
/// Field-by-field tables are in docs/call-event.md.
public enum CallKeeperMapping {
    /// The `source` of every CallKeeper event.
    public static let source = "callkeeper"

    /// Maps one CallKeeper payload.
    /// - Parameters:
    ///   - payload: One API call record or one Webhookcall body, parsed.
    ///   - context: The tenant's account id, time zone of `callTime`, and default country (normally RU).
    /// - Returns: The normalised content: times in UTC, numbers in E.164 where possible, blanks and
    ///   CallKeeper's `0` placeholders as `nil`, tags sorted and de-duplicated.
    /// - Throws: ``MappingError`` when the payload is not an object, is an error envelope, has no call
    ///   id, or carries an unparseable date-time or unknown time zone.
    public static func content(from payload: JSONValue, context: MappingContext) throws(MappingError) -> CallContent {
        guard case .object = payload else {
            throw MappingError(reason: "CallKeeper payload is \(payload.kindName), not a call object")
        }
        switch PayloadShape(of: payload) {
        case .callRecord:
            return try callRecordContent(payload, context: context)
        case .webhookCall:
            return try webhookCallContent(payload, context: context)
        case .calltrackingWebhook:
            throw MappingError(reason: "missing call id: the ckct calltracking webhook (client_number, "
                + "calltracking_number, time_start) carries no call id to match the API record by; "
                + "take these calls from the API poll")
        case .errorEnvelope(let message):
            throw MappingError(reason: "CallKeeper error response, not a call (inbound.error): \(message)")
        case .unrecognized:
            throw MappingError(reason: "missing call id (neither universalId/cbCallId/ctCallId of an API "
                + "call record nor id of a Webhookcall body)")
        }
    }

    /// Which of CallKeeper's payload kinds a body is, from its keys.
    enum PayloadShape: Equatable {
        case callRecord, webhookCall, calltrackingWebhook, errorEnvelope(String), unrecognized

        init(of payload: JSONValue) {
            func has(_ keys: String...) -> Bool { keys.contains { payload[$0] != nil } }
            if let message = payload[path: "inbound", "error"]?.text {
                self = .errorEnvelope(message)
            } else if has("universalId", "serviceType", "cbCallId", "ctCallId") {
                self = .callRecord
            } else if has("hook_event", "phone1", "phone2", "status2_code", "date_timestamp") {
                self = .webhookCall
            } else if has("client_number", "calltracking_number", "time_start", "call_status") {
                self = .calltrackingWebhook
            } else if has("id") {
                self = .webhookCall
            } else {
                self = .unrecognized
            }
        }
    }

    // MARK: - Shared rules

    /// CallKeeper payloads never name the account, so it is always the context's.
    static func accountID(_ context: MappingContext) throws(MappingError) -> String {
        let id = context.accountID.trimming(.whitespaces)
        guard !id.isEmpty else { throw MappingError(reason: "missing account id (context.accountID)") }
        return id
    }

    /// Callback calls are placed by CallKeeper (it rings the manager, then dials the client), so
    /// they are `outbound`; calltracking calls are the client dialling a substitute number:
    /// `inbound`; `import` (uploaded records) and anything else: `unknown`.
    static func direction(serviceType: String?) -> CallContent.Direction {
        switch serviceType?.lowercased() {
        case "callback": .outbound
        case "calltracking": .inbound
        default: .unknown
        }
    }

    /// Talk time in seconds. CallKeeper writes `0` for "none", so `0` is kept only when the call
    /// never connected (then it is a true zero) and is `nil` otherwise.
    static func talkSeconds(_ value: JSONValue?, status: CallContent.Status) -> Int64? {
        guard let seconds = value?.integer, seconds >= 0 else { return nil }
        if seconds > 0 { return seconds }
        switch status {
        case .missed, .busy, .failed: return 0
        case .answered, .voicemail, .inProgress, .unknown: return nil
        }
    }

    /// `ended_at` from the start and the length, when both are known.
    static func end(start: Timestamp?, seconds: Int64?) -> Timestamp? {
        guard let start, let seconds else { return nil }
        return start.mappedAdding(seconds: seconds)
    }
}
