import CallFeedCore
import CallFeedVendors
import Foundation
import HTTPClient

/// CleverTap's user profiles for one event (../shared/vendors/clevertap.md, seed 002): CleverTap
/// holds no calls, so its only list is `profiles`, loaded into `clevertap_profiles` keyed by
/// `objectId`, with `phone_e164` added so callers join to profiles (``CleverTapMapping``).
///
/// The export is CleverTap's 2-step cursor (§3):
/// 1. `POST {host}/1/profiles.json?batch_size=N` with `{"event_name", "from", "to"}` (days as
///    `YYYYMMDD` integers) answers only a cursor: the page is empty and names `.cursor(c)` next.
/// 2. `GET {host}/1/profiles.json?cursor=c` answers `records` and `next_cursor`; the list ends at
///    the first page without one (the seed's `cursor` key is read too, as CleverTap's Node
///    library does).
///
/// - Days: with `endDate` set the stream is a **full refresh** of `startDate`…`endDate` on every
///   run. Without it, it is **incremental**: `from` is the UTC day holding `since` (the high-water
///   mark minus the lookback, or the configured start; never before `startDate`), `to` the UTC day
///   holding the last instant before `until`. CleverTap matches profiles whose event happened in
///   those days, so a run re-reads the profiles active since the mark.
/// - "Not ready": a fresh cursor may answer `{"status":"fail", …}`; the same cursor is asked again
///   after ``notReadyDelay``, at most ``notReadyRetries`` times, then the run fails with a
///   ``PollError`` of kind `.vendor` quoting CleverTap's message.
/// - Expired cursor: a 4xx other than 401/403/429 on step 2 restarts the export from step 1 **once**
///   per list (the same days): the profiles already published are published again, which the
///   loader's upsert leaves unchanged (same revision), so nothing is lost or doubled; a second
///   refusal fails the run.
/// - Limits: CleverTap limits concurrency (3 download requests), not rate (§4). The poller reads one
///   request at a time; a 429 is retried by ``VendorClient`` with its backoff.
/// - Region: the host comes from ``regionHost(_:)`` unless `baseURL` is given (the sandbox, a proxy).
public struct CleverTapProfileStream: EntityStream {
    /// The operator's name for the source (config), named in error messages.
    public let name: String
    public let accountID: String
    public let passcode: String
    public let region: String
    /// `https://in1.api.clevertap.com` or a test server; overrides `region`.
    public let baseURL: String?
    public let eventName: String
    /// First day (`YYYYMMDD`); nil: the poller's start.
    public let startDate: String?
    /// Last day (`YYYYMMDD`); nil: incremental up to today.
    public let endDate: String?
    public let batchSize: Int
    /// Country for profile phone numbers written without a country code.
    public let defaultCountry: String
    /// How often a cursor that is "still processing" is asked again before the run fails.
    public var notReadyRetries: Int
    /// The wait before asking a "still processing" cursor again.
    public var notReadyDelay: Duration

    public let vendor = "clevertap"
    public let entity = "profiles"
    public var perAccount: Bool { false }
    public var isIncremental: Bool { endDate == nil }

    /// The regions with a documented host (§1); `eu1` is the default (`api.clevertap.com`).
    public static let regions = ["eu1", "in1", "sg1", "us1", "aps3", "mec1"]
    /// CleverTap's page size limit (§3).
    public static let maxBatchSize = 5000

    /// - Parameters:
    ///   - name: The source's name in the config.
    ///   - accountID: The project id (`X-CleverTap-Account-Id`).
    ///   - passcode: The passcode (`X-CleverTap-Passcode`).
    ///   - region: `eu1` (default), `in1`, `sg1`, `us1`, `aps3` or `mec1`.
    ///   - baseURL: Replaces the region's host (no trailing `/1`).
    ///   - eventName: The event whose users are exported (`App Launched`).
    ///   - startDate: First day, `YYYYMMDD`.
    ///   - endDate: Last day, `YYYYMMDD`; nil makes the stream incremental.
    ///   - batchSize: Records per page, 1…5000; CleverTap advises multiples of 23 (4991 = 217 × 23).
    ///   - defaultCountry: For phone numbers without a country code.
    ///   - notReadyRetries: Asks of a "still processing" cursor before failing.
    ///   - notReadyDelay: Wait between those asks.
    public init(name: String, accountID: String, passcode: String, region: String = "eu1", baseURL: String? = nil,
                eventName: String, startDate: String? = nil, endDate: String? = nil, batchSize: Int = 4991,
                defaultCountry: String = "US", notReadyRetries: Int = 5, notReadyDelay: Duration = .seconds(2)) {
        self.name = name; self.accountID = accountID; self.passcode = passcode; self.region = region
        self.baseURL = baseURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.eventName = eventName; self.startDate = startDate; self.endDate = endDate; self.batchSize = batchSize
        self.defaultCountry = defaultCountry; self.notReadyRetries = notReadyRetries; self.notReadyDelay = notReadyDelay
    }

