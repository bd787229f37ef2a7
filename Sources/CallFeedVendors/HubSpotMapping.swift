import CallFeedCore
import Foundation

/// Maps HubSpot CRM v3 call records (the Calls engagement object, `hubspot.md` §6) to
/// ``CallFeedCore/CallContent``.
///
/// Accepts one call record as the list, read and search endpoints return it: `{id, properties,
/// createdAt, updatedAt, archived}`, every property a string or `null`. The webhook body (a JSON
/// array of `object.propertyChange` events) does **not** carry the call (§8) and is rejected: fetch
/// the record and map that.
///
/// - Account: HubSpot records name no portal, so `source_account_id` is the context's account
///   (the portal id).
/// - Times: `hs_timestamp` (when the call happened, required by HubSpot) is ISO 8601 UTC with
///   milliseconds; a 12–13 digit epoch-milliseconds string (how webhooks and the legacy engagements
///   API write dates) is read too. A missing or malformed `hs_timestamp` is a ``MappingError``.
/// - Duration: `hs_call_duration` is **milliseconds**: `duration_seconds` is rounded to the nearest
///   second (half up: 125,500 ms → 126 s) and `ended_at` is `hs_timestamp` plus the exact milliseconds.
/// - Numbers: `hs_call_from_number`/`hs_call_to_number` are free text as the dialer wrote them
///   (`(555) 555-0123`, `+1 555-555-0199`); both are normalised with ``PhoneNumber`` and the
///   context's default country. The customer is `from` on INBOUND and `to` on OUTBOUND calls: it
///   becomes `caller_number`; the other side (the HubSpot user's line) becomes
///   `destination_number`. HubSpot has no tracking numbers, so `dialed_number` stays empty.
/// - Outcome: ``status(callStatus:dispositionLabel:hasVoicemail:)``; the disposition GUID is turned
///   into its label through the dictionary passed in (the six defaults are built in, custom ones
///   come from `GET /calling/v1/dispositions`).
/// - Tags: the disposition's label and `hs_activity_type` (the user-defined call type), when set.
///   An unknown disposition GUID gives no tag.
///
/// Field-by-field: the HubSpot table in docs/call-event.md.
public enum HubSpotMapping {
    /// The `source` of every HubSpot event.
    public static let source = "hubspot"

    /// HubSpot's default call dispositions, GUID → label (`hubspot.md` §6). A portal's custom
    /// outcomes come on top from `GET /calling/v1/dispositions`.
    public static let defaultDispositions: [String: String] = [
        "9d9162e7-6cf3-4944-bf63-4dff82258764": "Busy",
        "f240bbac-87c9-4f6e-bf70-924b57d47db7": "Connected",
        "a4c4c377-d246-4b32-a13b-75a56a4cd0ff": "Left live message",
        "b2cf5968-551e-4856-9783-52b3da59a7d0": "Left voicemail",
        "73a0d17f-1163-4015-bdd5-ec830791da20": "No answer",
        "17b47fee-58de-441e-a44c-c6300d46f273": "Wrong number",
    ]

    /// The call properties the mapping reads: what a search or list request should ask for
    /// (HubSpot returns only the properties requested).
    public static let properties = [
        "hs_timestamp", "hs_createdate", "hs_lastmodifieddate", "hs_call_direction", "hs_call_status",
        "hs_call_disposition", "hs_call_duration", "hs_call_from_number", "hs_call_to_number",
        "hs_call_recording_url", "hs_call_has_voicemail", "hubspot_owner_id", "hs_activity_type",
        "hs_call_title", "hs_call_external_id", "hs_call_source", "hs_call_callee_object_id",
        "hs_call_callee_object_type",
    ]

