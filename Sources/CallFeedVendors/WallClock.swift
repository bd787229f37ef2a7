import CallFeedCore
import Foundation

/// Reads zone-less vendor date-times (`2024-05-14 11:30:00`) as wall-clock time in an IANA zone.
enum WallClock {
    /// The instant a zone-less date-time denotes in `timeZone`.
    ///
    /// Offsets come from the system tz database, so DST is applied for the date in question. A wall
    /// time inside a DST gap or fold (an hour a year, where the text is ambiguous anyway) resolves
    /// to one of the two offsets around the transition.
    /// - Parameters:
    ///   - text: `YYYY-MM-DD HH:MM:SS` (a `T` separator and fractions are accepted; an explicit
    ///     offset in the text wins over `timeZone`). Blank and all-zero dates are "no value".
    ///   - timeZone: IANA zone id.
    ///   - field: Vendor field name, for the error.
    /// - Returns: The instant, or `nil` when `text` is absent or the all-zero "no value".
    /// - Throws: ``MappingError`` when the zone is unknown or the text is not a date-time.
    static func timestamp(_ text: String?, timeZone: String, field: String) throws(MappingError) -> Timestamp? {
        guard let text, !text.isEmpty, !text.hasPrefix("0000-00-00") else { return nil }
        let zone = try resolve(timeZone)
        guard let asUTC = Timestamp.parseISO8601(text, defaultUTCOffsetSeconds: 0) else {
            throw MappingError(reason: "malformed date-time (\(field)): \"\(text)\" is not YYYY-MM-DD HH:MM:SS")
        }
        if Timestamp.parseISO8601(text) != nil {
            return asUTC  // the text carries its own offset
        }
        // Offset at the instant the wall time would be in UTC, then corrected once: exact except in
        // the hour around a transition.
        let wall = asUTC.secondsSinceEpoch
        let firstGuess = wall - Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(wall))))
        let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(firstGuess)))
        return Timestamp(millisecondsSinceEpoch: asUTC.millisecondsSinceEpoch - Int64(offset) * 1000)
    }

    /// The Foundation zone of an IANA id.
    /// - Throws: ``MappingError`` naming the id when the tz database does not know it.
    static func resolve(_ identifier: String) throws(MappingError) -> TimeZone {
        guard let zone = TimeZone(identifier: identifier) else {
            throw MappingError(reason: "unknown time zone \"\(identifier)\" (context.timeZone; expected an IANA id such as \"UTC\" or \"Europe/Moscow\")")
        }
        return zone
    }
}
