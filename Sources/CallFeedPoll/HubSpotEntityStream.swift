import CallFeedCore
import CallFeedVendors
import HTTPClient
import Synchronization

/// HubSpot CRM objects other than calls (../shared/vendors/hubspot.md §2, §7), read in full on
/// every run through the CRM list endpoints, with the token and portal of a ``HubSpotCallSource``.
///
/// | Name | Request | Table | Key |
/// |---|---|---|---|
/// | `contacts` | `GET /crm/v3/objects/contacts` | `hubspot_contacts` | record id |
/// | `companies` | `GET /crm/v3/objects/companies` | `hubspot_companies` | record id |
/// | `deals` | `GET /crm/v3/objects/deals` | `hubspot_deals` | record id |
/// | `call_contacts` | `GET /crm/v3/objects/calls?properties=hs_object_id`, then `POST /crm/v4/associations/calls/contacts/batch/read` per page | `hubspot_call_contacts` | `<callId>/<contactId>` |
/// | any other name, e.g. `genius_users` | `GET /crm/v3/properties/p<portal>_genius_users` once per run, then `GET /crm/v3/objects/p<portal>_genius_users` | `hubspot_genius_users` | record id |
///
/// Lists are paged with `limit=100` (HubSpot's maximum) and the opaque `after` cursor
/// (``PageRequest/cursor(_:)``); the last page has no `paging.next`. HubSpot returns only the
/// properties asked for, so each standard list names its own (``properties``); a custom object's
/// properties are read from its property catalogue. `data` is the record's `properties` object
/// plus `id`, `createdAt`, `updatedAt`, `archived`; contacts also get `phone_e164`, the first of
/// `hs_calculated_phone_number`, `phone`, `mobilephone` that normalises to E.164 (the default
/// country of the call source), so calls can be joined to their caller. `source_updated_at` is
/// the record's `updatedAt`.
public struct HubSpotEntityStream: EntityStream {
    public enum Kind: Sendable, Equatable {
        /// A CRM object list: `contacts`, `companies`, `deals`, or a custom object by its name.
        case object(String)
        /// Call → contact associations (v4).
        case callContacts
    }

    /// Config names of the lists every portal has; any other name is a custom object.
    public static let standardNames = ["contacts", "companies", "deals", "call_contacts"]

    /// The streams for config `names`: the standard ones by name, anything else a custom object
    /// (`genius_users` → `p<portalID>_genius_users`).
    public static func streams(calls: HubSpotCallSource, names: [String]) -> [any EntityStream] {
        names.map { name in
            HubSpotEntityStream(calls: calls, kind: name == "call_contacts" ? .callContacts : .object(name))
        }
    }

    public let calls: HubSpotCallSource
    public let kind: Kind
    /// Properties asked for: the standard list's, or a custom object's catalogue (read once per run).
    let catalogue: HubSpotPropertyCatalogue

    public var vendor: String { calls.vendor }
    public var entity: String {
        switch kind {
        case .object(let name): name
        case .callContacts: "call_contacts"
        }
    }
    /// One token reads one portal: every list is read for the portal.
    public var perAccount: Bool { true }

    public init(calls: HubSpotCallSource, kind: Kind) {
        self.calls = calls; self.kind = kind; self.catalogue = HubSpotPropertyCatalogue()
    }

    /// The object type in the URL: the standard name, or the custom object's fully qualified name.
    public var objectType: String {
        switch kind {
        case .callContacts: "calls"
        case .object(let name): Self.isQualified(name) ? name : "p\(calls.portalID)_\(name)"
        }
    }

