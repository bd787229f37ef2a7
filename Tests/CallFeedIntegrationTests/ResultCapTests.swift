import CallFeedCore
import CallFeedPoll
import CallFeedVendors
import HTTPClient
import Testing
import VendorSandbox

/// Result-cap handling of ``CallPoller``: a window whose first page reports more records than the
/// vendor returns for one query is split instead of silently truncated.
///
/// No connector we have documents a cap, so this wraps the real CallRail source (date-time filters,
/// `total_records`) with a pretend cap of 8 records per query.
@Suite(.serialized) struct ResultCapTests {
    struct CappedSource: CallSource {
        let inner: CallRailCallSource
        var vendor: String { inner.vendor }
        var name: String { inner.name }
        var firstPage: Int { inner.firstPage }
        let granularity = Duration.seconds(3600)
        let resultCap: Int? = 8
        func accounts(client: VendorClient) throws(PollError) -> [String] { try inner.accounts(client: client) }
        func page(_ number: Int, account: String, from: Timestamp, to: Timestamp, client: VendorClient) throws(PollError) -> CallPage {
            try inner.page(number, account: account, from: from, to: to, client: client)
        }
        func content(of record: JSONValue, account: String) throws(MappingError) -> CallContent { try inner.content(of: record, account: account) }
    }

    @Test("day windows over the cap are halved until each fits; every call lands once")
    func windowsOverTheCapAreSplit() throws {
        let may1 = Timestamp(year: 2024, month: 5, day: 1)!, may3 = Timestamp(year: 2024, month: 5, day: 3)!
        let h = try PollHarness(SandboxConfiguration(seed: 5, accounts: 1, callsPerAccount: 30, from: may1, to: may3,
                                                     callRailRetentionDays: nil))
        defer { h.stop() }
        let source = CappedSource(inner: CallRailCallSource(name: "capped", baseURL: h.sandbox.baseURL(for: .callrail),
                                                            apiKey: "callrail_sandbox_api_key", perPage: 5))
        let stats = try h.callPoller(source, start: may1).sync(now: may3)

        let expected = Set(h.sandbox.calls(vendor: .callrail).map(\.id))
        #expect(Set(try h.waitForCalls(source: "callrail", count: 30).keys) == expected)
        // Two day windows of ~15 calls each cannot be read under a cap of 8: more, smaller windows were.
        #expect(stats.windows > 2)
        let requests = h.sandbox.requests(for: .callrail).filter { $0.path.hasSuffix("/calls.json") }
        #expect(requests.contains { $0.query["start_date"]?.hasSuffix("T12:00:00") == true })
        // Split windows do not overlap: no call was read twice.
        #expect(stats.published == 30)
    }
}
