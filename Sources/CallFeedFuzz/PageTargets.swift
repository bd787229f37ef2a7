import CallFeedCore
import AWSSigV4
import CallFeedPoll
import CallFeedSQLPoll
import CallFeedVendors
import HTTPClient

/// Targets on the polling side: every vendor's call page, entity pages and account list, read
/// through the source's own `page`/`accounts` code from a ``PageServer``, then every record
/// mapped as the pollers map it (call content, or an entity record that must `validate()`).
enum PageTargets {
    /// The window every page is asked for: 2024-05-13T00:00Z to 2024-05-15T00:00Z (two days, so
    /// JustCall's day-by-day analytics walk past a day).
    static let from = Timestamp(secondsSinceEpoch: 1_715_558_400)
    static let until = Timestamp(secondsSinceEpoch: 1_715_731_200)

    static func all(server: PageServer) -> [FuzzTarget] {
        // One client for every target: a run is single-threaded, and keep-alive keeps it fast.
        // An unlimited 1 ms window rather than no window: with `windows: []` the limiter never
        // prunes its start history, which grew by one per request and slowed a 1M run by half.
        let unlimited = RateLimiter.Window(limit: .max, period: .milliseconds(1))
        let client = VendorClient(http: HTTPClient(connectTimeoutSeconds: 5, totalTimeoutSeconds: 30),
                                  limiter: RateLimiter(windows: [unlimited]), retry: RetryPolicy(maxRetries: 0))
        let base = server.baseURL
        let ctm = CTMCallSource(name: "fuzz", baseURL: base, accessKey: "key", secretKey: "secret", accountIDs: ["12345"])
        let callKeeper = CallKeeperCallSource(name: "fuzz", baseURL: base, apiKey: "key", accountID: "12345", timeZone: "Europe/Moscow")
        let callRail = CallRailCallSource(name: "fuzz", baseURL: base, apiKey: "key", accountIDs: ["123456789"])
        let callRailRelative = CallRailCallSource(name: "fuzz", baseURL: base, apiKey: "key", accountIDs: ["123456789"], pagination: .relative)
        let justCall = JustCallCallSource(name: "fuzz", baseURL: base, apiKey: "key", apiSecret: "secret", accountID: "12345")
        let box = ClientBox(client: client, server: server)

        var targets: [FuzzTarget] = [
            calls("page.ctm.calls", "page.ctm.calls", ctm, box),
            calls("page.callkeeper.calls", "page.callkeeper.calls", callKeeper, box),
            calls("page.callrail.calls", "page.callrail.calls", callRail, box),
            calls("page.callrail.calls-relative", "page.callrail.calls", callRailRelative, box),
            calls("page.justcall.calls", "page.justcall.calls", justCall, box),
            accounts("page.ctm.accounts-list", "page.ctm.entities", CTMCallSource(name: "fuzz", baseURL: base, accessKey: "key", secretKey: "secret"), box),
            accounts("page.callrail.accounts-list", "page.callrail.entities", CallRailCallSource(name: "fuzz", baseURL: base, apiKey: "key"), box),
        ]
        targets += CTMEntityStream.Kind.allCases.map { entities("page.ctm.\($0.rawValue)", "page.ctm.entities", CTMEntityStream(calls: ctm, kind: $0), box) }
        targets += CallRailEntityStream.Kind.allCases.map {
            entities("page.callrail.\($0.rawValue)", "page.callrail.entities", CallRailEntityStream(calls: callRail, kind: $0), box)
        }
        targets += JustCallEntityStream.Kind.allCases.map {
            entities("page.justcall.\($0.rawValue)", "page.justcall.entities", JustCallEntityStream(calls: justCall, kind: $0), box)
        }
        targets += newVendors(base: base, box: box)
        return targets
    }

