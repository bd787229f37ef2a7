import CallFeedCore

/// CleverTap profiles (../shared/vendors/clevertap.md §6) as entity data: CleverTap holds app/web
/// user profiles, not calls, so a profile is an entity record (`clevertap_profiles`) that joins a
/// caller to a profile by phone.
///
/// | Entity field | From |
/// |---|---|
/// | id | `objectId` (CleverTap's own id, the primary key); missing or empty → ``MappingError`` |
/// | data | the profile as sent, plus `phone_e164`: `phone` normalised by ``PhoneNumber`` (null when absent or not a number) |
/// | source updated at | the latest `events[*].last_seen` (epoch seconds), nil when no event has one |
public enum CleverTapMapping {
    /// A profile's key, normalised data and last activity.
    public struct Profile: Sendable, Equatable {
        public var id: String
        public var data: JSONValue
        public var lastSeen: Timestamp?
    }

    /// Maps one profile of step 2's `records`.
    /// - Parameters:
    ///   - record: The profile as CleverTap sent it.
    ///   - defaultCountry: ISO country for phone numbers written without a country code.
    /// - Throws: ``MappingError`` when the record is not an object or has no `objectId`.
    public static func profile(from record: JSONValue, defaultCountry: String) throws(MappingError) -> Profile {
        guard case .object(var members) = record else { throw MappingError(reason: "CleverTap profile is not an object") }
        guard let id = members["objectId"]?.text else { throw MappingError(reason: "profile has no id (objectId)") }
        members["phone_e164"] = e164(members["phone"]?.text, defaultCountry: defaultCountry).map { .string($0) } ?? .null
        return Profile(id: id, data: .object(members), lastSeen: lastSeen(record["events"]))
    }

    /// The phone in E.164, or nil when there is none or it is not a number (``PhoneNumber/normalize(_:defaultCountry:)``
    /// hands back unplaceable text as it came; that is no E.164).
    static func e164(_ phone: String?, defaultCountry: String) -> String? {
        guard let normalized = PhoneNumber.normalize(phone, defaultCountry: defaultCountry), normalized.hasPrefix("+"),
              normalized.count > 1, normalized.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return normalized
    }

    /// The latest `last_seen` over the profile's events; values that are not epoch seconds are
    /// ignored, and so are those past year 9999 (``Timestamp/mapped(secondsSinceEpoch:)``: a huge
    /// number overflowed the milliseconds, a trap found by the fuzzer).
    static func lastSeen(_ events: JSONValue?) -> Timestamp? {
        guard let events = events?.objectValue else { return nil }
        let seconds = events.values.compactMap { $0["last_seen"]?.integer }.filter { $0 > 0 }
        return seconds.compactMap { Timestamp.mapped(secondsSinceEpoch: $0) }.max()
    }
}
