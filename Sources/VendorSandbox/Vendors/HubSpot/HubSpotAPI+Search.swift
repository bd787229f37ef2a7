import CallFeedCore
import HTTPServer

extension HubSpotAPI {
    /// `POST /crm/v3/objects/{type}/search` (§3).
    func search(_ type: HubSpotObjectType, request: APIRequest, store: HubSpotStore) -> HTTPResponse {
        let body: JSONValue
        if request.http.body.isEmpty {
            body = .object([:])
        } else {
            guard let parsed = try? JSONValue.parse(request.http.body), parsed.objectValue != nil else {
                return validation("Invalid input JSON on line 1: the search body must be a JSON object")
            }
            body = parsed
        }
        let groups = body["filterGroups"]?.arrayValue ?? []
        // Since Aug 2024: at most 5 groups, 10 filters per group, 25 in total.
        guard groups.count <= 5 else { return validation("Too many filter groups: \(groups.count) (at most 5)") }
        var filters: [[HubSpotSearchFilter]] = []
        for group in groups {
            let items = group["filters"]?.arrayValue ?? []
            guard items.count <= 10 else { return validation("Too many filters in a group: \(items.count) (at most 10)") }
            var parsed: [HubSpotSearchFilter] = []
            for item in items {
                switch HubSpotSearchFilter.parse(item) {
                case .success(let filter): parsed.append(filter)
                case .failure(let problem): return validation(problem.text)
                }
            }
            filters.append(parsed)
        }
        guard filters.map(\.count).reduce(0, +) <= 25 else { return validation("Too many filters: at most 25 in total") }

        var limit = Self.defaultLimit
        if let value = body["limit"] {
            guard let n = value.integer else { return validation("limit must be an integer") }
            limit = Int(n)
        }
        guard limit >= 1, limit <= Self.maxSearchLimit else {
            return validation("limit must be between 1 and \(Self.maxSearchLimit), was \(limit)")
        }
        var offset = 0
        if let value = body["after"], value != .null {
            guard let n = value.integer, n >= 0 else { return validation("Invalid after: \(value.text ?? "")") }
            offset = Int(clamping: n)
        }
        let cap = store.searchCap
        guard offset < cap else {
            return validation("There was a problem with the request: a search returns at most \(cap) results, after=\(offset) is past them. Narrow the filters.")
        }

        var matches = store.objects(type).filter { object in
            filters.isEmpty || filters.contains { group in group.allSatisfy { $0.matches(object) } }
        }
        let sorts = body["sorts"]?.arrayValue ?? []
        let sort = sorts.first.flatMap { HubSpotSearchSort.parse($0) }
        matches.sort { a, b in
            if let sort, let order = sort.compare(a, b) { return order }
            return a.numericID < b.numericID
        }
        let requested = body["properties"]?.arrayValue.map { Set($0.compactMap(\.text)).union(type.alwaysProperties) } ?? type.defaultProperties
        // No result past the cap; `total` still counts them all.
        let end = min(matches.count, offset + limit, cap)
        let page = offset < end ? Array(matches[offset..<end]) : []
        var answer: [String: JSONValue] = ["total": .int(Int64(matches.count)), "results": .array(page.map { $0.json(properties: requested) })]
        if end < matches.count {
            // Search paging carries no link; the cursor is the next offset (the sample's "2"),
            // also when it is the cap, which the next request is refused for.
            answer["paging"] = .object(["next": .object(["after": .string(String(end))])])
        }
        return .json(200, .object(answer))
    }
}

/// One search filter (§3): `{propertyName, operator, value | highValue | values}`.
struct HubSpotSearchFilter {
    struct Problem: Error { var text: String }

    var property: String
    var op: String
    var value: String?
    var highValue: String?
    var values: [String]

    static let operators: Set<String> = ["EQ", "NEQ", "GT", "GTE", "LT", "LTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY"]