    /// Maps one HubSpot call record.
    /// - Parameters:
    ///   - payload: One call record (`{id, properties, …}`), parsed.
    ///   - context: The portal id (always used as the account) and the default country for
    ///     national-format numbers. The time zone is not used: HubSpot's times carry `Z`.
    ///   - dispositions: Disposition GUID → label; defaults to ``defaultDispositions``.
    /// - Returns: The normalised content.
    /// - Throws: ``MappingError`` when the payload is not a call record (an array, a webhook batch,
    ///   a list page), has no id, the context has no account, `hs_timestamp` is missing or not a
    ///   date-time, or `hs_lastmodifieddate` is present but not a date-time.
    public static func content(from payload: JSONValue, context: MappingContext,
                               dispositions: [String: String] = defaultDispositions) throws(MappingError) -> CallContent {
        guard case .object = payload else {
            if case .array = payload {
                throw MappingError(reason: "HubSpot payload is an array (a webhook batch?), not a call record: webhooks carry no call, fetch it by objectId")
            }
            throw MappingError(reason: "HubSpot payload is \(payload.kindName), not a call record")
        }
        if payload["results"]?.arrayValue != nil {
            throw MappingError(reason: "HubSpot list page (results), not a call record: map each element of results")
        }
        guard let properties = payload["properties"], properties.objectValue != nil else {
            throw MappingError(reason: "HubSpot call record has no properties object (properties)")
        }
        guard let id = payload.string("id") ?? properties.string("hs_object_id") else {
            throw MappingError(reason: "missing call id (id)")
        }
        let account = context.accountID.trimming(.whitespaces)
        guard !account.isEmpty else { throw MappingError(reason: "missing account id (context.accountID, the portal id)") }

        let direction = direction(properties.string("hs_call_direction"))
        let label = properties.string("hs_call_disposition").flatMap { dispositionLabel($0, dispositions) }
        var content = CallContent(source: source, sourceAccountID: account, sourceCallID: id, direction: direction,
                                  status: status(callStatus: properties.string("hs_call_status"), dispositionLabel: label,
                                                 hasVoicemail: properties["hs_call_has_voicemail"]?.boolean))

        guard let timestampText = properties.string("hs_timestamp") else {
            throw MappingError(reason: "missing call time (properties.hs_timestamp); was it requested with properties=?")
        }
        guard let startedAt = instant(timestampText) else {
            throw MappingError(reason: "malformed date-time (properties.hs_timestamp): \"\(timestampText)\" is not ISO 8601 UTC")
        }
        content.startedAt = startedAt
        if let milliseconds = properties["hs_call_duration"]?.integer, milliseconds >= 0 {
            let (rounded, overflow) = milliseconds.addingReportingOverflow(500)
            if !overflow {
                content.durationSeconds = rounded / 1000
                let (end, endOverflow) = startedAt.millisecondsSinceEpoch.addingReportingOverflow(milliseconds)
                if !endOverflow, end <= Timestamp.latestMappedSecond * 1000 { content.endedAt = Timestamp(millisecondsSinceEpoch: end) }
            }
        }

        let country = context.defaultCountry
        let from = PhoneNumber.normalize(properties.string("hs_call_from_number"), defaultCountry: country)
        let to = PhoneNumber.normalize(properties.string("hs_call_to_number"), defaultCountry: country)
        switch direction {
        case .outbound:
            content.callerNumber = to
            content.destinationNumber = from
        default:
            content.callerNumber = from
            content.destinationNumber = to
        }

        content.agent = CallContent.Agent(id: properties.string("hubspot_owner_id"))
        content.recordingURL = properties.string("hs_call_recording_url")
        content.tags = TagList.normalize(.array([label, properties.string("hs_activity_type")].compactMap { text in text.map { JSONValue.string($0) } }))

        if let modified = properties.string("hs_lastmodifieddate") ?? payload.string("updatedAt") {
            guard let instant = instant(modified) else {
                throw MappingError(reason: "malformed date-time (properties.hs_lastmodifieddate): \"\(modified)\" is not ISO 8601 UTC")
            }
            content.sourceUpdatedAt = instant
        }
        return content
    }

    // MARK: - Field rules

    /// `hs_call_direction`: `INBOUND` / `OUTBOUND` (from the HubSpot user's view).
    static func direction(_ text: String?) -> CallContent.Direction {
        switch text?.uppercased() {
        case "INBOUND": .inbound
        case "OUTBOUND": .outbound
        default: .unknown
        }
    }

    /// The label of a disposition GUID (case-insensitive), or nil when the dictionary lacks it.
    static func dispositionLabel(_ guid: String, _ dispositions: [String: String]) -> String? {
        if let label = dispositions[guid] { return label }
        let lower = guid.lowercased()
        return dispositions.first { $0.key.lowercased() == lower }?.value
    }

    /// The outcome, in this order:
    /// 1. `hs_call_status` of a call not over (`CALLING_CRM_USER`, `CONNECTING`, `IN_PROGRESS`,
    ///    `QUEUED`, `RINGING`) → in progress; `FAILED` → failed.
    /// 2. The disposition's label, when it is one of the default outcomes: `Busy` → busy,
    ///    `Connected` / `Left live message` / `Wrong number` → answered (someone picked up),
    ///    `Left voicemail` → voicemail, `No answer` → missed. Custom labels decide nothing.
    /// 3. `hs_call_has_voicemail` = true → voicemail.
    /// 4. `hs_call_status`: `COMPLETED` → answered, `BUSY` → busy, `NO_ANSWER` / `CANCELED` /
    ///    `MISSED` → missed; anything else unknown.
    public static func status(callStatus: String?, dispositionLabel: String?, hasVoicemail: Bool?) -> CallContent.Status {
        let callStatus = callStatus?.uppercased()
        switch callStatus {
        case "CALLING_CRM_USER", "CONNECTING", "IN_PROGRESS", "QUEUED", "RINGING": return .inProgress
        case "FAILED": return .failed
        default: break
        }
        switch dispositionLabel?.lowercased() {
        case "busy": return .busy
        case "connected", "left live message", "wrong number": return .answered
        case "left voicemail": return .voicemail
        case "no answer": return .missed
        default: break
        }
        if hasVoicemail == true { return .voicemail }
        switch callStatus {
        case "COMPLETED": return .answered
        case "BUSY": return .busy
        case "NO_ANSWER", "CANCELED", "CANCELLED", "MISSED": return .missed
        default: return .unknown
        }
    }

    /// An ISO 8601 date-time with a zone (HubSpot writes `Z`), or epoch milliseconds (12–13 digits).
    static func instant(_ text: String) -> Timestamp? {
        if (12...13).contains(text.count), text.allSatisfy({ $0.isASCII && $0.isNumber }), let ms = Int64(text) {
            return Timestamp(millisecondsSinceEpoch: ms)
        }
        guard text.count >= 20, let parsed = Timestamp.parseISO8601(text) else { return nil }
        return parsed
    }
}
