/// The display forms vendors add next to a number. Input is E.164 (`+15555550123`); anything else
/// (an odd record's garbage) is returned unchanged.
enum PhoneFormat {
    /// Digits with the country code, no `+` (CallKeeper, JustCall): `15555550123`.
    static func digits(_ e164: String) -> String {
        e164.hasPrefix("+") ? String(e164.dropFirst()) : e164
    }

    /// The national number without the country code: `5555550123`.
    static func national(_ e164: String) -> String {
        let d = digits(e164)
        guard e164.hasPrefix("+"), d.count == 11 else { return e164 }
        return String(d.dropFirst())
    }

    /// `(555) 555-0123` (CTM `_format`).
    static func parenthesized(_ e164: String) -> String {
        let n = Array(national(e164))
        guard n.count == 10 else { return e164 }
        return "(\(String(n[0..<3]))) \(String(n[3..<6]))-\(String(n[6..<10]))"
    }

    /// `555-555-0123` (CallRail `formatted_*`).
    static func dashed(_ e164: String) -> String {
        let n = Array(national(e164))
        guard n.count == 10 else { return e164 }
        return "\(String(n[0..<3]))-\(String(n[3..<6]))-\(String(n[6..<10]))"
    }

    /// `["1", "555", "555", "0123"]` (CTM `caller_number_split`).
    static func split(_ e164: String) -> [String] {
        let d = Array(digits(e164))
        guard e164.hasPrefix("+"), d.count == 11 else { return [e164] }
        return [String(d[0]), String(d[1..<4]), String(d[4..<7]), String(d[7..<11])]
    }
}