    /// HubSpot, CleverTap and Five9. Their own pacing is off (HubSpot's 4 searches a second,
    /// Five9's 16 runReports a minute, CleverTap's and Five9's waits before a retry), or a run would
    /// sleep; the retries themselves still happen, answered by the same fuzzed body.
    static func newVendors(base: String, box: ClientBox) -> [FuzzTarget] {
        let hubSpot = HubSpotCallSource(name: "fuzz", baseURL: base, accessToken: "token", portalID: "12345",
                                        customDispositions: false, searchesPerSecond: nil)
        let hubSpotPortal = HubSpotCallSource(name: "fuzz", baseURL: base, accessToken: "token", portalID: "12345", searchesPerSecond: nil)
        let cleverTap = CleverTapProfileStream(name: "fuzz", accountID: "fuzz-project", passcode: "passcode", baseURL: base,
                                               eventName: "App Launched", notReadyRetries: 1, notReadyDelay: .zero)
        let unlimited = RateLimiter.Window(limit: .max, period: .milliseconds(1))
        let five9 = Five9CallSource(name: "fuzz", baseURL: base, username: "admin@example.com", password: "secret", domain: "12345",
                                    runReportLimits: [unlimited], pollInterval: .seconds(1), limitRetryDelay: .zero, maxLimitRetries: 1)

        var targets: [FuzzTarget] = [
            calls("page.hubspot.calls", "page.hubspot.calls", hubSpot, box),
            accounts("page.hubspot.accounts-list", "page.hubspot.dispositions", hubSpotPortal, box),
        ]
        for name in HubSpotEntityStream.standardNames + ["genius_users"] {
            let stream = HubSpotEntityStream.streams(calls: hubSpot, names: [name])[0]
            targets.append(entities("page.hubspot.\(name)", "page.hubspot.entities", stream, box) { input, server in
                switch name {
                // The calls list, then the association read of its ids: both get the input.
                case "call_contacts": server.serve([input, input])
                // A custom object: its property catalogue (fixed), then the list.
                case "genius_users": server.serve([input], routes: [.init(path: "/crm/v3/properties/", answer: hubSpotCatalogue)])
                default: server.serve([input])
                }
            })
        }
        // Step 1 answers a cursor (fixed), step 2 (the GET of that cursor, and its "not ready" retry) the input.
        targets.append(entities("page.clevertap.profiles", "page.clevertap.profiles", cleverTap, box, steps: 2) { input, server in
            server.serve([], routes: [.init(method: "POST", answer: cleverTapCursor), .init(method: "GET", answer: input)])
        })
        // runReport and isReportRunning answered (fixed), getReportResultCsv (and its retries) the input.
        targets.append(calls("page.five9.calls", "page.five9.calls", five9, box, tokens: ParserTargets.csvTokens) { input, server in
            server.serve([], routes: [
                .init(body: "<ser:runReport>", answer: five9RunReport),
                .init(body: "<ser:isReportRunning>", answer: five9NotRunning),
                .init(body: "<ser:getReportResultCsv>", answer: five9Result(input)),
            ])
        })
        // SalesPro's Athena: the query starts and succeeds (fixed answers), GetQueryResults answers the input.
        let athena = AthenaClient(region: "us-east-1", endpoint: base, credentials: AWSCredentials(accessKeyID: "AKIDFUZZ", secretAccessKey: "secret"),
                                  database: "salespro", pollInterval: .zero, maxThrottleRetries: 0)
        let salesPro = SalesProAthenaStream(table: SalesProAthenaStream.defaults[1], athena: athena)
        targets.append(entities("page.salespro.customers", "page.salespro.results", salesPro, box) { input, server in
            server.serve([], routes: [
                .init(body: "QueryString", answer: athenaStarted),
                .init(body: "MaxResults", answer: input),
                .init(body: "QueryExecutionId", answer: athenaSucceeded),
            ])
        })
        // The REST lists of seed 001's other systems: each page answers the input.
        targets.append(entities("page.leadconduit.events", "page.leadconduit.events",
                                LeadConduitEventStream(name: "fuzz", baseURL: base, apiKey: "key"), box))
        targets.append(entities("page.salesrabbit.leads", "page.salesrabbit.leads",
                                SalesRabbitStream(name: "fuzz", kind: .leads, baseURL: base, apiToken: "token"), box))
        targets.append(entities("page.arrivy.tasks", "page.arrivy.tasks",
                                ArrivyStream(name: "fuzz", kind: .tasks, baseURL: base, authKey: "key", authToken: "token"), box))
        // Google Sheets' values.get (a fixed token: the OAuth exchange is not what is fuzzed), keyed and dated.
        let sheets = GoogleSheetsStream(name: "fuzz", entity: "marketing_leads", spreadsheetID: "sheet", range: "Leads!A1:F", baseURL: base,
                                        timeZone: "America/Denver",
                                        mapping: GoogleSheetsMapping(keyColumns: ["Lead ID"], dateColumns: ["Created"], modifiedColumn: "Updated"),
                                        tokens: GoogleAccessTokens(accessToken: "ya29.fuzz"))
        targets.append(entities("page.google_sheets.values", "page.google_sheets.values", sheets, box))
        return targets
    }

