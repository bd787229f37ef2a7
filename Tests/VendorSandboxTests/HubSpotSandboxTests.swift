import CallFeedCore
import Foundation
import HTTPClient
import Testing
import VendorSandbox

/// HubSpot CRM v3 as `vendors/hubspot.md` documents it.
@Suite struct HubSpotSandboxTests {
    let auth = [("Authorization", "Bearer hubspot-sandbox-token")]

    /// A fixed data set with no limits in the way unless a test sets them.
    static func configuration(calls: Int = 23, odd: Int = 0, vendorLimit: SandboxRateLimit = .unlimited,
                              searchLimit: SandboxRateLimit = .unlimited, cap: Int = 10_000) -> SandboxConfiguration {
        var c = SandboxConfiguration(seed: 7, accounts: 2, callsPerAccount: calls, from: mayFirst, to: maySeventh, oddRecords: odd,
                                     rateLimits: [.hubspot: vendorLimit], operationRateLimits: ["hubspot/search": searchLimit],
                                     callRailRetentionDays: nil)
        c.hubSpotSearchCap = cap
        return c
    }

    /// POST with a JSON body; parses the answer.
    func post(_ url: String, _ body: JSONValue, headers: [(String, String)]? = nil, client: HTTPClient = HTTPClient()) throws -> JSONResponse {
        let response = try client.request("POST", url, headers: (headers ?? auth) + [("Content-Type", "application/json")],
                                          body: body.canonicalJSONBytes)
        return JSONResponse(status: response.status, headers: response.headers, text: response.bodyText,
                            json: (try? JSONValue.parse(response.body)) ?? .null)
    }

    static func window(_ property: String, from: Timestamp, to: Timestamp) -> JSONValue {
        .object(["filters": .array([
            .object(["propertyName": .string(property), "operator": .string("GTE"), "value": .string(String(from.millisecondsSinceEpoch))]),
            .object(["propertyName": .string(property), "operator": .string("LT"), "value": .string(String(to.millisecondsSinceEpoch))]),
        ])])
    }

    static func modified(_ call: SandboxCall) -> Timestamp {
        Timestamp.parseISO8601(call.record[path: "properties", "hs_lastmodifieddate"]?.text ?? "") ?? Timestamp(millisecondsSinceEpoch: 0)
    }

    @Test func bearerTokenPicksThePortalAndAnythingElseIsHubSpots401() throws {
        try withSandbox(Self.configuration()) { sandbox in
            let base = sandbox.baseURL(for: .hubspot) + "/crm/v3/objects/calls"
            for headers in [[], [("Authorization", "Bearer wrong-token")], [("Authorization", "hubspot-sandbox-token")]] {
                let refused = try fetch(base, headers: headers)
                #expect(refused.status == 401)
                #expect(refused.json["status"]?.text == "error")
                #expect(refused.json["category"]?.text == "INVALID_AUTHENTICATION")
                #expect(refused.json["correlationId"]?.text?.count == 36)
                #expect(refused.json["message"]?.text?.isEmpty == false)
            }
            // The seed's API key in the query was sunset (§1).
            #expect(try fetch(base + "?hapikey=hubspot-sandbox-token").status == 401)
            let accounts = sandbox.accounts(vendor: .hubspot)
            #expect(accounts.map(\.id) == ["20000001", "20000002"])
            #expect(accounts[1].credential.authorization == "Bearer hubspot-sandbox-token-2")
            let second = try fetch(base + "?limit=100", headers: [("Authorization", accounts[1].credential.authorization!)])
            #expect(second.status == 200)
            #expect(Set(second.json["results"]!.items.compactMap { $0["id"]?.text }) == Set(sandbox.calls(vendor: .hubspot, account: "20000002").map(\.id)))
        }
    }

