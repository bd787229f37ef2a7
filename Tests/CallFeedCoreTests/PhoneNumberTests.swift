import CallFeedVendors
import Testing

@Suite("Phone number normalisation")
struct PhoneNumberTests {
    @Test("National, international and CallKeeper forms become E.164", arguments: [
        // Russia: trunk 8, bare 10 digits, digits with country code but no "+" (CallKeeper).
        ("8 (999) 123-45-67", "RU", "+79991234567"),
        ("8-800-555-35-35", "RU", "+78005553535"),
        ("9991234567", "RU", "+79991234567"),
        ("(495) 000-01-99", "RU", "+74950000199"),
        ("79999999999", "RU", "+79999999999"),
        ("+7 999 123 45 67", "RU", "+79991234567"),
        ("  +7 (999) 123.45.67 ", "ru", "+79991234567"),
        ("0079991234567", "RU", "+79991234567"),
        ("00 7 999 123 45 67", "US", "+79991234567"),
        // Kazakhstan shares +7.
        ("8 701 234 56 78", "KZ", "+77012345678"),
        ("7012345678", "KZ", "+77012345678"),
        // US / Canada.
        ("+1 (555) 555-0123", "US", "+15555550123"),
        ("(555) 555-0123", "US", "+15555550123"),
        ("555.555.0123", "US", "+15555550123"),
        ("1-555-555-0123", "US", "+15555550123"),
        ("15555550123", "CA", "+15555550123"),
        ("011 44 20 7946 0018", "US", "011 44 20 7946 0018"),  // the US exit code 011 is not handled: kept
        // Europe.
        ("020 7946 0018", "GB", "+442079460018"),
        ("+44 (0)20 7946 0018", "GB", "+44 (0)20 7946 0018"),  // "(0)" makes 13 digits: kept as sent
        ("030 1234567", "DE", "+49301234567"),
        ("+49 30 1234567", "US", "+49301234567"),
        ("050 123 4567", "UA", "+380501234567"),
        ("8 029 123-45-67", "BY", "+375291234567"),
        ("375291234567", "RU", "+375291234567"),  // another known country, digits without "+"
        ("380501234567", "RU", "+380501234567"),
        // Unknown country codes after "+"/"00" are accepted unchecked at 8-15 digits.
        ("+33 1 23 45 67 89", "FR", "+33123456789"),
        ("0033123456789", "RU", "+33123456789"),
    ])
    func normalises(raw: String, country: String, expected: String) {
        #expect(PhoneNumber.normalize(raw, defaultCountry: country) == expected)
    }

    @Test("Unrecognisable input is returned trimmed, unchanged", arguments: [
        ("call me maybe", "RU", "call me maybe"),
        ("+7 999 CALL-NOW", "RU", "+7 999 CALL-NOW"),
        ("+7 999 123-45-67 доб. 12", "RU", "+7 999 123-45-67 доб. 12"),
        ("  12345  ", "RU", "12345"),                   // too short
        ("+7 999 12", "RU", "+7 999 12"),               // too short for +7
        ("+7 999 123 45 678", "RU", "+7 999 123 45 678"),  // too long for +7
        ("+", "RU", "+"),
        ("00", "RU", "00"),
        ("+0 123 456 789", "RU", "+0 123 456 789"),     // no country code starts with 0
        ("9991234567", "FR", "9991234567"),             // unsupported default country
        ("2079460018", "GB", "2079460018"),             // GB national form needs its 0
        ("7 999 123-45-67 x", "RU", "7 999 123-45-67 x"),
        ("79991234567+", "RU", "79991234567+"),         // "+" only counts in front
        ("+1234567890123456", "RU", "+1234567890123456"),  // over 15 digits
    ])
    func keepsUnrecognised(raw: String, country: String, expected: String) {
        #expect(PhoneNumber.normalize(raw, defaultCountry: country) == expected)
    }

    @Test("No number at all is nil", arguments: [nil, "", "   ", "\n", "0", " 0 "] as [String?])
    func nothingIsNil(raw: String?) {
        #expect(PhoneNumber.normalize(raw, defaultCountry: "RU") == nil)
    }

    @Test("The default country decides national forms only")
    func defaultCountryOnlyAffectsNationalForms() {
        #expect(PhoneNumber.normalize("8 999 123 45 67", defaultCountry: "RU") == "+79991234567")
        #expect(PhoneNumber.normalize("8 999 123 45 67", defaultCountry: "US") == "8 999 123 45 67")
        #expect(PhoneNumber.normalize("+15555550123", defaultCountry: "RU") == "+15555550123")
        #expect(PhoneNumber.normalize("+15555550123", defaultCountry: "US") == "+15555550123")
    }
}
