import CallFeedCore
import Foundation
import HTTPClient
import Testing
import VendorSandbox

/// CallKeeper export v3 as `vendors/callkeeper.md` and seed 003 document it.
@Suite struct CallKeeperSandboxTests {
    let userKey = "ckuser0000000001"
    let roleKey = "ckrole0000000001"

    func route(_ sandbox: VendorSandbox, _ tail: String) -> String {
        sandbox.baseURL(for: .callkeeper) + "/api/index.php?json/v3/" + tail
    }

    @Test func pagesFromZeroUntilIncorrectPageCollectEveryCall() throws {
        try withSandbox(testConfiguration(accounts: 3, callKeeperPageSize: 10)) { sandbox in
            let client = HTTPClient()
            func walk(key: String, method: String) throws -> [String] {
                var ids: [String] = []
                var page = 0
                while true {
                    let response = try fetch(route(sandbox, "\(key)/call/\(method)/\(page)/2024-05-01/2024-05-07"), client: client)
                    #expect(response.status == 200)
                    guard let records = response.json.arrayValue else {
                        // The end is the error envelope, with HTTP 200.
                        #expect(response.json[path: "inbound", "error"]?.text == "Incorrect page is set")
                        #expect(response.json["payload"] == .array([]))
                        break
                    }
                    #expect(records.allSatisfy { $0["page"]?.integer == Int64(page) })
                    ids += records.compactMap { $0["universalId"]?.text }
                    page += 1
                }
                return ids
            }
            let accounts = sandbox.accounts(vendor: .callkeeper).map(\.id)
            let own = try walk(key: userKey, method: "get")
            #expect(own.count == 23)
            #expect(own == sandbox.calls(vendor: .callkeeper, account: accounts[0]).map(\.id))
            let shared = try walk(key: roleKey, method: "getByRole")
            #expect(Set(shared) == Set(accounts.dropFirst().flatMap { sandbox.calls(vendor: .callkeeper, account: $0).map(\.id) }))
            #expect(shared.count == 46)
            let all = try walk(key: userKey, method: "getWithRole")
            #expect(Set(all) == Set(own + shared))
            #expect(all.count == 69)
        }
    }

    @Test func emptyRangeIsNoRowsFoundAndDatesFilterInclusively() throws {
        try withSandbox { sandbox in
            let empty = try fetch(route(sandbox, "\(userKey)/call/get/0/2023-01-01/2023-01-31"))
            #expect(empty.status == 200)
            #expect(empty.json[path: "inbound", "error"]?.text == "No rows found")
            #expect(empty.json[path: "info", "versions"] == .array([.string("v1")]))

            // Unix seconds, both ends inclusive.
            let calls = sandbox.calls(vendor: .callkeeper, account: sandbox.accounts(vendor: .callkeeper)[0].id)
            let from = calls[3].startedAt.secondsSinceEpoch
            let to = calls[9].startedAt.secondsSinceEpoch
            let window = try fetch(route(sandbox, "\(userKey)/call/get/0/\(from)/\(to)"))
            #expect(window.json.items.compactMap { $0["universalId"]?.text } == calls[3...9].map(\.id))
        }
    }

    @Test func documentedErrorsInTheirOrder() throws {
        try withSandbox { sandbox in
            func error(_ tail: String, base: String = "/api/index.php?") throws -> String? {
                let response = try fetch(sandbox.baseURL(for: .callkeeper) + base + tail)
                #expect(response.status == 200)
                return response.json[path: "inbound", "error"]?.text
            }
            #expect(try error("xml/v3/\(userKey)/call/get/0/2024-05-01") == "Type to return is not available")
            #expect(try error("json/v1/\(userKey)/call/get/0/2024-05-01") == "It is wrong API version")
            #expect(try error("json/v3/x9xx99xx99xxxx99/call/get/0/2024-05-01") == "User is not recognized")
            // getByRole needs the role key (§1).
            #expect(try error("json/v3/\(userKey)/call/getByRole/0/2024-05-01") == "User is not recognized")
            #expect(try error("json/v3/\(userKey)/phone/get/0/2024-05-01") == "Entity does not exist")
            #expect(try error("json/v3/\(userKey)/call/put/0/2024-05-01") == "Method does not exist")
            #expect(try error("json/v3/\(userKey)/call/get/-1/2024-05-01") == "Incorrect page is set")
            #expect(try error("json/v3/\(userKey)/call/get/0/May-1") == "Start date has wrong type. Possible format is 'Y-m-d' or timestamp")
            // The seed's form without index.php works too, and `to` defaults to now.
            let records = try fetch(sandbox.baseURL(for: .callkeeper) + "/api/?json/v3/\(userKey)/call/get/0/2024-05-01")
            #expect(records.json.items.count == 23)
        }
    }

    @Test func recordsHaveNoNullsAndTheDocumentedShape() throws {
        try withSandbox { sandbox in
            let records = try fetch(route(sandbox, "\(userKey)/call/get/0/2024-05-01/2024-05-07")).json.items
            #expect(records.count == 23)
            for record in records {
                let members = try #require(record.objectValue)
                #expect(!members.values.contains(.null))
                #expect(members["clientNumber"]?.text?.hasPrefix("+") == false)
                let type = members["serviceType"]?.text
                #expect(type == "callback" || type == "calltracking")
                if type == "callback" { #expect((members["cbCallId"]?.integer ?? 0) > 0) }
                else { #expect((members["ctCallId"]?.integer ?? 0) > 0 && members["cbCallId"]?.integer == 0) }
            }
        }
    }
}