    static let athenaStarted = Array(#"{"QueryExecutionId":"a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"}"#.utf8)
    static let athenaSucceeded = Array(#"{"QueryExecution":{"QueryExecutionId":"a1b2c3d4-5678-90ab-cdef-EXAMPLE11111","Status":{"State":"SUCCEEDED"}}}"#.utf8)
    static let hubSpotCatalogue = Array(#"{"results":[{"name":"name","type":"string"},{"name":"hs_lastmodifieddate","type":"datetime"}]}"#.utf8)
    static let cleverTapCursor = Array(#"{"status":"success","cursor":"AfljfgIJBgBnamF5Kz8NegcBAwxhbCQofz0JAAIMbm16AAECAAx6Y2w8KDxfBQZlNEZZAHxnYh44AAUCSA=="}"#.utf8)
    static let five9RunReport = Array(FuzzSeeds.five9Answer("runReport", "18f7a2b3c4d-18f6e5f4a00-18f73c1b7ff-9a8b7c6d").utf8)
    static let five9NotRunning = Array(FuzzSeeds.five9Answer("isReportRunning", "false").utf8)

    /// The `getReportResultCsv` answer for an input: the input itself when it is markup (starts
    /// with `<`), else the input as the CSV inside an answer (`&`, `<`, `>` escaped byte by byte,
    /// so invalid UTF-8 stays invalid).
    static func five9Result(_ input: [UInt8]) -> [UInt8] {
        if input.first == UInt8(ascii: "<") { return input }
        var text: [UInt8] = []
        text.reserveCapacity(input.count + 16)
        for byte in input {
            switch byte {
            case UInt8(ascii: "&"): text += Array("&amp;".utf8)
            case UInt8(ascii: "<"): text += Array("&lt;".utf8)
            case UInt8(ascii: ">"): text += Array("&gt;".utf8)
            default: text.append(byte)
            }
        }
        let envelope = FuzzSeeds.five9Answer("getReportResultCsv", "\u{0}")
        let split = envelope.split(separator: "\u{0}", omittingEmptySubsequences: false)
        return Array(split[0].utf8) + text + Array(split[1].utf8)
    }

    /// The client and server the page targets share.
    ///
    /// `@unchecked Sendable`: `VendorClient` is not thread-safe, and a ``Fuzzer`` runs its inputs
    /// one at a time on one thread; two fuzzers never share targets (each makes its own).
    final class ClientBox: @unchecked Sendable {
        let client: VendorClient
        let server: PageServer
        init(client: VendorClient, server: PageServer) { self.client = client; self.server = server }
    }

    /// `CallSource.page` on the input, then `content(of:)` for each record, as `CallPoller` does.
    /// - Parameters:
    ///   - tokens: The byte mutator's tokens for this target (nil: JSON's).
    ///   - serve: Sets the server's answers for an input (default: the input, to the first request).
    static func calls(_ name: String, _ seedKey: String, _ source: some CallSource, _ box: ClientBox, tokens: [String]? = nil,
                      serve: @escaping @Sendable ([UInt8], PageServer) -> Void = { $1.serve([$0]) }) -> FuzzTarget {
        FuzzTarget(name: name, seedKey: seedKey, tokens: tokens) { input, _ in
            serve(input, box.server)
            let page: CallPage
            do throws(PollError) { page = try source.page(source.firstPage, account: "12345", from: from, to: until, client: box.client) } catch {
                return refused(error)
            }
            var outcome = FuzzOutcome.accepted
            for record in page.records {
                do throws(MappingError) {
                    let content = try source.content(of: record, account: "12345")
                    if let broken = FuzzOutcome.checkPublishable(content, channel: .poll) { return .violation(broken) }
                    outcome.recordsMapped += 1
                } catch {
                    if error.reason.isEmpty { return .violation("a record refused without a reason (it would be dead-lettered without one)") }
                    outcome.recordsRefused += 1
                }
            }
            return outcome
        }
    }

    /// A page refused: a `PollError` that says why (the poller logs it and stops the run).
    static func refused(_ error: PollError) -> FuzzOutcome {
        error.reason.isEmpty ? .violation("a page refused without a reason (\(error.kind))") : .rejected("\(error)")
    }

    /// `CallSource.accounts` (the list walked when no account ids are configured).
    static func accounts(_ name: String, _ seedKey: String, _ source: some CallSource, _ box: ClientBox) -> FuzzTarget {
        FuzzTarget(name: name, seedKey: seedKey) { input, _ in
            box.server.serve([input])
            do throws(PollError) {
                let ids = try source.accounts(client: box.client)
                return FuzzOutcome(.accepted, recordsMapped: ids.count)
            } catch {
                return refused(error)
            }
        }
    }

    /// `EntityStream.page` on the input, then `object(from:)` and `EntityRecord.validate()` for
    /// each record, as `EntityPoller` does; a record that passes must survive the loader's decode.
    /// - Parameters:
    ///   - steps: Pages read, each from the `next` of the one before (CleverTap: step 1 gives only a
    ///     cursor, step 2 the records); the records of every page read are mapped.
    ///   - serve: Sets the server's answers for an input (default: the input, to the first request).
    static func entities(_ name: String, _ seedKey: String, _ stream: some EntityStream, _ box: ClientBox, steps: Int = 1,
                         serve: @escaping @Sendable ([UInt8], PageServer) -> Void = { $1.serve([$0]) }) -> FuzzTarget {
        FuzzTarget(name: name, seedKey: seedKey) { input, _ in
            serve(input, box.server)
            let account: String? = stream.perAccount ? "12345" : nil
            let since: Timestamp? = stream.isIncremental ? from : nil
            var records: [JSONValue] = []
            var request: PageRequest? = stream.firstPage(account: account, since: since, until: until)
            for _ in 0..<steps {
                guard let current = request else { break }
                do throws(PollError) {
                    let page = try stream.page(current, account: account, since: since, until: until, client: box.client)
                    records += page.records
                    request = page.next
                } catch {
                    return refused(error)
                }
            }
            var outcome = FuzzOutcome.accepted
            for raw in records {
                do {
                    let object = try stream.object(from: raw, account: account)
                    let record = EntityRecord(source: stream.vendor, entity: stream.entity, id: object.id, accountID: account,
                                              data: object.data, raw: raw, sourceUpdatedAt: object.sourceUpdatedAt,
                                              receivedAt: FuzzClock.now, channel: .poll)
                    try record.validate()
                    if let broken = FuzzOutcome.checkPublishable(record) { return .violation(broken) }
                    outcome.recordsMapped += 1
                } catch {
                    if "\(error)".isEmpty { return .violation("a record refused without a reason (it would be dead-lettered without one)") }
                    outcome.recordsRefused += 1
                }
            }
            return outcome
        }
    }
}
