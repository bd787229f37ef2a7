import CallFeedCore
import Foundation

/// Normalises vendor phone numbers to E.164 (`+79991234567`).
///
/// Handles what our vendors send: E.164 with any punctuation (`+1 (555) 555-0123`), the `00`
/// international prefix, digits with country code but no `+` (CallKeeper's `79990000123`), and the
/// national forms of the default country (`8 (999) 123-45-67`, `9991234567`, `(555) 555-0123`,
/// `020 7946 0018`).
///
/// Limitations, by design: only the countries in the internal dialing-plan table (RU, KZ, US, CA, GB,
/// DE, UA, BY) are checked for length or completed from national form; numbers with any other
/// country code are accepted after `+`/`00` when they have 8–15 digits, unchecked. There is no
/// per-area validation (a well-formed but unassigned number passes), and extensions, letters or
/// other text make a number unnormalisable. Anything that cannot be normalised is returned as
/// sent (trimmed), so no data is lost.
public enum PhoneNumber {
    /// Characters people put between digits.
    /// Each is one scalar that no grapheme cluster joins to a neighbour, so reading scalars accepts
    /// exactly the texts reading Characters would, without the cost of grapheme breaking.
    private static let separators: Set<Unicode.Scalar> = [" ", "\t", "\u{00A0}", "-", "(", ")", "."]

    /// The number in E.164, or the trimmed input when it cannot be normalised.
    /// - Parameters:
    ///   - raw: The number as the vendor sent it.
    ///   - defaultCountry: ISO alpha-2 country (case-insensitive) for numbers without a country code.
    /// - Returns: `+<digits>`; the trimmed `raw` when it is not a recognisable number;
    ///   `nil` for `nil`, blank and `"0"` (vendors' "no number").
    public static func normalize(_ raw: String?, defaultCountry: String) -> String? {
        guard let raw else { return nil }
        let trimmed = raw.trimming(.whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed != "0" else { return nil }
        return e164(trimmed, defaultCountry: defaultCountry) ?? trimmed
    }

    /// E.164 form of `text`, or `nil` when it is not a number we can place.
    static func e164(_ text: String, defaultCountry: String) -> String? {
        var digitBytes: [UInt8] = []
        var hasPlus = false
        var first = true
        for scalar in text.unicodeScalars {
            defer { first = false }
            if scalar == "+", first {
                hasPlus = true
            } else if (0x30...0x39).contains(scalar.value) {
                digitBytes.append(UInt8(scalar.value))
            } else if !separators.contains(scalar) {
                return nil
            }
        }
        let digits = String(decoding: digitBytes, as: UTF8.self)
        if hasPlus { return international(digits) }
        if digits.hasPrefix("00") { return international(String(digits.dropFirst(2))) }

        let home = DialingPlan.forCountry(defaultCountry)
        if let home, let national = home.nationalNumber(digits) {
            return "+" + home.callingCode + national
        }
        // Digits with a country code but no "+" (CallKeeper): the home country first, then any
        // known plan, the latter only for lengths no national number has.
        if let home, home.isInternational(digits) { return "+" + digits }
        if digits.count >= 11, let plan = DialingPlan.forInternational(digits), plan.isInternational(digits) {
            return "+" + digits
        }
        return nil
    }

    /// `+digits` when `digits` (after `+` or `00`) is a plausible international number.
    private static func international(_ digits: String) -> String? {
        guard let first = digits.first, first != "0" else { return nil }
        if let plan = DialingPlan.forInternational(digits) {
            return plan.isInternational(digits) ? "+" + digits : nil
        }
        return (8...15).contains(digits.count) ? "+" + digits : nil
    }
}