    static func parse(_ json: JSONValue) -> Result<HubSpotSearchFilter, Problem> {
        guard let property = json["propertyName"]?.text else { return .failure(Problem(text: "filter is missing propertyName")) }
        guard let op = json["operator"]?.text?.uppercased(), operators.contains(op) else {
            return .failure(Problem(text: "Unsupported operator \(json["operator"]?.text ?? "(none)") on \(property); expected one of \(operators.sorted().joined(separator: ", "))"))
        }
        let filter = HubSpotSearchFilter(property: property, op: op, value: json["value"]?.text, highValue: json["highValue"]?.text,
                                  values: json["values"]?.arrayValue?.compactMap(\.text) ?? [])
        switch op {
        case "HAS_PROPERTY", "NOT_HAS_PROPERTY": break
        case "IN", "NOT_IN": guard !filter.values.isEmpty else { return .failure(Problem(text: "\(op) on \(property) needs values")) }
        case "BETWEEN": guard filter.value != nil, filter.highValue != nil else { return .failure(Problem(text: "BETWEEN on \(property) needs value and highValue")) }
        default: guard filter.value != nil else { return .failure(Problem(text: "\(op) on \(property) needs a value")) }
        }
        if HubSpotObjectType.dateProperties.contains(property) {
            for text in [filter.value, filter.highValue].compactMap({ $0 }) where HubSpotStore.instant(text) == nil {
                return .failure(Problem(text: "\(text) is not a valid date-time for \(property) (epoch milliseconds or ISO 8601)"))
            }
        }
        return .success(filter)
    }

    func matches(_ object: HubSpotObject) -> Bool {
        let present = object.properties[property]?.text
        switch op {
        case "HAS_PROPERTY": return present != nil || object.instants[property] != nil
        case "NOT_HAS_PROPERTY": return present == nil && object.instants[property] == nil
        case "IN": return present.map { v in values.contains { $0.lowercased() == v.lowercased() } } ?? false
        case "NOT_IN": return present.map { v in !values.contains { $0.lowercased() == v.lowercased() } } ?? true
        default: break
        }
        if HubSpotObjectType.dateProperties.contains(property) {
            guard let instant = object.instant(property), let bound = value.flatMap(HubSpotStore.instant) else { return op == "NEQ" }
            let ms = instant.millisecondsSinceEpoch, b = bound.millisecondsSinceEpoch
            switch op {
            case "EQ": return ms == b
            case "NEQ": return ms != b
            case "GT": return ms > b
            case "GTE": return ms >= b
            case "LT": return ms < b
            case "LTE": return ms <= b
            case "BETWEEN":
                guard let high = highValue.flatMap(HubSpotStore.instant) else { return false }
                return ms >= b && ms <= high.millisecondsSinceEpoch
            default: return false
            }
        }
        guard let present, let value else { return op == "NEQ" }
        let order: Int
        if let x = Double(present), let y = Double(value) { order = x < y ? -1 : (x > y ? 1 : 0) } else {
            let x = present.lowercased(), y = value.lowercased()
            order = x < y ? -1 : (x > y ? 1 : 0)
        }
        switch op {
        case "EQ": return order == 0
        case "NEQ": return order != 0
        case "GT": return order > 0
        case "GTE": return order >= 0
        case "LT": return order < 0
        case "LTE": return order <= 0
        case "BETWEEN":
            guard let high = highValue else { return false }
            if let x = Double(present), let h = Double(high) { return order >= 0 && x <= h }
            return order >= 0 && present.lowercased() <= high.lowercased()
        default: return false
        }
    }
}

/// One sort (§3): `{propertyName, direction: ASCENDING | DESCENDING}`; HubSpot takes one.
struct HubSpotSearchSort {
    var property: String
    var ascending: Bool

    static func parse(_ json: JSONValue) -> HubSpotSearchSort? {
        guard let property = json["propertyName"]?.text else { return nil }
        return HubSpotSearchSort(property: property, ascending: json["direction"]?.text?.uppercased() != "DESCENDING")
    }

    /// `a` before `b`, or nil on a tie (the id decides). Objects without the property go last.
    func compare(_ a: HubSpotObject, _ b: HubSpotObject) -> Bool? {
        if HubSpotObjectType.dateProperties.contains(property) {
            switch (a.instant(property), b.instant(property)) {
            case let (x?, y?): return x == y ? nil : (ascending ? x < y : y < x)
            case (nil, nil): return nil
            case (nil, _): return false
            case (_, nil): return true
            }
        }
        switch (a.properties[property]?.text, b.properties[property]?.text) {
        case let (x?, y?):
            if x == y { return nil }
            if let dx = Double(x), let dy = Double(y) { return dx == dy ? nil : (ascending ? dx < dy : dy < dx) }
            return ascending ? x < y : y < x
        case (nil, nil): return nil
        case (nil, _): return false
        case (_, nil): return true
        }
    }
}
