import CallFeedCore
import Foundation

/// Maps CallRail payloads to ``CallFeedCore/CallContent``.
///
/// Accepts both shapes of one call (`callrail.md` §6–7):
/// - the API v3 call record (`GET /v3/a/{account}/calls.json` element, or one call), whose `id` is
///   the masked `CAL…` string;
/// - the webhook body (Post-Call, Call Modified, …): the same object plus legacy fields, with a
///   **numeric** legacy `id` and the API's `CAL…` id in `resource_id`.
///
/// The same call therefore gets the same `source_call_id` — and one `event_id` — by webhook and by
/// poll: `resource_id` when present, else `id` when it is a masked string. A webhook body that
/// carries only the legacy numeric `id` is rejected rather than keyed a second way (the API poll
/// brings that call). Neither shape names the CallRail account (`company_id` is a company inside it
/// and differs in form between the two shapes), so `source_account_id` is always the context's.
/// `start_time` carries its UTC offset; ``MappingContext/timeZone`` is only used for a zone-less text.
/// Field-by-field tables are in docs/call-event.md.
public enum CallRailMapping {
    /// The `source` of every CallRail event.
    public static let source = "callrail"

    /// Maps one CallRail call record or webhook body.
    /// - Parameters:
    ///   - payload: One call object (API record or webhook body), parsed.
    ///   - context: The configured account id (always used: CallRail payloads name none), the zone for
    ///     a zone-less `start_time`, and the default country (normally US; CallRail sends E.164 anyway).
    /// - Returns: The normalised content: times in UTC, numbers in E.164 where possible, blanks as
    ///   `nil`, tags sorted and de-duplicated.
    /// - Throws: ``MappingError`` when the payload is not a call object (a list page, an array), has no
    ///   usable call id (none, or only the legacy numeric webhook `id`), the context has no account id,
    ///   or `start_time` is not a date-time.
    public static func content(from payload: JSONValue, context: MappingContext) throws(MappingError) -> CallContent {
        guard case .object = payload else {
            throw MappingError(reason: "CallRail payload is \(payload.kindName), not a call object")
        }
        if payload["calls"]?.arrayValue != nil, payload["id"] == nil {
            throw MappingError(reason: "CallRail list page (calls), not a call object: map each element of calls")
        }
        let id = try callID(payload)
        let account = try accountID(context)
        let direction = direction(payload)
        var content = CallContent(source: source, sourceAccountID: account, sourceCallID: id,
                                  direction: direction, status: status(payload))

        guard let startedAt = try time(payload.string("start_time"), field: "start_time", context: context) else {
            throw .unparseableStartTime(["start_time": payload["start_time"]])
        }
        content.startedAt = startedAt
        // One length only: the whole call (CallRail has no talk/ring split; `recording_duration` is
        // the recording's length).
        content.durationSeconds = payload.nonNegativeInteger("duration")
        if let start = content.startedAt, let seconds = content.durationSeconds {
            content.endedAt = start.mappedAdding(seconds: seconds)
        }

        let country = context.defaultCountry
        // `customer_phone_number` is the customer on inbound and outbound calls alike; the legacy
        // webhook keys are fallbacks only.
        content.callerNumber = PhoneNumber.normalize(payload.string("customer_phone_number") ?? payload.string("callernum"),
                                                     defaultCountry: country)
        content.dialedNumber = PhoneNumber.normalize(payload.string("tracking_phone_number") ?? payload.string("trackingnum"),
                                                     defaultCountry: country)
        content.destinationNumber = PhoneNumber.normalize(
            payload.string("business_phone_number") ?? payload.string("destinationnum"), defaultCountry: country)
        content.callerName = payload.string("customer_name") ?? payload.string("callername")

        content.agent = CallContent.Agent(email: payload.string("agent_email"))
        content.tracking = tracking(payload)
        content.location = CallContent.Location(
            city: payload.string("customer_city") ?? payload.string("callercity"),
            region: payload.string("customer_state") ?? payload.string("callerstate"),
            country: payload.string("customer_country") ?? payload.string("callercountry"))
        content.recordingURL = payload.string("recording")
        content.tags = tags(payload["tags"])
        content.firstCall = payload["first_call"]?.boolean
        content.sourceUpdatedAt = updatedAt(payload)
        return content
    }

    // MARK: - Identity