    /// A standard object, an object type id (`2-1000001`) or a fully qualified name (`p123_x`, `p_x`).
    static func isQualified(_ name: String) -> Bool {
        if standardObjects.contains(name) || name.hasPrefix("2-") || name.hasPrefix("p_") { return true }
        guard name.hasPrefix("p"), let underscore = name.firstIndex(of: "_") else { return false }
        let digits = name[name.index(after: name.startIndex)..<underscore]
        return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    static let standardObjects: Set<String> = ["contacts", "companies", "deals", "calls"]

    /// The properties each standard list asks for (`hubspot.md` §7).
    public static let properties: [String: [String]] = [
        "contacts": ["firstname", "lastname", "email", "phone", "mobilephone", "hs_calculated_phone_number", "hs_analytics_source",
                     "lifecyclestage", "associatedcompanyid", "hubspot_owner_id", "createdate", "lastmodifieddate"],
        "companies": ["name", "domain", "phone", "city", "state", "industry", "hubspot_owner_id", "hs_createdate", "hs_lastmodifieddate"],
        "deals": ["dealname", "amount", "dealstage", "pipeline", "closedate", "hubspot_owner_id", "hs_createdate", "hs_lastmodifieddate"],
    ]

    public func firstPage(account: String?, since: Timestamp?, until: Timestamp) -> PageRequest { .number(0) }

    public func page(_ request: PageRequest, account: String?, since: Timestamp?, until: Timestamp, client: VendorClient) throws(PollError) -> EntityPage {
        let after: String?
        switch request {
        case .number: after = nil
        case .cursor(let text): after = text.isEmpty ? nil : text
        case .url: throw PollError(.state, "HubSpot \(entity) are paged by cursor, not \(request)")
        }
        var query = [("limit", String(HubSpotCallSource.listPageSize))]
        switch kind {
        case .callContacts:
            query.append(("properties", "hs_object_id"))
        case .object(let name):
            let wanted = try properties(for: name, request: request, client: client)
            if !wanted.isEmpty { query.append(("properties", wanted.joined(separator: ","))) }
        }
        if let after { query.append(("after", after)) }
        let body = try calls.request("GET", "/crm/v3/objects/\(objectType)", query: query, client: client)
        guard let results = body["results"]?.arrayValue else {
            throw PollError(.vendor, "HubSpot \(entity) list answered without results: \(body.excerpt())")
        }
        let next = body[path: "paging", "next", "after"]?.text.map { PageRequest.cursor($0) }
        guard kind == .callContacts else { return EntityPage(records: results, next: next) }
        return EntityPage(records: try associations(of: results, client: client), next: next)
    }

    public func object(from record: JSONValue, account: String?) throws(MappingError) -> EntityObject {
        guard record.objectValue != nil else { throw MappingError(reason: "HubSpot \(entity) item is not an object") }
        if kind == .callContacts {
            let call = try record.idText("call_id")
            let contact = try record.idText("contact_id")
            return EntityObject(id: "\(call)/\(contact)", data: record)
        }
        let id = try record.idText()
        var data = record["properties"]?.objectValue ?? [:]
        data["id"] = .string(id)
        for key in ["createdAt", "updatedAt", "archived"] { data[key] = record[key] ?? .null }
        if kind == .object("contacts") {
            let candidates = ["hs_calculated_phone_number", "phone", "mobilephone"].compactMap { data[$0]?.text }
            let e164 = candidates.lazy.compactMap { PhoneNumber.normalize($0, defaultCountry: calls.defaultCountry) }.first { $0.hasPrefix("+") }
            data["phone_e164"] = e164.map { .string($0) } ?? .null
        }
        let updated = record["updatedAt"]?.text.flatMap { Timestamp.parseISO8601($0) }
        return EntityObject(id: id, data: .object(data), sourceUpdatedAt: updated)
    }

    // MARK: - Properties

    /// The standard list's properties, or the custom object's catalogue: fetched on the run's
    /// first page (``PageRequest/number(_:)``), cached for the pages after it.
    private func properties(for name: String, request: PageRequest, client: VendorClient) throws(PollError) -> [String] {
        if let known = Self.properties[name] { return known }
        if case .cursor = request, let cached = catalogue.names { return cached }
        let body = try calls.request("GET", "/crm/v3/properties/\(objectType)", client: client)
        let names = (body["results"]?.arrayValue ?? []).compactMap { $0["name"]?.text }.sorted()
        catalogue.set(names)
        return names
    }

    // MARK: - Associations

    /// One v4 batch read for a page of calls: a record per (call, contact) pair,
    /// `{call_id, contact_id, association_types: [{category, typeId, label}]}`.
    private func associations(of page: [JSONValue], client: VendorClient) throws(PollError) -> [JSONValue] {
        let ids = page.compactMap { $0["id"]?.text }
        guard !ids.isEmpty else { return [] }
        let body = try calls.request("POST", "/crm/v4/associations/calls/contacts/batch/read",
                                     body: .object(["inputs": .array(ids.map { .object(["id": .string($0)]) })]), client: client)
        var records: [JSONValue] = []
        for result in body["results"]?.arrayValue ?? [] {
            guard let call = result[path: "from", "id"]?.text else { continue }
            for target in result["to"]?.arrayValue ?? [] {
                guard let contact = target["toObjectId"]?.text else { continue }
                records.append(.object(["call_id": .string(call), "contact_id": .string(contact),
                                        "association_types": target["associationTypes"] ?? .array([])]))
            }
        }
        return records
    }
}

/// A custom object's property names, read once per run and used for its later pages. All access
/// is under the mutex.
final class HubSpotPropertyCatalogue: Sendable {
    private let state = Mutex<[String]?>(nil)
    var names: [String]? { state.withLock { $0 } }
    func set(_ names: [String]) { state.withLock { $0 = names } }
}
