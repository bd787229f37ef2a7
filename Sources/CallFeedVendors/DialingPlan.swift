/// The little we know about one country's numbering: enough to turn national and
/// "digits with country code" forms into E.164.
///
/// Deliberately small: only the countries our vendors' customers call from. Lengths are those of
/// the national significant number (the digits after the country code).
struct DialingPlan: Sendable {
    /// ISO 3166-1 alpha-2 codes sharing this plan (`["US", "CA"]`).
    var countries: [String]
    /// Country calling code without `+` (`"7"`, `"380"`).
    var callingCode: String
    /// Allowed lengths of the national significant number.
    var nationalLengths: ClosedRange<Int>
    /// What people dial before the national number inside the country (`"8"`, `"0"`, `"80"`).
    var trunkPrefix: String
    /// First digits with which a bare national number (no trunk prefix) is unambiguous;
    /// empty when people always write the trunk prefix.
    var bareNationalFirstDigits: Set<Character>

    /// The countries ``PhoneNumber`` supports. Shared calling codes (RU/KZ on 7, US/CA on 1) give
    /// the same result whichever is chosen.
    static let all: [DialingPlan] = [
        DialingPlan(countries: ["RU"], callingCode: "7", nationalLengths: 10...10, trunkPrefix: "8",
                    bareNationalFirstDigits: ["3", "4", "8", "9"]),
        DialingPlan(countries: ["KZ"], callingCode: "7", nationalLengths: 10...10, trunkPrefix: "8",
                    bareNationalFirstDigits: ["6", "7"]),
        DialingPlan(countries: ["US", "CA"], callingCode: "1", nationalLengths: 10...10, trunkPrefix: "1",
                    bareNationalFirstDigits: ["2", "3", "4", "5", "6", "7", "8", "9"]),
        DialingPlan(countries: ["GB"], callingCode: "44", nationalLengths: 9...10, trunkPrefix: "0",
                    bareNationalFirstDigits: []),
        DialingPlan(countries: ["DE"], callingCode: "49", nationalLengths: 6...13, trunkPrefix: "0",
                    bareNationalFirstDigits: []),
        DialingPlan(countries: ["UA"], callingCode: "380", nationalLengths: 9...9, trunkPrefix: "0",
                    bareNationalFirstDigits: []),
        DialingPlan(countries: ["BY"], callingCode: "375", nationalLengths: 9...9, trunkPrefix: "80",
                    bareNationalFirstDigits: []),
    ]

    /// The plan of an ISO alpha-2 country (case-insensitive), or `nil` when unsupported.
    static func forCountry(_ isoCode: String) -> DialingPlan? {
        let code = isoCode.uppercased()
        return all.first { $0.countries.contains(code) }
    }

    /// The plan whose calling code starts `digits` (longest code first), or `nil`.
    static func forInternational(_ digits: String) -> DialingPlan? {
        all.filter { digits.hasPrefix($0.callingCode) }.max { $0.callingCode.count < $1.callingCode.count }
    }

    /// Whether `digits` (without `+`) is this plan's calling code followed by a valid national number.
    func isInternational(_ digits: String) -> Bool {
        digits.hasPrefix(callingCode) && nationalLengths.contains(digits.count - callingCode.count)
    }

    /// The national significant number of a number written in national form (with the trunk
    /// prefix, or bare where that is unambiguous), or `nil` when `digits` is not one.
    func nationalNumber(_ digits: String) -> String? {
        if digits.hasPrefix(trunkPrefix), nationalLengths.contains(digits.count - trunkPrefix.count) {
            return String(digits.dropFirst(trunkPrefix.count))
        }
        if let first = digits.first, bareNationalFirstDigits.contains(first), nationalLengths.contains(digits.count) {
            return digits
        }
        return nil
    }
}