    /// `resource_id` (the webhook's copy of the API id), else `id` when it is the masked `CAL…`
    /// string of the API record.
    /// - Throws: ``MappingError`` when there is no id, or only a legacy numeric webhook `id`.
    static func callID(_ payload: JSONValue) throws(MappingError) -> String {
        if let resourceID = payload.string("resource_id") { return resourceID }
        guard let id = payload.string("id"), id != "0" else {
            throw MappingError(reason: "missing call id (resource_id, id)")
        }
        if id.allSatisfy({ $0.isASCII && $0.isNumber }) {
            throw MappingError(reason: "missing call id (resource_id): the webhook carries only the legacy numeric id "
                + "\(id), which the API does not use, so it cannot be matched to the API record (CAL…); "
                + "take this call from the API poll")
        }
        return id
    }

    /// CallRail payloads never name the account, so it is always the context's.
    static func accountID(_ context: MappingContext) throws(MappingError) -> String {
        let id = context.accountID.trimming(.whitespaces)
        guard !id.isEmpty else { throw MappingError(reason: "missing account id (context.accountID)") }
        return id
    }

    // MARK: - Field rules

    /// `direction` (`inbound`/`outbound`); `call_type: outbound` when `direction` is missing.
    static func direction(_ payload: JSONValue) -> CallContent.Direction {
        switch payload.string("direction")?.lowercased() {
        case "inbound": return .inbound
        case "outbound": return .outbound
        case "internal": return .internal
        default: return payload.string("call_type")?.lowercased() == "outbound" ? .outbound : .unknown
        }
    }

    /// The outcome: `call_type` when it names one, else the `voicemail` and `answered` flags; a call
    /// neither answered nor in voicemail is `missed`, unless it has no `duration` yet (CallRail leaves
    /// it null while the call is in progress).
    static func status(_ payload: JSONValue) -> CallContent.Status {
        switch payload.string("call_type")?.lowercased() {
        case "answered": return .answered
        case "missed", "abandoned", "abandonded": return .missed  // "abandonded" is the docs' spelling
        case "voicemail", "voicemail_transcription": return .voicemail
        case "in_progress": return .inProgress
        default: break  // "outbound" and unknown words say nothing about the outcome
        }
        let answered = payload["answered"]?.boolean
        if payload["voicemail"]?.boolean == true { return .voicemail }
        if answered == true { return .answered }
        guard answered == false else { return .unknown }
        return payload.nonNegativeInteger("duration") == nil ? .inProgress : .missed
    }

    /// An ISO 8601 date-time with its offset, in UTC; a zone-less text is read in the context's zone.
    /// - Throws: ``MappingError`` naming `field` when the text is not a date-time.
    private static func time(_ text: String?, field: String, context: MappingContext) throws(MappingError) -> Timestamp? {
        guard let text else { return nil }
        if let instant = Timestamp.parseISO8601(text) { return instant }
        guard Timestamp.parseISO8601(text, defaultUTCOffsetSeconds: 0) != nil else {
            throw MappingError(reason: "malformed date-time (\(field)): \"\(text)\" is not ISO 8601 "
                + "(YYYY-MM-DDTHH:MM:SS.sss±hh:mm)")
        }
        return try WallClock.timestamp(text, timeZone: context.timeZone, field: field)
    }

    /// Attribution: CallRail's own `source`, `medium`, `campaign`, `keywords` (first touch), each
    /// falling back to its `utm_*` twin; `utm_content` has no native twin. The tracker's
    /// `source_name` is the tracking campaign's name.
    private static func tracking(_ payload: JSONValue) -> CallContent.Tracking {
        var tracking = CallContent.Tracking()
        tracking.campaignName = payload.string("source_name")
        tracking.source = payload.string("source") ?? payload.string("utm_source")
        tracking.medium = payload.string("medium") ?? payload.string("utm_medium")
        tracking.campaign = payload.string("campaign") ?? payload.string("utm_campaign")
        tracking.content = payload.string("utm_content")
        tracking.term = payload.string("keywords") ?? payload.string("utm_term")
        tracking.referrer = payload.string("referring_url") ?? payload.string("referrer")
        tracking.landingPage = payload.string("landing_page_url") ?? payload.string("landingpage")
        tracking.gclid = payload.string("gclid")
        return tracking
    }

    /// Tag names: `tags` holds strings, or objects with a `name` (the tags resource's shape).
    static func tags(_ value: JSONValue?) -> [String] {
        guard case .array(let items)? = value else { return TagList.normalize(value) }
        return TagList.normalize(.array(items.map { $0["name"] ?? $0 }))
    }

    /// CallRail's call has no update time (`callrail.md` §6); an `updated_at` with an offset, should
    /// one appear, is used (anything else is ignored: it is not worth refusing the call over).
    private static func updatedAt(_ payload: JSONValue) -> Timestamp? {
        payload.string("updated_at").flatMap { Timestamp.parseISO8601($0) }
    }
}
