/// What a mapper needs to know about the tenant beyond the payload itself.
///
/// One context per configured source: the account the credentials belong to, the time zone of the
/// vendor's zone-less date-times, and the country assumed for numbers written without a country code.
public struct MappingContext: Sendable {
    /// Our id of the vendor account. Used as `source_account_id` when the payload names no account
    /// (CallKeeper never does; CTM usually does).
    public var accountID: String
    /// IANA time zone id (`"UTC"`, `"Europe/Moscow"`) in which zone-less vendor times are read.
    public var timeZone: String
    /// ISO 3166-1 alpha-2 code (`"RU"`, `"US"`) used to complete national phone numbers.
    public var defaultCountry: String

    /// Makes a context.
    /// - Parameters:
    ///   - accountID: Our id of the vendor account; must not be empty.
    ///   - timeZone: IANA time zone id of the vendor's zone-less date-times.
    ///   - defaultCountry: ISO alpha-2 country for numbers without a country code.
    public init(accountID: String, timeZone: String, defaultCountry: String) {
        self.accountID = accountID
        self.timeZone = timeZone
        self.defaultCountry = defaultCountry
    }
}