    @Test func listPagesWithAfterCursorsAndReturnsOnlyRequestedProperties() throws {
        try withSandbox(Self.configuration()) { sandbox in
            let base = sandbox.baseURL(for: .hubspot) + "/crm/v3/objects/calls"
            let client = HTTPClient()
            var ids: [String] = []
            var after: String?
            var pages = 0
            repeat {
                let response = try fetch(base + "?limit=7&properties=hs_timestamp,hs_call_duration" + (after.map { "&after=\($0)" } ?? ""),
                                         headers: auth, client: client)
                #expect(response.status == 200)
                pages += 1
                for record in response.json["results"]!.items {
                    ids.append(record["id"]?.text ?? "")
                    // Only what was asked for, plus the id and dates HubSpot always sends.
                    #expect(Set(record["properties"]?.objectValue?.keys ?? [:].keys)
                            == ["hs_timestamp", "hs_call_duration", "hs_object_id", "hs_createdate", "hs_lastmodifieddate"])
                    #expect(record["archived"] == .bool(false))
                }
                after = response.json[path: "paging", "next", "after"]?.text
                if let after {
                    let link = try #require(response.json[path: "paging", "next", "link"]?.text)
                    #expect(queryParameters(link)["after"] == after)
                }
            } while after != nil
            #expect(pages == 4)  // 23 calls, 7 per page
            #expect(ids == sandbox.calls(vendor: .hubspot, account: "20000001").map(\.id))

            // Default page size 10 and the small default property set; at most 100 per page.
            let first = try fetch(base, headers: auth)
            #expect(first.json["results"]?.items.count == 10)
            #expect(Set(first.json["results"]!.items[0]["properties"]?.objectValue?.keys ?? [:].keys)
                    == ["hs_object_id", "hs_createdate", "hs_lastmodifieddate"])
            let tooMany = try fetch(base + "?limit=101", headers: auth)
            #expect(tooMany.status == 400)
            #expect(tooMany.json["category"]?.text == "VALIDATION_ERROR")
            #expect(try fetch(base + "?archived=true", headers: auth).json["results"]?.items.isEmpty == true)

