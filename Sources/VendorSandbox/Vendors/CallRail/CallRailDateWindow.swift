import CallFeedCore

/// The time window a CallRail list request asks for (`callrail.md` §2): `start_date`/`end_date`
/// (inclusive; a date, or a date-time to the minute or second, optionally with an offset) read in
/// `time_zone` or the user's zone, or a `date_range` name, or by default `recent`.
struct CallRailDateWindow: Sendable {
    struct Problem: Error, Sendable { var text: String }

    /// Inclusive lower bound.
    var from: Timestamp
    /// Exclusive upper bound.
    var to: Timestamp
    /// The zone dates were read in and times are written in.
    var zone: String

    func contains(_ instant: Timestamp) -> Bool { instant >= from && instant < to }

    static func parse(_ request: APIRequest, context: VendorContext) -> Result<CallRailDateWindow, Problem> {
        let configuration = context.configuration
        let zone = request.query["time_zone"] ?? configuration.callRailUserTimeZone
        guard let nowOffset = CivilTime.offsetSeconds(zone: zone, at: context.now) else {
            return .failure(Problem(text: "Invalid time_zone"))
        }
        let start = request.query["start_date"]
        let end = request.query["end_date"]
        var window: CallRailDateWindow
        if start != nil || end != nil {
            window = CallRailDateWindow(from: Timestamp(millisecondsSinceEpoch: 0), to: context.now.addingMilliseconds(1), zone: zone)
            if let start {
                guard let bound = bound(start, zone: zone, isEnd: false) else { return .failure(Problem(text: "Invalid start_date")) }
                window.from = bound
            }
            if let end {
                guard let bound = bound(end, zone: zone, isEnd: true) else { return .failure(Problem(text: "Invalid end_date")) }
                window.to = bound
            }
            if let days = configuration.callRailRetentionDays, start != nil,
               window.from < context.now.adding(seconds: -Int64(days) * 86_400) {
                return .failure(Problem(text: "start_date is outside the 25-month data retention window"))
            }
        } else {
            guard let named = named(request.query["date_range"] ?? "recent", now: context.now, offset: nowOffset) else {
                return .failure(Problem(text: "Invalid date_range"))
            }
            window = CallRailDateWindow(from: named.from, to: named.to, zone: zone)
        }
        return .success(window)
    }

    /// One bound: a date means its whole day (from its start, or through its end); a date-time
    /// is inclusive to its own precision.
    private static func bound(_ text: String, zone: String, isEnd: Bool) -> Timestamp? {
        // The zone's offset near the date (good enough at day precision; DST edges are off by an hour).
        guard let rough = Timestamp.parseISO8601(text, defaultUTCOffsetSeconds: 0),
              let offset = CivilTime.offsetSeconds(zone: zone, at: rough),
              let instant = Timestamp.parseISO8601(text, defaultUTCOffsetSeconds: offset) else { return nil }
        guard isEnd else { return instant }
        let bytes = Array(text.utf8)
        if bytes.count == 10 { return instant.adding(seconds: 86_400) }
        // `T10:00` covers the minute; `T10:00:00` the second.
        let hasSeconds = bytes.count >= 19 && bytes[16] == UInt8(ascii: ":")
        return instant.adding(seconds: hasSeconds ? 1 : 60)
    }

    /// `date_range` names, relative to now in the zone.
    private static func named(_ name: String, now: Timestamp, offset: Int) -> (from: Timestamp, to: Timestamp)? {
        let local = CivilTime.fields(now, offsetSeconds: offset)
        func day(_ y: Int, _ m: Int, _ d: Int) -> Timestamp {
            Timestamp(year: y, month: m, day: d, utcOffsetSeconds: offset) ?? now
        }
        let today = day(local.year, local.month, local.day)
        let end = now.addingMilliseconds(1)
        let monthStart = day(local.year, local.month, 1)
        switch name {
        case "recent": return (today.adding(seconds: -6 * 86_400), end)
        case "today": return (today, end)
        case "yesterday": return (today.adding(seconds: -86_400), today)
        // [I] the named "last N days" ranges end before today; `recent` is the one that includes it.
        case "last_7_days": return (today.adding(seconds: -7 * 86_400), today)
        case "last_30_days": return (today.adding(seconds: -30 * 86_400), today)
        case "this_month": return (monthStart, end)
        case "last_month":
            let (y, m) = local.month == 1 ? (local.year - 1, 12) : (local.year, local.month - 1)
            return (day(y, m, 1), monthStart)
        case "this_year": return (day(local.year, 1, 1), end)
        case "last_year": return (day(local.year - 1, 1, 1), day(local.year, 1, 1))
        case "all_time": return (Timestamp(millisecondsSinceEpoch: 0), end)
        default: return nil
        }
    }
}
