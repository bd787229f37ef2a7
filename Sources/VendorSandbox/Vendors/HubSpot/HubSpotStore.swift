import CallFeedCore

/// One portal's CRM, built from the sandbox's calls for one request: the calls themselves, a
/// contact per customer number, a company per portal, a deal per fourth answered call, and the
/// custom objects.
struct HubSpotStore {
    let account: SandboxAccount
    let calls: [SandboxCall]
    let seed: UInt64
    /// Most results one search pages through (``SandboxConfiguration/hubSpotSearchCap``).
    let searchCap: Int

    init(account: SandboxAccount, context: VendorContext) {
        self.account = account
        self.calls = context.dataset.calls[account.id] ?? []
        self.seed = context.configuration.seed
        self.searchCap = max(1, context.configuration.hubSpotSearchCap)
    }

    /// A filter or property value as an instant: epoch milliseconds or ISO 8601 with a zone.
    static func instant(_ text: String) -> Timestamp? {
        if !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }), let ms = Int64(text) { return Timestamp(millisecondsSinceEpoch: ms) }
        return Timestamp.parseISO8601(text)
    }

    func objects(_ type: HubSpotObjectType) -> [HubSpotObject] {
        switch type {
        case .calls: callObjects()
        case .contacts: contacts()
        case .companies: [company()]
        case .deals: deals()
        case .geniusUsers: geniusUsers()
        case .divisions: divisions()
        case .zipcodes: zipcodes()
        default: []
        }
    }

    // MARK: - Calls

    func callObjects() -> [HubSpotObject] {
        calls.map { call in
            HubSpotObject(id: call.id, properties: call.record["properties"]?.objectValue ?? [:],
                          createdAt: call.record["createdAt"]?.text ?? "", updatedAt: call.record["updatedAt"]?.text ?? "",
                          instants: ["hs_timestamp": call.startedAt])
        }
    }

    // MARK: - Contacts, company, deals

    var companyID: String { String(30_000_001 + account.index) }

    /// One contact per distinct callee contact of the calls, in first-call order: names from the
    /// seed, `phone` in national form, `mobilephone` international on every other contact,
    /// `hs_calculated_phone_number` E.164 (§7). Dates: its first call's creation, its latest
    /// call's modification.
    func contacts() -> [HubSpotObject] {
        var order: [String] = []
        var first: [String: SandboxCall] = [:]
        var latest: [String: String] = [:]
        for call in calls {
            guard let id = call.record[path: "properties", "hs_call_callee_object_id"]?.text,
                  call.record[path: "properties", "hs_call_callee_object_type"]?.text == "CONTACT" else { continue }
            if first[id] == nil { first[id] = call; order.append(id) }
            let modified = call.record[path: "properties", "hs_lastmodifieddate"]?.text ?? ""
            if modified > latest[id, default: ""] { latest[id] = modified }
        }
        return order.compactMap { id -> HubSpotObject? in
            guard let call = first[id] else { return nil }
            let e164 = "+" + id.dropFirst()
            var random = SeededRandom(seed, stableHash("hubspot-contact"), stableHash(id))
            let firstName = random.pick(DataGenerator.firstNames)
            let lastName = random.pick(DataGenerator.lastNames)
            let created = call.record[path: "properties", "hs_createdate"]?.text ?? ""
            let modified = latest[id] ?? created
            let sources = ["PAID_SEARCH", "ORGANIC_SEARCH", "DIRECT_TRAFFIC", "SOCIAL_MEDIA", "REFERRALS", "OFFLINE"]
            let n = Int(id.suffix(2)) ?? 0
            return HubSpotObject(id: id, properties: [
                "hs_object_id": .string(id), "createdate": .string(created), "lastmodifieddate": .string(modified),
                "firstname": .string(firstName), "lastname": .string(lastName),
                "email": .string("\(firstName.lowercased()).\(lastName.lowercased())\(n)@example.com"),
                "phone": .string(PhoneFormat.parenthesized(e164)),
                "mobilephone": n % 2 == 0 ? .string("+1 " + PhoneFormat.dashed(e164)) : .null,
                "hs_calculated_phone_number": .string(e164),
                "hs_analytics_source": .string(random.pick(sources)),
                "associatedcompanyid": .string(companyID),
                "lifecyclestage": .string(n % 3 == 0 ? "customer" : "lead"),
            ], createdAt: created, updatedAt: modified)
        }
    }

    func company() -> HubSpotObject {
        let created = "2021-03-01T10:00:00.000Z", modified = "2024-01-15T09:00:00.000Z"
        return HubSpotObject(id: companyID, properties: [
            "hs_object_id": .string(companyID), "hs_createdate": .string(created), "hs_lastmodifieddate": .string(modified),
            "name": .string(account.name), "domain": .string("acct\(account.index + 1).example.com"),
            "phone": .string(PhoneFormat.parenthesized(account.businessNumber)),
            "city": .string("Baltimore"), "state": .string("MD"), "industry": .string("CONSTRUCTION"),
        ], createdAt: created, updatedAt: modified)
    }

    /// A deal for every fourth answered call with a contact.
    func dealCalls() -> [(deal: String, call: SandboxCall, contact: String)] {
        calls.compactMap { call in
            let p = call.record["properties"] ?? .null
            guard call.serial % 4 == 0, p["hs_call_status"]?.text == "COMPLETED",
                  let contact = p["hs_call_callee_object_id"]?.text else { return nil }
            return (String(6_000_000_000 + call.serial), call, contact)
        }
    }

    func deals() -> [HubSpotObject] {
        let stages = ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "closedwon", "closedlost"]
        return dealCalls().map { deal, call, _ in
            let p = call.record["properties"] ?? .null
            let modified = p["hs_lastmodifieddate"]?.text ?? ""
            let close = call.startedAt.adding(seconds: 14 * 86_400)
            return HubSpotObject(id: deal, properties: [
                "hs_object_id": .string(deal), "hs_createdate": .string(modified), "hs_lastmodifieddate": .string(modified),
                "dealname": .string("\(account.name) job #\(call.serial)"), "amount": .string(String(250 + call.serial * 37 % 5000)),
                "dealstage": .string(stages[call.serial % stages.count]), "pipeline": .string("default"),
                "closedate": .string(HubSpotAPI.iso(close)), "hubspot_owner_id": p["hubspot_owner_id"] ?? .null,
            ], createdAt: modified, updatedAt: modified)
        }
    }

    // MARK: - Custom objects

    private func custom(_ id: String, _ properties: [String: JSONValue]) -> HubSpotObject {
        let created = "2023-06-01T12:00:00.000Z", modified = "2024-02-01T12:00:00.000Z"
        var all = properties
        all["hs_object_id"] = .string(id); all["hs_createdate"] = .string(created); all["hs_lastmodifieddate"] = .string(modified)
        return HubSpotObject(id: id, properties: all, createdAt: created, updatedAt: modified)
    }

    func geniusUsers() -> [HubSpotObject] {
        account.agents.map { agent in
            custom(String(5_000_000 + agent.id), ["name": .string(agent.name), "email": .string(agent.email),
                                                  "genius_user_id": .string(String(agent.id)),
                                                  "hubspot_owner_id": .string(HubSpotAPI.ownerID(agent))])
        }
    }

    func divisions() -> [HubSpotObject] {
        ["North", "South", "West"].enumerated().map { n, name in
            custom(String(6_000_001 + account.index * 10 + n), ["division_name": .string(name), "region_code": .string(String(name.prefix(1)))])
        }
    }

    func zipcodes() -> [HubSpotObject] {
        DataGenerator.cities.enumerated().map { n, place in
            custom(String(7_000_001 + account.index * 10 + n), ["zipcode": .string("2\(1200 + n * 7)"), "city": .string(place.0),
                                                                "state": .string(place.1), "division_name": .string(["North", "South", "West"][n % 3])])
        }
    }

    /// `GET /crm/v3/schemas` entry of a custom object.
    func schema(_ type: HubSpotObjectType) -> JSONValue {
        .object([
            "id": .string(String(type.objectTypeID.dropFirst(2))), "name": .string(type.name), "objectTypeId": .string(type.objectTypeID),
            "fullyQualifiedName": .string(type.fullyQualifiedName(portal: account.id)),
            "labels": .object(["singular": .string(type.name), "plural": .string(type.name)]),
            "primaryDisplayProperty": .string(type == .zipcodes ? "zipcode" : type == .divisions ? "division_name" : "name"),
            "properties": .array(propertyCatalogue(type)), "archived": .bool(false),
        ])
    }

    /// `GET /crm/v3/properties/{type}`: every property name the type's objects carry.
    func propertyCatalogue(_ type: HubSpotObjectType) -> [JSONValue] {
        var names = Set(type.alwaysProperties)
        for object in objects(type) { names.formUnion(object.properties.keys) }
        return names.sorted().map { name in
            let isDate = HubSpotObjectType.dateProperties.contains(name)
            return .object(["name": .string(name), "label": .string(name), "type": .string(isDate ? "datetime" : "string"),
                            "fieldType": .string(isDate ? "date" : "text"), "groupName": .string("\(type.name)information")])
        }
    }

    // MARK: - Associations

    /// From-id → (to-id, v4 type id): call → contact (194) and call → deal (206).
    func associations(from: HubSpotObjectType, to: HubSpotObjectType) -> [String: [(id: String, typeID: Int)]] {
        var links: [String: [(id: String, typeID: Int)]] = [:]
        switch (from, to) {
        case (.calls, .contacts):
            for call in calls {
                guard let contact = call.record[path: "properties", "hs_call_callee_object_id"]?.text,
                      call.record[path: "properties", "hs_call_callee_object_type"]?.text == "CONTACT" else { continue }
                links[call.id, default: []].append((contact, 194))
            }
        case (.calls, .deals):
            for (deal, call, _) in dealCalls() { links[call.id, default: []].append((deal, 206)) }
        default:
            break
        }
        return links
    }
}
