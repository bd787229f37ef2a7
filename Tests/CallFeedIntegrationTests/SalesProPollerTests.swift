import AWSSigV4
import CallFeedCore
import CallFeedPoll
import CallFeedSQLPoll
import Foundation
import HTTPClient
import Testing
import VendorSandbox
import Warehouse

/// SalesPro through Athena's JSON API, played by ``AthenaSandbox`` on a real loopback socket
/// (every request SigV4-verified), publishing through the in-process pipeline (mock cluster,
/// loader, SQLite).
@Suite(.serialized) struct SalesProPollerTests {
    /// 25 customers modified a day ago, one second apart; customer 13 has no id (the odd row).
    static func customers(now: Timestamp = .now()) -> AthenaSandbox.Table {
        let values = SQLValues(timeZone: .gmt)
        let rows: [[String?]] = (1...25).map { n in
            let modified = values.local(now.adding(seconds: -86_400 + Int64(n)))
            return [n == 13 ? "" : String(n), "Customer \(n)", String(format: "%d.50", n * 100), n % 2 == 0 ? "true" : "false",
                    n == 5 ? nil : "2024-01-\(String(format: "%02d", n))", modified]
        }
        return AthenaSandbox.Table(columns: [("id", "varchar"), ("name", "varchar"), ("credit_limit", "decimal(10,2)"), ("approved", "boolean"),
                                             ("first_contact", "date"), ("updated_at", "timestamp")], rows: rows)
    }

    static func stream(_ sandbox: AthenaSandbox, secret: String? = nil, table: String = "customers", pageSize: Int = 6,
                       queryTimeout: Duration = .seconds(20)) -> SalesProAthenaStream {
        let athena = AthenaClient(region: sandbox.region, endpoint: sandbox.endpoint,
                                  credentials: AWSCredentials(accessKeyID: sandbox.accessKeyID, secretAccessKey: secret ?? sandbox.secretAccessKey),
                                  database: "salespro", queryTimeout: queryTimeout, pollInterval: .milliseconds(10))
        return SalesProAthenaStream(table: SQLTable(entity: "customers", table: "salespro.\(table)", key: ["id"], modified: "updated_at"),
                                    athena: athena, pageSize: pageSize)
    }

    static func dataOf(_ row: [String: WarehouseValue]?) throws -> JSONValue {
        guard case .text(let text)? = row?["data"] else { throw PollError(.state, "row has no data") }
        return try JSONValue.parse(Array(text.utf8))
    }

    @Test func aMultiPageQueryLandsEachRowOnceAndTheOddRowIsDeadLettered() throws {
        let sandbox = AthenaSandbox(tables: ["customers": Self.customers()])
        try sandbox.start()
        defer { sandbox.stop() }
        let h = try PollHarness(SandboxConfiguration())
        defer { h.stop() }
        let stats = try h.entityPoller(name: "salespro-test", streams: [Self.stream(sandbox)], accounts: { _ in [] }).sync()
        // 25 rows + the header row in pages of 6 → 5 pages; one query.
        #expect(stats.pages == 5)
        #expect(stats.published == 24)
        #expect(stats.rejected == 1)
        #expect(sandbox.operations.filter { $0 == "StartQueryExecution" }.count == 1)
        #expect(sandbox.operations.filter { $0 == "GetQueryExecution" }.count == 3)  // RUNNING, RUNNING, SUCCEEDED
        let rows = try h.waitForEntities("salespro_customers", count: 24)
        #expect(Set(rows.keys) == Set((1...25).filter { $0 != 13 }.map(String.init)))
        let two = try Self.dataOf(rows["2"])
        #expect(two["credit_limit"] == JSONValue.string("200.50"))
        #expect(two["approved"] == JSONValue.bool(true))
        #expect(try Self.dataOf(rows["5"])["first_contact"] == JSONValue.null)
        #expect(try h.pipeline.count(h.pipeline.topics.entities) == 24)
        let letters = try h.deadLetters(expecting: 1)
        #expect(letters.first?.reason.contains("customers: row has no id") == true)
        #expect(letters.first?.body.contains("Customer 13") == true)
    }

