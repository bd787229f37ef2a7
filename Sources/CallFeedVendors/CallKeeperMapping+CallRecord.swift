import CallFeedCore

extension CallKeeperMapping {
    /// Maps a v3 API call record (`callkeeper.md` §6).
    static func callRecordContent(_ record: JSONValue, context: MappingContext) throws(MappingError) -> CallContent {
        let legs = CallKeeperStatus(first: record["statusFirst"]?.integer, second: record["statusSecond"]?.integer)
        var status = legs.status
        if legs.isEmpty, record.string("status")?.lowercased() == "success" {
            status = .answered
        }
        var content = CallContent(source: source, sourceAccountID: try accountID(context),
                                  sourceCallID: try callRecordID(record),
                                  direction: direction(serviceType: record.string("serviceType")), status: status)

        // Blank and `0000-00-00 00:00:00` are CallKeeper's "no value": such a call is rejected, not
        // loaded without a start (MappingError.unparseableStartTime).
        guard let startedAt = try WallClock.timestamp(record.string("callTime"), timeZone: context.timeZone,
                                                      field: "callTime") else {
            throw .unparseableStartTime(["callTime": record["callTime"]])
        }
        content.startedAt = startedAt
        // `duration` is talk time ("время разговора"); CallKeeper has no total length.
        content.talkSeconds = talkSeconds(record["duration"], status: status)
        content.durationSeconds = content.talkSeconds
        content.endedAt = end(start: content.startedAt, seconds: content.durationSeconds)

        let country = context.defaultCountry
        content.callerNumber = PhoneNumber.normalize(record.string("clientNumber"), defaultCountry: country)
        // The number shown to the client: the substitute number the client dialled (calltracking)
        // or the caller id CallKeeper presented when dialling the client (callback).
        content.dialedNumber = PhoneNumber.normalize(record.string("callerIdToClient"), defaultCountry: country)
        content.destinationNumber = PhoneNumber.normalize(record.string("managerNumber"), defaultCountry: country)

        content.tracking = tracking(record)
        content.location = CallContent.Location(city: record.string("city"), region: record.string("region"),
                                                country: record.string("country"))
        content.recordingURL = record.string("recordUrl")
        content.tags = TagList.normalize(record["tags"])
        content.firstCall = record["unique"]?.boolean
        return content
    }

    /// `cbCallId` when set (it is what the Webhookcall sends as `id`), else `ct:<ctCallId>`, else
    /// `u:<universalId>`; the prefixes keep the three id spaces apart.
    static func callRecordID(_ record: JSONValue) throws(MappingError) -> String {
        if let callbackID = record.positiveInteger("cbCallId") { return String(callbackID) }
        if let calltrackingID = record.positiveInteger("ctCallId") { return "ct:\(calltrackingID)" }
        if let universalID = record.string("universalId"), universalID != "0" { return "u:\(universalID)" }
        throw MappingError(reason: "missing call id (cbCallId, ctCallId and universalId are all empty)")
    }

    private static func tracking(_ record: JSONValue) -> CallContent.Tracking {
        var tracking = CallContent.Tracking()
        tracking.campaignID = record.positiveInteger("ctCampaignId").map { String($0) }
        tracking.campaignName = record.string("ctCampaignName")
        tracking.source = record.string("utm_source")
        tracking.medium = record.string("utm_medium")
        tracking.campaign = record.string("utm_campaign")
        tracking.content = record.string("utm_content")
        tracking.term = record.string("utm_term")
        tracking.referrer = record.string("referrer")
        tracking.landingPage = record.string("entryPoint") ?? record.string("entryPointQuery")
        tracking.gaClientID = record.string("gaClid")
        return tracking
    }
}
