import CallFeedCore
import CallFeedPoll
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
        return targets
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
    static func calls(_ name: String, _ seedKey: String, _ source: some CallSource, _ box: ClientBox) -> FuzzTarget {
        FuzzTarget(name: name, seedKey: seedKey) { input, _ in
            box.server.serve([input])
            let page: CallPage
            do { page = try source.page(source.firstPage, account: "12345", from: from, to: until, client: box.client) } catch {
                return .rejected("\(error)")
            }
            var outcome = FuzzOutcome.accepted
            for record in page.records {
                do {
                    let content = try source.content(of: record, account: "12345")
                    if let broken = FuzzOutcome.checkPublishable(content, channel: .poll) { return .violation(broken) }
                    outcome.recordsMapped += 1
                } catch {
                    outcome.recordsRefused += 1
                }
            }
            return outcome
        }
    }

    /// `CallSource.accounts` (the list walked when no account ids are configured).
    static func accounts(_ name: String, _ seedKey: String, _ source: some CallSource, _ box: ClientBox) -> FuzzTarget {
        FuzzTarget(name: name, seedKey: seedKey) { input, _ in
            box.server.serve([input])
            do {
                let ids = try source.accounts(client: box.client)
                return FuzzOutcome(.accepted, recordsMapped: ids.count)
            } catch {
                return .rejected("\(error)")
            }
        }
    }

    /// `EntityStream.page` on the input, then `object(from:)` and `EntityRecord.validate()` for
    /// each record, as `EntityPoller` does; a record that passes must survive the loader's decode.
    static func entities(_ name: String, _ seedKey: String, _ stream: some EntityStream, _ box: ClientBox) -> FuzzTarget {
        FuzzTarget(name: name, seedKey: seedKey) { input, _ in
            box.server.serve([input])
            let account: String? = stream.perAccount ? "12345" : nil
            let since: Timestamp? = stream.isIncremental ? from : nil
            let page: EntityPage
            do {
                page = try stream.page(stream.firstPage(account: account, since: since, until: until), account: account,
                                       since: since, until: until, client: box.client)
            } catch {
                return .rejected("\(error)")
            }
            var outcome = FuzzOutcome.accepted
            for raw in page.records {
                do {
                    let object = try stream.object(from: raw, account: account)
                    let record = EntityRecord(source: stream.vendor, entity: stream.entity, id: object.id, accountID: account,
                                              data: object.data, raw: raw, sourceUpdatedAt: object.sourceUpdatedAt,
                                              receivedAt: FuzzClock.now, channel: .poll)
                    try record.validate()
                    if let broken = FuzzOutcome.checkPublishable(record) { return .violation(broken) }
                    outcome.recordsMapped += 1
                } catch {
                    outcome.recordsRefused += 1
                }
            }
            return outcome
        }
    }
}