    @Test func anIncrementalRunQueriesOnlyTheOverlapAndAKilledRunResumesTheSameQuery() throws {
        let sandbox = AthenaSandbox(tables: ["customers": Self.customers()])
        try sandbox.start()
        defer { sandbox.stop() }
        let h = try PollHarness(SandboxConfiguration())
        defer { h.stop() }
        let first = h.entityPoller(name: "salespro-test", streams: [Self.stream(sandbox)], accounts: { _ in [] })
        let counter = PageCounter(stopAfter: 2)
        first.isCancelled = { counter.tick() }
        #expect(throws: PollError.self) { try first.sync() }
        #expect(try h.waitForEntities("salespro_customers", count: 11).count == 11)
        // Resumed: the same query's results from the saved NextToken, no new query.
        let resumed = try h.entityPoller(name: "salespro-test", streams: [Self.stream(sandbox)], accounts: { _ in [] }).sync()
        #expect(resumed.processed == 14)
        #expect(sandbox.operations.filter { $0 == "StartQueryExecution" }.count == 1)
        #expect(try h.waitForEntities("salespro_customers", count: 24).count == 24)
        // Two rows change; the next run's window [until - 1h lookback, now) holds only them.
        let now = SQLValues(timeZone: .gmt).local(.now())
        sandbox.update("customers") { t in
            for i in [2, 20] { t.rows[i][1] = "Renamed \(i + 1)"; t.rows[i][5] = now }
        }
        Thread.sleep(forTimeInterval: 0.05)
        let third = try h.entityPoller(name: "salespro-test", streams: [Self.stream(sandbox)], accounts: { _ in [] }).sync()
        #expect(third.processed == 2)
        #expect(sandbox.operations.filter { $0 == "StartQueryExecution" }.count == 2)
        let rows = try h.waitForEntities("salespro_customers", count: 24)
        #expect(try h.pipeline.wait { try Self.dataOf(h.entityRows("salespro_customers")["21"])["name"] == JSONValue.string("Renamed 21") })
        #expect(try Self.dataOf(rows["3"])["name"] == JSONValue.string("Renamed 3"))
        #expect(try h.pipeline.count(h.pipeline.topics.entities) == 26)
    }

    @Test func throttlingIsWaitedOutAndRefusalsNameTheCause() throws {
        let sandbox = AthenaSandbox(tables: ["customers": Self.customers()], throttleEvery: 3)
        try sandbox.start()
        defer { sandbox.stop() }
        let h = try PollHarness(SandboxConfiguration())
        defer { h.stop() }
        // Every third request is a ThrottlingException: the run still reads every row.
        let stats = try h.entityPoller(name: "salespro-test", streams: [Self.stream(sandbox)], accounts: { _ in [] }).sync()
        #expect(stats.published == 24)
        #expect(sandbox.operations.count >= 12, "\(sandbox.operations)")
        // A wrong secret: InvalidSignatureException is a credentials error.
        let wrong = #expect(throws: PollError.self) {
            try h.entityPoller(name: "salespro-wrong", streams: [Self.stream(sandbox, secret: "not-the-secret")], accounts: { _ in [] }).sync()
        }
        #expect(wrong?.kind == .credentials)
        #expect(wrong?.reason.contains("InvalidSignatureException") == true)
        // A missing table: the query FAILS and Athena's reason is in the error.
        let failed = #expect(throws: PollError.self) {
            try h.entityPoller(name: "salespro-missing", streams: [Self.stream(sandbox, table: "nope")], accounts: { _ in [] }).sync()
        }
        #expect(failed?.reason.contains("TABLE_NOT_FOUND") == true, "\(String(describing: failed))")
    }

    @Test func aQueryPastItsTimeoutIsStopped() throws {
        let sandbox = AthenaSandbox(tables: ["customers": Self.customers()], runningPolls: 1_000_000)
        try sandbox.start()
        defer { sandbox.stop() }
        let client = VendorClient(limiter: RateLimiter(windows: []))
        let stream = Self.stream(sandbox, queryTimeout: .milliseconds(300))
        let error = #expect(throws: PollError.self) {
            _ = try stream.page(.cursor(""), account: nil, since: nil, until: .now(), client: client)
        }
        #expect(error?.reason.contains("still running after") == true)
        #expect(sandbox.operations.last == "StopQueryExecution")
    }

    @Test func theQueryTextBoundsTheWindowInUTC() throws {
        let sandbox = AthenaSandbox(tables: [:])
        let stream = Self.stream(sandbox)
        let since = try #require(Timestamp.parseISO8601("2024-03-01T00:00:00Z"))
        let until = try #require(Timestamp.parseISO8601("2024-03-02T06:30:00.5Z"))
        #expect(stream.query(since: since, until: until) == #"SELECT * FROM "salespro"."customers" WHERE "updated_at" >= TIMESTAMP '2024-03-01 00:00:00.000' AND "updated_at" < TIMESTAMP '2024-03-02 06:30:00.500' ORDER BY "updated_at", "id""#)
        #expect(stream.query(since: nil, until: until) == #"SELECT * FROM "salespro"."customers" ORDER BY "id""#)
    }
}