    // MARK: - Configuration

    /// The API host of a region (§1): `in1.api.clevertap.com`, …, and `api.clevertap.com` for `eu1`
    /// (Europe, the default; its dashboard is `eu1`). Nil for a region CleverTap does not document
    /// (the seed's `sk1` included).
    public static func regionHost(_ region: String) -> String? {
        switch region.lowercased() {
        case "eu1", "": "api.clevertap.com"
        case "in1", "sg1", "us1", "aps3", "mec1": "\(region.lowercased()).api.clevertap.com"
        default: nil
        }
    }

    /// `https://<host>` for the region, or `baseURL` when given.
    public var endpoint: String {
        baseURL ?? "https://" + (Self.regionHost(region) ?? "api.clevertap.com")
    }

    /// Whether `text` is a real day written `YYYYMMDD`.
    public static func isDay(_ text: String) -> Bool { dayStart(text) != nil }

    /// Checks what the config can get wrong, before any request.
    /// - Throws: ``PollError`` of kind `.configuration` with a message naming the field.
    public func validate() throws(PollError) {
        func bad(_ message: String) -> PollError { PollError(.configuration, "CleverTap source \(name): \(message)") }
        if accountID.isEmpty { throw bad("account_id is required (the project id)") }
        if passcode.isEmpty { throw bad("passcode is required") }
        if eventName.isEmpty { throw bad("event_name is required (profiles are exported per event, e.g. App Launched)") }
        if baseURL == nil, Self.regionHost(region) == nil {
            throw bad("region \"\(region)\" is not one of \(Self.regions.joined(separator: ", ")) (or set base_url)")
        }
        if let baseURL, !(baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://")) {
            throw bad("base_url must start with http:// or https://, not \(baseURL)")
        }
        for (key, value) in [("start_date", startDate), ("end_date", endDate)] {
            if let value, !Self.isDay(value) { throw bad("\(key) must be a date written YYYYMMDD, not \(value)") }
        }
        if endDate != nil, startDate == nil { throw bad("start_date is required when end_date is set (a fixed range)") }
        if let startDate, let endDate, startDate > endDate { throw bad("start_date \(startDate) is after end_date \(endDate)") }
        if !(1...Self.maxBatchSize).contains(batchSize) { throw bad("batch_size must be 1 to \(Self.maxBatchSize), not \(batchSize)") }
    }

    /// The days asked for: `from` and `to` as `YYYYMMDD` integers.
    public func days(since: Timestamp?, until: Timestamp) -> (from: Int, to: Int) {
        let last = Self.day(until.millisecondsSinceEpoch - 1)
        if let endDate, let startDate, let to = Int(endDate), let from = Int(startDate) { return (from, to) }
        let configured = startDate.flatMap { Int($0) }
        let from: Int
        if let since {
            from = max(Self.day(since.millisecondsSinceEpoch), configured ?? 0)
        } else {
            from = configured ?? last
        }
        return (min(from, last), last)
    }

    // MARK: - Pages

    /// Step 1.
    public func firstPage(account: String?, since: Timestamp?, until: Timestamp) -> PageRequest { .number(1) }

    public func page(_ request: PageRequest, account: String?, since: Timestamp?, until: Timestamp,
                     client: VendorClient) throws(PollError) -> EntityPage {
        switch request {
        case .number:
            return EntityPage(records: [], next: .cursor(try startExport(since: since, until: until, client: client)))
        case .cursor(let text):
            let restarted = text.hasPrefix(Self.restartedMark)
            let cursor = restarted ? String(text.dropFirst(Self.restartedMark.count)) : text
            let body: JSONValue
            do {
                body = try fetch(cursor: cursor, client: client)
            } catch {
                switch error {
                case .failed(let failure):
                    throw failure
                case .rejected(let status, let message):
                    guard !restarted else {
                        throw PollError(.vendor, "CleverTap refused the export cursor again after starting over (HTTP \(status)): \(message.prefix(200))")
                    }
                    // Expired (or otherwise refused) cursor: the same export from step 1, once.
                    let fresh = try startExport(since: since, until: until, client: client)
                    return EntityPage(records: [], next: .cursor(Self.restartedMark + fresh))
                }
            }
            guard let records = body["records"]?.arrayValue else {
                throw PollError(.vendor, "CleverTap answered step 2 without a records list: \(body.excerpt())")
            }
            let next = body["next_cursor"]?.text ?? body["cursor"]?.text
            return EntityPage(records: records, next: next.map { .cursor((restarted ? Self.restartedMark : "") + $0) })
        case .url:
            throw PollError(.state, "CleverTap profiles are paged by cursor, not \(request)")
        }
    }

