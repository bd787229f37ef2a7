import CallFeedCore

extension CallKeeperMapping {
    /// Maps a "Webhookcall" JSON body (`callkeeper.md` §7, flavour 1): the callback product's
    /// POST at call start (`hook_event: "Call is processing"`) or end (`"Call is over"`).
    static func webhookCallContent(_ body: JSONValue, context: MappingContext) throws(MappingError) -> CallContent {
        guard let id = body.string("id"), id != "0" else {
            throw MappingError(reason: "missing call id (id)")
        }
        let isStarting = body.string("hook_event")?.lowercased() == "call is processing"
        let legs = CallKeeperStatus(first: body["status_code"]?.integer, second: body["status2_code"]?.integer)
        let status: CallContent.Status = isStarting ? .inProgress : legs.status
        // Webhookcall belongs to the callback product: CallKeeper dials out to both parties.
        var content = CallContent(source: source, sourceAccountID: try accountID(context), sourceCallID: id,
                                  direction: .outbound, status: status)

        // `date_timestamp` is epoch seconds and needs no zone; `date` is the same instant as text.
        if let epoch = body.positiveInteger("date_timestamp") {
            guard let start = Timestamp.mapped(secondsSinceEpoch: epoch) else {
                throw MappingError(reason: "malformed start time (date_timestamp): \(epoch) is not epoch seconds")
            }
            content.startedAt = start
        } else {
            content.startedAt = try WallClock.timestamp(body.string("date"), timeZone: context.timeZone, field: "date")
        }
        guard content.startedAt != nil else {
            throw .unparseableStartTime(["date_timestamp": body["date_timestamp"], "date": body["date"]])
        }
        content.talkSeconds = talkSeconds(body["duration_sec"], status: status)
        content.durationSeconds = content.talkSeconds
        content.endedAt = end(start: content.startedAt, seconds: content.durationSeconds)

        let country = context.defaultCountry
        content.callerNumber = PhoneNumber.normalize(body.string("phone2"), defaultCountry: country)
        content.destinationNumber = PhoneNumber.normalize(body.string("phone1"), defaultCountry: country)

        content.tracking = tracking(body)
        content.location = CallContent.Location(city: body.string("city"), region: body.string("region"),
                                                country: body.string("country"))
        content.recordingURL = body.string("record_url")
        content.tags = TagList.normalize(body["tags"])
        return content
    }

    /// UTM tags of the visit that led to the call (`visit_info.current`, falling back to top-level
    /// `utm_*`); `visit_info.first` (first-touch) has no place in CallEvent v1.
    private static func tracking(_ body: JSONValue) -> CallContent.Tracking {
        let visit = body[path: "visit_info", "current"] ?? .null
        func utm(_ key: String) -> String? { visit.string(key) ?? body.string(key) }
        var tracking = CallContent.Tracking()
        tracking.source = utm("utm_source")
        tracking.medium = utm("utm_medium")
        tracking.campaign = utm("utm_campaign")
        tracking.content = utm("utm_content")
        tracking.term = utm("utm_term")
        tracking.gaClientID = body.string("ga_clientid") ?? body.string("ga_clid")
        return tracking
    }
}
