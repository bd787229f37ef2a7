import CallFeedCore

/// One CRM object as HubSpot serves it.
struct HubSpotObject: Sendable {
    var id: String
    /// Every property, strings or null.
    var properties: [String: JSONValue]
    var createdAt: String
    var updatedAt: String
    /// Date properties whose search value is not the record's text (the real start of a call
    /// whose `hs_timestamp` was made odd).
    var instants: [String: Timestamp] = [:]

    var numericID: Int64 { Int64(id) ?? 0 }

    /// The envelope (§6) with only `properties` kept (those the object has; the rest are left out).
    func json(properties wanted: Set<String>) -> JSONValue {
        var kept: [String: JSONValue] = [:]
        for key in wanted { if let value = properties[key] { kept[key] = value } }
        return .object(["id": .string(id), "properties": .object(kept), "createdAt": .string(createdAt),
                        "updatedAt": .string(updatedAt), "archived": .bool(false)])
    }

    /// A date property as an instant (epoch ms or ISO text).
    func instant(_ property: String) -> Timestamp? {
        if let fixed = instants[property] { return fixed }
        return properties[property]?.text.flatMap(HubSpotStore.instant)
    }
}
