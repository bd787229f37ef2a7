import CallFeedCore
import Foundation
import HTTPClient
import Testing
import VendorSandbox

/// Generated data: deterministic, in range, odd where asked, changeable by tests.
@Suite struct DataTests {
    @Test func sameSeedSameDataOtherSeedOtherData() {
        let a = VendorSandbox(configuration: testConfiguration(seed: 11))
        let b = VendorSandbox(configuration: testConfiguration(seed: 11))
        let c = VendorSandbox(configuration: testConfiguration(seed: 12))
        for vendor in SandboxVendor.all {
            #expect(a.calls(vendor: vendor) == b.calls(vendor: vendor), "\(vendor)")
            #expect(a.calls(vendor: vendor).map(\.record) != c.calls(vendor: vendor).map(\.record), "\(vendor)")
            #expect(a.calls(vendor: vendor).count == 46)
            #expect(a.calls(vendor: vendor).allSatisfy { $0.startedAt >= mayFirst && $0.startedAt < maySeventh })
            #expect(Set(a.calls(vendor: vendor).map(\.id)).count == 46, "ids unique in \(vendor)")
        }
    }

    @Test func oddRecordsAreSpreadAndBroken() throws {
        let sandbox = VendorSandbox(configuration: testConfiguration(callsPerAccount: 20, oddRecords: 2))
        for vendor in SandboxVendor.all {
            for account in sandbox.accounts(vendor: vendor) {
                let odd = sandbox.calls(vendor: vendor, account: account.id).filter { $0.oddity != nil }
                #expect(odd.map(\.oddity) == [.unparseableTime, .garbagePhone], "\(vendor)")
            }
        }
        func odd(_ vendor: SandboxVendor, _ kind: SandboxOddity) throws -> JSONValue {
            try #require(sandbox.calls(vendor: vendor).first { $0.oddity == kind }?.record)
        }
        #expect(try odd(.ctm, .unparseableTime)["unix_time"]?.integer == nil)
        #expect(try Timestamp.parseISO8601(odd(.callkeeper, .unparseableTime)["callTime"]?.text ?? "", defaultUTCOffsetSeconds: 0) == nil)
        #expect(try Timestamp.parseISO8601(odd(.callrail, .unparseableTime)["start_time"]?.text ?? "") == nil)
        #expect(try Timestamp.parseISO8601(odd(.justcall, .unparseableTime)["call_date"]?.text ?? "", defaultUTCOffsetSeconds: 0) == nil)
        #expect(try odd(.ctm, .garbagePhone)["caller_number"]?.text?.allSatisfy(\.isNumber) == false)
        #expect(try odd(.justcall, .garbagePhone)["contact_number"]?.text?.allSatisfy(\.isNumber) == false)
    }

    @Test func addedAndUpdatedCallsAreServed() throws {
        try withSandbox { sandbox in
            let account = sandbox.accounts(vendor: .ctm)[0].id
            let auth = [("Authorization", "Basic " + Data("ctm_sandbox_access_key:ctm_sandbox_secret_key".utf8).base64EncodedString())]
            let url = sandbox.baseURL(for: .ctm) + "/api/v1/accounts/\(account)/calls?start_date=2024-05-02&end_date=2024-05-02&per_page=150"
            let before = try fetch(url, headers: auth).json["calls"]!.items.count

            let late = sandbox.addCall(vendor: .ctm, account: account, at: Timestamp(year: 2024, month: 5, day: 2, hour: 12)!,
                                       changes: [.tags(["late"])])
            #expect(sandbox.calls(vendor: .ctm, account: account).contains(late))
            let after = try fetch(url, headers: auth).json["calls"]!.items
            #expect(after.count == before + 1)
            #expect(after.contains { $0["id"]?.text == late.id && $0["tag_list"] == .array([.string("late")]) })
            // Ids continue after the generated ones.
            #expect(Int(late.id)! > sandbox.calls(vendor: .ctm).filter { $0.id != late.id }.compactMap { Int($0.id) }.max()!)

            let target = sandbox.calls(vendor: .ctm, account: account)[0]
            let updated = try #require(sandbox.updateCall(vendor: .ctm, account: account, id: target.id,
                                                          .recording("https://example.invalid/r.mp3"), .field("notes", .string("called back"))))
            #expect(updated.record["audio"]?.text == "https://example.invalid/r.mp3")
            let served = try fetch(sandbox.baseURL(for: .ctm) + "/api/v1/accounts/\(account)/calls/\(target.id)", headers: auth)
            #expect(served.json["audio"]?.text == "https://example.invalid/r.mp3")
            #expect(served.json["notes"]?.text == "called back")
            #expect(sandbox.updateCall(vendor: .ctm, account: account, id: "no-such-call", .tags([])) == nil)
        }
    }

    @Test func changesUseEachVendorsFieldNames() throws {
        let sandbox = VendorSandbox(configuration: testConfiguration())
        let url = "https://example.invalid/recording.mp3"
        let expectations: [(SandboxVendor, [String])] = [(.ctm, ["audio"]), (.callkeeper, ["recordUrl"]),
                                                         (.callrail, ["recording"]), (.justcall, ["call_info", "recording"])]
        for (vendor, path) in expectations {
            let call = sandbox.calls(vendor: vendor)[1]
            let updated = try #require(sandbox.updateCall(vendor: vendor, account: call.account, id: call.id, .recording(url)))
            var value: JSONValue? = updated.record
            for key in path { value = value?[key] }
            #expect(value?.text == url, "\(vendor)")
        }
    }

    @Test func defaultRangeIsTheWeekBeforeTodayUTC() {
        let fixedNow = Timestamp(year: 2026, month: 3, day: 10, hour: 15)!
        let configuration = SandboxConfiguration(now: { fixedNow })
        #expect(configuration.from == Timestamp(year: 2026, month: 3, day: 3)!)
        #expect(configuration.to == Timestamp(year: 2026, month: 3, day: 10)!)
        let sandbox = VendorSandbox(configuration: configuration)
        #expect(sandbox.calls(vendor: .justcall).allSatisfy { $0.startedAt >= configuration.from && $0.startedAt < configuration.to })
        #expect(sandbox.summary().contains("justcall_sandbox_key"))
    }
}
