import CallFeedCore

/// A HubSpot CRM object type the sandbox serves: the four standard ones and three custom objects.
struct HubSpotObjectType: Hashable, Sendable {
    /// `calls`, `contacts`, … or the custom object's name (`genius_users`).
    let name: String
    /// `0-48`, `0-1`, … or `2-1000001`.
    let objectTypeID: String
    let isCustom: Bool

    static let calls = HubSpotObjectType(name: "calls", objectTypeID: "0-48", isCustom: false)
    static let contacts = HubSpotObjectType(name: "contacts", objectTypeID: "0-1", isCustom: false)
    static let companies = HubSpotObjectType(name: "companies", objectTypeID: "0-2", isCustom: false)
    static let deals = HubSpotObjectType(name: "deals", objectTypeID: "0-3", isCustom: false)
    /// Custom objects the seed's sync engines name: users of the Genius app, divisions, zip codes.
    static let geniusUsers = HubSpotObjectType(name: "genius_users", objectTypeID: "2-1000001", isCustom: true)
    static let divisions = HubSpotObjectType(name: "divisions", objectTypeID: "2-1000002", isCustom: true)
    static let zipcodes = HubSpotObjectType(name: "zipcodes", objectTypeID: "2-1000003", isCustom: true)

    static let standard: [HubSpotObjectType] = [.calls, .contacts, .companies, .deals]
    static let customs: [HubSpotObjectType] = [.geniusUsers, .divisions, .zipcodes]

    /// The type a path segment names: a standard name or id, or a custom object's fully qualified
    /// name (`p<portal>_<name>`, also `p_<name>`) or id. A custom object's bare name is not a path
    /// HubSpot accepts.
    init?(_ segment: String, portal: String) {
        let lower = segment.lowercased()
        if let known = (Self.standard + Self.customs).first(where: { (!$0.isCustom && $0.name == lower) || $0.objectTypeID == lower }) {
            self = known
            return
        }
        for custom in Self.customs where lower == "p\(portal)_\(custom.name)" || lower == "p_\(custom.name)" {
            self = custom
            return
        }
        return nil
    }

    private init(name: String, objectTypeID: String, isCustom: Bool) {
        self.name = name; self.objectTypeID = objectTypeID; self.isCustom = isCustom
    }

    /// `p<portal>_genius_users`.
    func fullyQualifiedName(portal: String) -> String { isCustom ? "p\(portal)_\(name)" : name }

    /// Contacts name their dates `createdate`/`lastmodifieddate`, every other object
    /// `hs_createdate`/`hs_lastmodifieddate` (§7).
    var createdProperty: String { self == .contacts ? "createdate" : "hs_createdate" }
    var modifiedProperty: String { self == .contacts ? "lastmodifieddate" : "hs_lastmodifieddate" }

    /// Returned whatever `properties` asks for.
    var alwaysProperties: Set<String> { ["hs_object_id", createdProperty, modifiedProperty] }

    /// Returned when `properties` is not sent.
    var defaultProperties: Set<String> {
        switch self {
        case .contacts: alwaysProperties.union(["firstname", "lastname", "email"])
        case .companies: alwaysProperties.union(["name", "domain"])
        case .deals: alwaysProperties.union(["dealname", "amount", "dealstage", "pipeline", "closedate"])
        default: alwaysProperties
        }
    }

    /// Properties whose values are date-times (filters compare them as instants).
    static let dateProperties: Set<String> = [
        "hs_timestamp", "hs_createdate", "hs_lastmodifieddate", "createdate", "lastmodifieddate", "closedate",
    ]
}
