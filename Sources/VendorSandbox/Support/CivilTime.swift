import CallFeedCore
import Foundation

/// Formatting and parsing of the wall-clock texts vendors use, in a given UTC offset.
enum CivilTime {
    /// Zero-padded decimal.
    static func pad(_ value: Int, _ width: Int = 2) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// Calendar fields of `instant` on a clock `offsetSeconds` from UTC.
    static func fields(_ instant: Timestamp, offsetSeconds: Int)
        -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int) {
        Timestamp(millisecondsSinceEpoch: instant.millisecondsSinceEpoch + Int64(offsetSeconds) * 1000).utcComponents
    }

    /// `2024-05-14`.
    static func date(_ instant: Timestamp, offsetSeconds: Int = 0) -> String {
        let f = fields(instant, offsetSeconds: offsetSeconds)
        return "\(pad(f.year, 4))-\(pad(f.month))-\(pad(f.day))"
    }

    /// `18:30:00`, or `8:25:43` when `padHour` is false.
    static func time(_ instant: Timestamp, offsetSeconds: Int = 0, padHour: Bool = true) -> String {
        let f = fields(instant, offsetSeconds: offsetSeconds)
        return "\(padHour ? pad(f.hour) : String(f.hour)):\(pad(f.minute)):\(pad(f.second))"
    }

    /// `2024-05-14 18:30:00`.
    static func dateTime(_ instant: Timestamp, offsetSeconds: Int = 0) -> String {
        "\(date(instant, offsetSeconds: offsetSeconds)) \(time(instant, offsetSeconds: offsetSeconds))"
    }

    /// `-04:00` (`colon`) or `+0300`.
    static func offset(_ seconds: Int, colon: Bool = true) -> String {
        let sign = seconds < 0 ? "-" : "+"
        let minutes = abs(seconds) / 60
        return "\(sign)\(pad(minutes / 60))\(colon ? ":" : "")\(pad(minutes % 60))"
    }

    /// ISO 8601 with milliseconds and offset: `2024-05-14T14:30:00.482-04:00` (CallRail).
    static func iso8601Milliseconds(_ instant: Timestamp, offsetSeconds: Int) -> String {
        let f = fields(instant, offsetSeconds: offsetSeconds)
        return "\(date(instant, offsetSeconds: offsetSeconds))T\(time(instant, offsetSeconds: offsetSeconds)).\(pad(f.millisecond, 3))"
            + offset(offsetSeconds)
    }

    /// CTM's `called_at`: local time to the minute with a 12-hour clock, `2024-05-14 02:30 PM -04:00`.
    static func ctmCalledAt(_ instant: Timestamp, offsetSeconds: Int) -> String {
        let f = fields(instant, offsetSeconds: offsetSeconds)
        let hour12 = f.hour % 12 == 0 ? 12 : f.hour % 12
        return "\(date(instant, offsetSeconds: offsetSeconds)) \(pad(hour12)):\(pad(f.minute)) \(f.hour < 12 ? "AM" : "PM") \(offset(offsetSeconds))"
    }

    /// The UTC offset of an IANA zone at `instant`, or nil for an unknown zone.
    static func offsetSeconds(zone identifier: String, at instant: Timestamp) -> Int? {
        guard let zone = TimeZone(identifier: identifier) else { return nil }
        return zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant.secondsSinceEpoch)))
    }

    /// Parses a strict `YYYY-MM-DD` into the instant its day starts at on a clock `offsetSeconds`
    /// from UTC; nil for any other text.
    static func dayStart(_ text: String, offsetSeconds: Int = 0) -> Timestamp? {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == 45, bytes[7] == 45 else { return nil }
        return Timestamp.parseISO8601(text, defaultUTCOffsetSeconds: offsetSeconds)
    }

    /// The start of the UTC day holding `instant`.
    static func utcDayStart(_ instant: Timestamp) -> Timestamp {
        Timestamp(secondsSinceEpoch: instant.secondsSinceEpoch - ((instant.secondsSinceEpoch % 86_400) + 86_400) % 86_400)
    }
}