    public func object(from record: JSONValue, account: String?) throws(MappingError) -> EntityObject {
        let profile = try CleverTapMapping.profile(from: record, defaultCountry: defaultCountry)
        return EntityObject(id: profile.id, data: profile.data, sourceUpdatedAt: profile.lastSeen)
    }

    // MARK: - Requests

    /// Marks the cursors of an export started over after a refused cursor (not sent to CleverTap).
    static let restartedMark = "restarted~"

    var credentialName: String { "sources.clevertap[\(name)].account_id/poll.passcode (and the region)" }

    var headers: [(String, String)] {
        [("X-CleverTap-Account-Id", accountID), ("X-CleverTap-Passcode", passcode), ("Content-Type", "application/json"),
         ("Accept", "application/json")]
    }

    /// Step 1: the export's first cursor.
    /// - Throws: ``PollError``: `.credentials` on 401/403, `.vendor` when CleverTap refuses the query.
    public func startExport(since: Timestamp?, until: Timestamp, client: VendorClient) throws(PollError) -> String {
        let (from, to) = days(since: since, until: until)
        let body: JSONValue = .object(["event_name": .string(eventName), "from": .int(Int64(from)), "to": .int(Int64(to))])
        let response: HTTPClientResponse
        do {
            response = try client.send("POST", endpoint + "/1/profiles.json?batch_size=\(batchSize)", body: body.canonicalJSONBytes, headers: headers)
        } catch {
            throw PollError(error, credential: credentialName)
        }
        let answer = try Self.parse(response, step: "step 1")
        guard answer["status"]?.text == "success", let cursor = answer["cursor"]?.text else {
            throw PollError(.vendor, "CleverTap refused the export of \(eventName) \(from)..\(to): \(Self.message(answer))")
        }
        return cursor
    }

    private enum CursorFailure: Error {
        case rejected(Int, String)
        case failed(PollError)
    }

    /// Step 2, asking a "not ready" cursor again a few times.
    private func fetch(cursor: String, client: VendorClient) throws(CursorFailure) -> JSONValue {
        let url = endpoint + "/1/profiles.json?cursor=" + VendorRequests.encode(cursor)
        var attempt = 0
        while true {
            let response: HTTPClientResponse
            do {
                response = try client.get(url, headers: headers)
            } catch {
                if case .rejected(let status, let body) = error { throw .rejected(status, body) }
                throw .failed(PollError(error, credential: credentialName))
            }
            let answer: JSONValue
            do { answer = try Self.parse(response, step: "step 2") } catch { throw .failed(error) }
            if answer["status"]?.text != "fail" { return answer }
            attempt += 1
            guard attempt <= notReadyRetries else {
                throw .failed(PollError(.vendor, "CleverTap's export cursor was still not ready after \(attempt) tries: \(Self.message(answer))"))
            }
            Thread.sleep(forTimeInterval: notReadyDelay.timeInterval)
        }
    }

    private static func parse(_ response: HTTPClientResponse, step: String) throws(PollError) -> JSONValue {
        do { return try JSONValue.parse(response.body) } catch { throw PollError(.vendor, "CleverTap answered \(step) with \(error)") }
    }

    private static func message(_ answer: JSONValue) -> String {
        let text = answer["error"]?.text ?? String(describing: answer).prefix(200).description
        return answer["code"]?.text.map { "\(text) (code \($0))" } ?? text
    }

    // MARK: - Days

    /// `YYYYMMDD` of the UTC day holding the instant.
    static func day(_ milliseconds: Int64) -> Int {
        let c = Timestamp(millisecondsSinceEpoch: milliseconds).utcComponents
        return c.year * 10_000 + c.month * 100 + c.day
    }

    /// Start (UTC) of a `YYYYMMDD` day; nil when it is not one.
    static func dayStart(_ text: String) -> Timestamp? {
        guard text.count == 8, text.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(text) else { return nil }
        return Timestamp(year: n / 10_000, month: n / 100 % 100, day: n % 100)
    }
}