            // One call, every property; an unknown id is HubSpot's 404.
            let call = sandbox.calls(vendor: .hubspot, account: "20000001")[3]
            let one = try fetch(base + "/\(call.id)?properties=" + HubSpotSandboxTests.allCallProperties, headers: auth)
            #expect(one.json == call.record)
            #expect(try fetch(base + "/1", headers: auth).status == 404)
        }
    }

    static let allCallProperties = [
        "hs_object_id", "hs_timestamp", "hs_createdate", "hs_lastmodifieddate", "hs_call_title", "hs_call_body", "hs_call_direction",
        "hs_call_status", "hs_call_has_voicemail", "hs_call_disposition", "hs_call_duration", "hs_call_from_number",
        "hs_call_to_number", "hs_call_recording_url", "hs_call_callee_object_id", "hs_call_callee_object_type", "hs_call_source",
        "hs_call_external_id", "hs_call_app_id", "hs_activity_type", "hs_attachment_ids", "hubspot_owner_id",
    ].joined(separator: ",")

    @Test func recordsAreStringsInHubSpotsShapes() throws {
        try withSandbox(Self.configuration(calls: 40)) { sandbox in
            let calls = sandbox.calls(vendor: .hubspot)
            var forms = Set<String>()
            for call in calls {
                let p = try #require(call.record["properties"]?.objectValue)
                for (key, value) in p {
                    switch value {
                    case .null, .string: break
                    default: Issue.record("property \(key) is \(value), not a string or null")
                    }
                }
                #expect(call.id.allSatisfy(\.isNumber) && p["hs_object_id"]?.text == call.id)
                let timestamp = try #require(p["hs_timestamp"]?.text)
                #expect(timestamp.hasSuffix("Z") && timestamp.count == 24)  // 2024-05-14T18:30:00.000Z
                #expect(Timestamp.parseISO8601(timestamp) == call.startedAt)
                let created = try #require(p["hs_createdate"]?.text.flatMap { Timestamp.parseISO8601($0) })
                #expect(created >= call.startedAt && Self.modified(call) >= created)
                #expect(["INBOUND", "OUTBOUND"].contains(p["hs_call_direction"]?.text ?? ""))
                let duration = try #require(p["hs_call_duration"]?.integer)
                #expect(duration >= 0 && (duration == 0 || duration >= 1000))  // milliseconds
                let customer = p["hs_call_direction"]?.text == "INBOUND" ? p["hs_call_from_number"]?.text : p["hs_call_to_number"]?.text
                if let customer {
                    forms.insert(customer.hasPrefix("(") ? "parenthesized" : customer.hasPrefix("+1 ") ? "international" : "digits")
                }
            }
            #expect(forms == ["parenthesized", "international", "digits"])
            #expect(calls.contains { $0.record[path: "properties", "hs_call_recording_url"] == .null })
            #expect(calls.contains { $0.record[path: "properties", "hs_call_has_voicemail"]?.text == "true" })
        }
    }

    @Test func searchFiltersSortsAndTotals() throws {
        try withSandbox(Self.configuration()) { sandbox in
            let url = sandbox.baseURL(for: .hubspot) + "/crm/v3/objects/calls/search"
            let calls = sandbox.calls(vendor: .hubspot, account: "20000001")
            let from = Timestamp(year: 2024, month: 5, day: 2)!, to = Timestamp(year: 2024, month: 5, day: 5)!
            let expected = calls.filter { Self.modified($0) >= from && Self.modified($0) < to }
                .sorted { (Self.modified($0), Int($0.id)!) < (Self.modified($1), Int($1.id)!) }.map(\.id)
            #expect(expected.count > 5 && expected.count < calls.count)
            var ids: [String] = []
            var after: String?
            repeat {
                var body: [String: JSONValue] = [
                    "filterGroups": .array([Self.window("hs_lastmodifieddate", from: from, to: to)]),
                    "sorts": .array([.object(["propertyName": .string("hs_lastmodifieddate"), "direction": .string("ASCENDING")])]),
                    "properties": .array([.string("hs_call_direction")]), "limit": .int(4),
                ]
                if let after { body["after"] = .string(after) }
                let response = try post(url, .object(body))
                #expect(response.status == 200)
                #expect(response.json["total"]?.integer == Int64(expected.count))
                #expect(response.json[path: "paging", "next", "link"] == nil)
                ids += response.json["results"]!.items.compactMap { $0["id"]?.text }
                after = response.json[path: "paging", "next", "after"]?.text
                if let after { #expect(after == String(ids.count)) }  // an offset, like the sample's "2"
            } while after != nil
            #expect(ids == expected)

            // hs_timestamp with ISO values, OR of two groups, EQ on an enum property.
            let day = Timestamp(year: 2024, month: 5, day: 3)!
            let inbound = JSONValue.object(["filters": .array([
                .object(["propertyName": .string("hs_call_direction"), "operator": .string("EQ"), "value": .string("INBOUND")]),
                .object(["propertyName": .string("hs_timestamp"), "operator": .string("GTE"), "value": .string("2024-05-03T00:00:00.000Z")]),
                .object(["propertyName": .string("hs_timestamp"), "operator": .string("LT"), "value": .string("2024-05-04T00:00:00Z")]),
            ])])
            let early = Self.window("hs_timestamp", from: mayFirst, to: Timestamp(year: 2024, month: 5, day: 2)!)
            let either = try post(url, .object(["filterGroups": .array([inbound, early]), "limit": .int(200)]))
            let want = calls.filter {
                ($0.record[path: "properties", "hs_call_direction"]?.text == "INBOUND" && $0.startedAt >= day && $0.startedAt < day.adding(seconds: 86_400))
                    || $0.startedAt < Timestamp(year: 2024, month: 5, day: 2)!
            }
            #expect(Set(either.json["results"]!.items.compactMap { $0["id"]?.text }) == Set(want.map(\.id)))
            #expect(either.json["total"]?.integer == Int64(want.count))

            // Validation: limit over 200, an unknown operator, a date that is none.
            for bad: JSONValue in [
                .object(["limit": .int(201)]),
                .object(["filterGroups": .array([.object(["filters": .array([.object(["propertyName": .string("hs_timestamp"),
                                                                                         "operator": .string("ROUGHLY"), "value": .string("1")])])])])]),
                .object(["filterGroups": .array([.object(["filters": .array([.object(["propertyName": .string("hs_timestamp"),
                                                                                         "operator": .string("GT"), "value": .string("last week")])])])])]),
            ] {
                let refused = try post(url, bad)
                #expect(refused.status == 400)
                #expect(refused.json["category"]?.text == "VALIDATION_ERROR")
            }
        }
    }

    @Test func searchPagesStopAtTheResultCapWhileTotalCountsEverything() throws {
        try withSandbox(Self.configuration(calls: 50, cap: 20)) { sandbox in
            let url = sandbox.baseURL(for: .hubspot) + "/crm/v3/objects/calls/search"
            let page = try post(url, .object(["limit": .int(10), "after": .string("10")]))
            #expect(page.status == 200)
            #expect(page.json["total"]?.integer == 50)
            // HubSpot still offers the next cursor; following it past the cap is a 400.
            #expect(page.json[path: "paging", "next", "after"]?.text == "20")
            let past = try post(url, .object(["limit": .int(10), "after": .string("20")]))
            #expect(past.status == 400)
            #expect(past.json["category"]?.text == "VALIDATION_ERROR")
            #expect(past.json["message"]?.text?.contains("20") == true)
            // A page reaching over the cap ends at it.
            let last = try post(url, .object(["limit": .int(10), "after": .string("15")]))
            #expect(last.json["results"]?.items.count == 5)
            #expect(last.json[path: "paging", "next", "after"]?.text == "20")
        }
    }

    @Test func dispositionsListTheDefaultsAndTheCustomOutcomesRecordsUse() throws {
        try withSandbox(Self.configuration(calls: 60)) { sandbox in
            let response = try fetch(sandbox.baseURL(for: .hubspot) + "/calling/v1/dispositions", headers: auth)
            #expect(response.status == 200)
            let labels = Dictionary(response.json.items.compactMap { item in item["id"]?.text.map { ($0, item["label"]?.text ?? "") } },
                                    uniquingKeysWith: { a, _ in a })
            let defaults = ["9d9162e7-6cf3-4944-bf63-4dff82258764": "Busy", "f240bbac-87c9-4f6e-bf70-924b57d47db7": "Connected",
                            "a4c4c377-d246-4b32-a13b-75a56a4cd0ff": "Left live message", "b2cf5968-551e-4856-9783-52b3da59a7d0": "Left voicemail",
                            "73a0d17f-1163-4015-bdd5-ec830791da20": "No answer", "17b47fee-58de-441e-a44c-c6300d46f273": "Wrong number"]
            for (id, label) in defaults { #expect(labels[id] == label) }
            let custom = Set(labels.keys).subtracting(defaults.keys)
            #expect(!custom.isEmpty)
            let used = Set(sandbox.calls(vendor: .hubspot).compactMap { $0.record[path: "properties", "hs_call_disposition"]?.text })
            #expect(used.isSubset(of: Set(labels.keys)))
            #expect(!used.isDisjoint(with: custom))
        }
    }

    @Test func tenSecondlyLimitAndSearchLimitAnswerHubSpots429() throws {
        let vendor = SandboxRateLimit(windows: [.init(limit: 3, period: .seconds(3600))], sendsRetryAfter: false)
        let search = SandboxRateLimit(windows: [.init(limit: 2, period: .seconds(3600))], sendsRetryAfter: false)
        try withSandbox(Self.configuration(vendorLimit: vendor)) { sandbox in
            let url = sandbox.baseURL(for: .hubspot) + "/crm/v3/objects/contacts"
            var remaining: [String?] = []
            for _ in 0..<3 {
                let response = try fetch(url, headers: auth)
                #expect(response.status == 200)
                #expect(response.headers["x-hubspot-ratelimit-max"] == "3")
                #expect(response.headers["x-hubspot-ratelimit-interval-milliseconds"] == "10000")
                remaining.append(response.headers["x-hubspot-ratelimit-remaining"])
            }
            #expect(remaining == ["2", "1", "0"])
            let refused = try fetch(url, headers: auth)
            #expect(refused.status == 429)
            #expect(refused.json["category"]?.text == "RATE_LIMITS")
            #expect(refused.json["policyName"]?.text == "TEN_SECONDLY_ROLLING")
            #expect(refused.json["message"]?.text == "You have reached your ten_secondly_rolling limit.")
            #expect(refused.headers["retry-after"] == nil)
            #expect(sandbox.requests(for: .hubspot).last?.outcome == .overBudget)
        }
        try withSandbox(Self.configuration(searchLimit: search)) { sandbox in
            let url = sandbox.baseURL(for: .hubspot) + "/crm/v3/objects/calls/search"
            #expect(try post(url, .object([:])).status == 200)
            #expect(try post(url, .object([:])).status == 200)
            let refused = try post(url, .object([:]))
            #expect(refused.status == 429)
            #expect(refused.json["category"]?.text == "RATE_LIMITS")
            #expect(refused.headers["retry-after"] == nil)
            // The search budget is its own: lists still pass.
            #expect(try fetch(sandbox.baseURL(for: .hubspot) + "/crm/v3/objects/calls", headers: auth).status == 200)
            #expect(sandbox.requests(for: .hubspot).map(\.outcome) == [.served, .served, .overBudget, .served])
        }
    }

    @Test func contactsCompaniesDealsCustomObjectsAndAssociations() throws {
        try withSandbox(Self.configuration(calls: 40, odd: 2)) { sandbox in
            let base = sandbox.baseURL(for: .hubspot)
            let calls = sandbox.calls(vendor: .hubspot, account: "20000001")
            let contacts = try fetch(base + "/crm/v3/objects/contacts?limit=100&properties=phone,mobilephone,hs_calculated_phone_number,email,firstname,lastname",
                                     headers: auth).json["results"]!.items
            let callees = Set(calls.compactMap { $0.record[path: "properties", "hs_call_callee_object_id"]?.text })
            #expect(Set(contacts.compactMap { $0["id"]?.text }) == callees)
            for contact in contacts {
                let p = try #require(contact["properties"])
                let e164 = try #require(p["hs_calculated_phone_number"]?.text)
                #expect(e164.hasPrefix("+1") && e164.count == 12)
                #expect(p["phone"]?.text?.hasPrefix("(") == true)
                #expect(p["email"]?.text?.contains("@") == true && p["firstname"]?.text != nil && p["lastmodifieddate"]?.text != nil)
            }
            // The garbage-number call has no contact.
            let garbage = try #require(calls.first { $0.oddity == .garbagePhone })
            #expect(garbage.record[path: "properties", "hs_call_callee_object_id"] == .null)
            #expect(garbage.record[path: "properties", "hs_call_from_number"]?.text == "call-me-maybe"
                    || garbage.record[path: "properties", "hs_call_to_number"]?.text == "call-me-maybe")

            let companies = try fetch(base + "/crm/v3/objects/companies", headers: auth).json["results"]!.items
            #expect(companies.count == 1 && companies[0][path: "properties", "name"]?.text != nil)
            let deals = try fetch(base + "/crm/v3/objects/deals?limit=100", headers: auth).json["results"]!.items
            #expect(!deals.isEmpty && deals.allSatisfy { $0[path: "properties", "dealname"]?.text != nil })

            // Custom objects by fully qualified name or id; the bare name is no path.
            let byName = try fetch(base + "/crm/v3/objects/p20000001_genius_users?properties=name,email", headers: auth)
            let byID = try fetch(base + "/crm/v3/objects/2-1000001?properties=name,email", headers: auth)
            #expect(byName.status == 200 && byName.json["results"]?.items.count == 3)
            #expect(byName.json == byID.json)
            #expect(try fetch(base + "/crm/v3/objects/genius_users", headers: auth).status == 404)
            for name in ["divisions", "zipcodes"] {
                #expect(try fetch(base + "/crm/v3/objects/p20000001_\(name)", headers: auth).json["results"]?.items.isEmpty == false)
            }
            let schemas = try fetch(base + "/crm/v3/schemas", headers: auth).json["results"]!.items
            #expect(Set(schemas.compactMap { $0["fullyQualifiedName"]?.text })
                    == ["p20000001_genius_users", "p20000001_divisions", "p20000001_zipcodes"])
            let catalogue = try fetch(base + "/crm/v3/properties/p20000001_zipcodes", headers: auth).json["results"]!.items
            let propertyNames = Set(catalogue.compactMap { $0["name"]?.text })
            #expect(propertyNames.isSuperset(of: ["zipcode", "city", "state"]))

            // v4 associations: one result per call with a contact, typeId 194.
            let ids = calls.prefix(12).map(\.id)
            let links = try post(base + "/crm/v4/associations/calls/contacts/batch/read",
                                 .object(["inputs": .array(ids.map { .object(["id": .string($0)]) })]))
            #expect(links.status == 200)
            let results = links.json["results"]!.items
            let withContact = calls.prefix(12).filter { $0.record[path: "properties", "hs_call_callee_object_id"]?.text != nil }
            #expect(results.count == withContact.count)
            for result in results {
                let call = try #require(calls.first { $0.id == result[path: "from", "id"]?.text })
                let to = try #require(result["to"]?.items.first)
                #expect(to["toObjectId"]?.text == call.record[path: "properties", "hs_call_callee_object_id"]?.text)
                #expect(to["associationTypes"]?.items.first?["typeId"]?.integer == 194)
            }
        }
    }

    @Test func oddRecordsAreFoundByTheirRealTimeAndChangesBumpTheModificationDate() throws {
        try withSandbox(Self.configuration(calls: 20, odd: 2)) { sandbox in
            let odd = try #require(sandbox.calls(vendor: .hubspot).first { $0.oddity == .unparseableTime })
            #expect(odd.record[path: "properties", "hs_timestamp"]?.text == "2024-02-30T25:61:00.000Z")
            let url = sandbox.baseURL(for: .hubspot) + "/crm/v3/objects/calls/search"
            let around = try post(url, .object(["filterGroups": .array([Self.window("hs_timestamp", from: odd.startedAt, to: odd.startedAt.adding(seconds: 1))])]))
            #expect(around.json["results"]?.items.compactMap { $0["id"]?.text } == [odd.id])

            let call = sandbox.calls(vendor: .hubspot, account: "20000001")[2]
            let before = Self.modified(call)
            let changed = try #require(sandbox.updateCall(vendor: .hubspot, account: call.account, id: call.id,
                                                          .recording("https://example.test/hubspot/late.mp3")))
            #expect(changed.record[path: "properties", "hs_call_recording_url"]?.text == "https://example.test/hubspot/late.mp3")
            #expect(Self.modified(changed) > before)
            #expect(changed.record["updatedAt"] == changed.record[path: "properties", "hs_lastmodifieddate"])
            let recent = try post(url, .object(["filterGroups": .array([.object(["filters": .array([.object([
                "propertyName": .string("hs_lastmodifieddate"), "operator": .string("GT"), "value": .string(String(maySeventh.millisecondsSinceEpoch)),
            ])])])])]))
            #expect(recent.json["results"]?.items.compactMap { $0["id"]?.text } == [call.id])
        }
    }

    @Test func webhookIsAV3SignedArrayOfPropertyChangeEvents() throws {
        try withSandbox(Self.configuration(calls: 3)) { sandbox in
            let call = sandbox.calls(vendor: .hubspot, account: "20000001")[0]
            let url = "https://ingest.example.com/webhooks/hubspot?src=hs"
            let hook = sandbox.webhook(vendor: .hubspot, to: url, call: call)
            let headers = Dictionary(hook.headers.map { ($0.0.lowercased(), $0.1) }, uniquingKeysWith: { a, _ in a })
            let timestamp = try #require(headers["x-hubspot-request-timestamp"])
            #expect(Int64(timestamp) ?? 0 > 1_700_000_000_000)  // epoch milliseconds
            #expect(headers["x-hubspot-signature-v3"] == WebhookSignature.hubSpotV3(clientSecret: "hubspot-sandbox-client-secret", method: "POST",
                                                                                    uri: url, body: hook.body, timestamp: timestamp))
            #expect(headers["x-hubspot-signature-v3"] != WebhookSignature.hubSpotV3(clientSecret: "hubspot-sandbox-token", method: "POST",
                                                                                    uri: url, body: hook.body, timestamp: timestamp))
            let events = try JSONValue.parse(hook.body).items
            #expect(events.count == 1)
            #expect(events[0]["objectTypeId"]?.text == "0-48")
            #expect(events[0]["subscriptionType"]?.text == "object.propertyChange")
            #expect(events[0]["objectId"]?.text == call.id)
            #expect(events[0]["portalId"]?.text == "20000001")
        }
    }
}
