/// An instant in UTC with millisecond precision, written as RFC 3339 (`2020-04-05T10:23:32Z`).
///
/// Pure integer arithmetic (no `DateFormatter`): formatting and parsing are on the hot path of
/// every event and must give byte-identical output on every machine, because the text takes part
/// in the event's revision hash.
public struct Timestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) { self.millisecondsSinceEpoch = millisecondsSinceEpoch }
    public init(secondsSinceEpoch: Int64) { self.millisecondsSinceEpoch = secondsSinceEpoch * 1000 }

    /// The current time from the system's real-time clock.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(millisecondsSinceEpoch: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }

    public var secondsSinceEpoch: Int64 { millisecondsSinceEpoch.floorDivided(by: 1000) }

    public func adding(seconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch + seconds * 1000)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    // MARK: - Civil time

    /// Builds an instant from a wall-clock time and the UTC offset that applies to it.
    /// Returns `nil` for an impossible date or time (month 13, 25:00, February 30).
    public init?(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0,
                 millisecond: Int = 0, utcOffsetSeconds: Int = 0) {
        guard (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day),
              (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second),
              (0...999).contains(millisecond), abs(utcOffsetSeconds) < 86_400 else { return nil }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(utcOffsetSeconds)
        self.millisecondsSinceEpoch = seconds * 1000 + Int64(millisecond)
    }

    /// The UTC calendar fields of this instant.
    public var utcComponents: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int) {
        let ms = millisecondsSinceEpoch
        let totalSeconds = ms.floorDivided(by: 1000)
        let millisecond = Int(ms - totalSeconds * 1000)
        let days = totalSeconds.floorDivided(by: 86_400)
        let secondOfDay = Int(totalSeconds - days * 86_400)
        let (y, m, d) = Self.civilFromDays(days)
        return (y, m, d, secondOfDay / 3600, secondOfDay % 3600 / 60, secondOfDay % 60, millisecond)
    }

    static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int64) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (Int(y), Int(m), Int(d))
    }

    // MARK: - RFC 3339

    /// `2020-04-05T10:23:32Z`, or `2020-04-05T10:23:32.250Z` when there are milliseconds.
    public var rfc3339: String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        appendRFC3339(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// ``rfc3339`` for years outside 0–9999 (padded to at least four digits, as it always was).
    private var paddedRFC3339: String {
        let c = utcComponents
        var s = "\(Self.pad(c.year, 4))-\(Self.pad(c.month, 2))-\(Self.pad(c.day, 2))T"
        s += "\(Self.pad(c.hour, 2)):\(Self.pad(c.minute, 2)):\(Self.pad(c.second, 2))"
        if c.millisecond != 0 { s += ".\(Self.pad(c.millisecond, 3))" }
        return s + "Z"
    }

    /// The UTF-8 bytes of ``rfc3339``, appended to `out` without making a String (the event
    /// writer's form).
    public func appendRFC3339(to out: inout [UInt8]) {
        let c = utcComponents
        guard (0...9999).contains(c.year) else {
            out += paddedRFC3339.utf8
            return
        }
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var v = value
            while divisor > 0 {
                out.append(UInt8(48 + v / divisor))
                v %= divisor
                divisor /= 10
            }
        }
        digits(c.year, 4)
        out.append(UInt8(ascii: "-"))
        digits(c.month, 2)
        out.append(UInt8(ascii: "-"))
        digits(c.day, 2)
        out.append(UInt8(ascii: "T"))
        digits(c.hour, 2)
        out.append(UInt8(ascii: ":"))
        digits(c.minute, 2)
        out.append(UInt8(ascii: ":"))
        digits(c.second, 2)
        if c.millisecond != 0 {
            out.append(UInt8(ascii: "."))
            digits(c.millisecond, 3)
        }
        out.append(UInt8(ascii: "Z"))
    }

    public var description: String { rfc3339 }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// Parses RFC 3339 / ISO 8601 date-times: `T` or space separator, optional fraction (kept to
    /// milliseconds), and `Z` or a `±hh:mm` / `±hhmm` offset. Without an offset the text is taken
    /// to be in `defaultUTCOffsetSeconds`.
    public static func parseISO8601(_ text: String, defaultUTCOffsetSeconds: Int? = nil) -> Timestamp? {
        let b = Array(text.utf8)
        var i = 0
        func number(_ width: Int) -> Int? {
            guard i + width <= b.count else { return nil }
            var v = 0
            for k in i..<(i + width) {
                guard b[k] >= 48, b[k] <= 57 else { return nil }
                v = v * 10 + Int(b[k] - 48)
            }
            i += width
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect(45), let month = number(2), expect(45), let day = number(2) else { return nil }
        var hour = 0, minute = 0, second = 0, millisecond = 0
        if i < b.count, b[i] == 84 || b[i] == 116 || b[i] == 32 {  // T, t, space
            i += 1
            guard let h = number(2), expect(58), let m = number(2) else { return nil }
            hour = h; minute = m
            if expect(58) {
                guard let s = number(2) else { return nil }
                second = s
                if expect(46) {  // fraction: keep three digits, skip the rest
                    var digits = 0, value = 0
                    while i < b.count, b[i] >= 48, b[i] <= 57 {
                        if digits < 3 { value = value * 10 + Int(b[i] - 48) }
                        digits += 1; i += 1
                    }
                    guard digits > 0 else { return nil }
                    millisecond = digits == 1 ? value * 100 : (digits == 2 ? value * 10 : value)
                }
            }
        } else if i != b.count {
            return nil
        }
        while i < b.count, b[i] == 32 { i += 1 }
        var offset: Int
        if i == b.count {
            guard let d = defaultUTCOffsetSeconds else {
                // A date-only or zone-less text with no default zone is ambiguous.
                return nil
            }
            offset = d
        } else if b[i] == 90 || b[i] == 122 {  // Z, z
            i += 1
            offset = 0
        } else if b[i] == 43 || b[i] == 45 {  // +, -
            let sign = b[i] == 45 ? -1 : 1
            i += 1
            guard let oh = number(2) else { return nil }
            _ = expect(58)
            guard let om = number(2), oh <= 23, om <= 59 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        return Timestamp(year: year, month: month, day: day, hour: hour, minute: minute, second: second,
                         millisecond: millisecond, utcOffsetSeconds: offset)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rfc3339)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let parsed = Timestamp.parseISO8601(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 date-time: \(text)")
        }
        self = parsed
    }
}

extension Int64 {
    /// Division rounding toward negative infinity (instants before 1970 stay correct).
    func floorDivided(by divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Duration {
    /// The duration in seconds, for `Thread.sleep(forTimeInterval:)` and Foundation timing APIs.
    public var timeInterval: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
