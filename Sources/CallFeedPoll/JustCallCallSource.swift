import CallFeedCore
import CallFeedVendors
import Foundation
import HTTPClient

/// JustCall API v2.1 (../shared/vendors/justcall.md; seed 004): `GET /v2.1/calls` with
/// `from_datetime`/`to_datetime`, `sort=datetime&order=asc`, pages from **0**, at most 100 per page,
/// list envelope `data` / `next_page_link` (§2–3).
///
/// - Auth (§1): `Authorization: <api_key>:<api_secret>`, no scheme word and no Base64, plus
///   `Accept: application/json`. The seed's `api_key` header is refused by JustCall.
/// - Accounts: JustCall has none; one key pair reads one team, so ``accounts(client:)`` is the
///   configured ``accountID`` (our name for that team, `source_account_id` of the events).
/// - Dates (§2, §6): the filters are wall-clock times in the **API user's time zone**
///   (``userTimeZone``) while `call_date`/`call_time` in the records are UTC. The window [from, to)
///   is converted with Foundation's `TimeZone` (DST included); `to_datetime` is inclusive to the
///   second, so it names the last whole second before `to`. In a fall-back hour, where a wall time
///   means two instants, the bounds are widened by the difference so neither reading loses calls.
/// - Pages (§3): the last page is the one whose `next_page_link` is null or absent, or which holds
///   fewer records than `per_page`. The link itself is **never followed**: JustCall's links keep only
///   `page`, `per_page`, `sort` and `order` and drop the date filters, so every page's URL is built
///   here with the same filters and the next `page` number.
/// - No result cap is documented (`resultCap` nil); granularity is one second.
/// - Limits (§4): 30/60/90 requests a minute by plan; every response carries `X-Rate-Limit-*`,
///   which ``HTTPClient/VendorClient`` reads to pause before the budget runs out.
public struct JustCallCallSource: CallSource {
    public let vendor = "justcall"
    public let name: String
    public let baseURL: String
    public let apiKey: String
    public let apiSecret: String
    /// Our id of the team the key pair reads.
    public let accountID: String
    /// Records per page, 1...100 (JustCall's maximum).
    public let perPage: Int
    /// IANA id of the API user's time zone (JustCall profile setting): the zone of the date filters.
    public let userTimeZone: String
    public let defaultCountry: String
    public let firstPage = 0
    public let granularity = Duration.seconds(1)
    public let resultCap: Int? = nil

    public static let maxPerPage = 100

    public init(name: String, baseURL: String = "https://api.justcall.io", apiKey: String, apiSecret: String, accountID: String,
                perPage: Int = 100, userTimeZone: String = "America/Los_Angeles", defaultCountry: String = "US") {
        self.name = name; self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey; self.apiSecret = apiSecret; self.accountID = accountID
        self.perPage = max(1, min(perPage, Self.maxPerPage))
        self.userTimeZone = userTimeZone; self.defaultCountry = defaultCountry
    }

    /// The config keys named when JustCall refuses the key pair.
    var credentialName: String { "sources.justcall[\(name)].poll.api_key/api_secret" }

    var authHeaders: [(String, String)] {
        [("Authorization", "\(apiKey):\(apiSecret)"), ("Accept", "application/json")]
    }

    public func accounts(client: VendorClient) throws(PollError) -> [String] { [accountID] }

    public func page(_ number: Int, account: String, from: Timestamp, to: Timestamp, client: VendorClient) throws(PollError) -> CallPage {
        let clock = try userClock()
        let body = try getJSON("/v2.1/calls", [
            ("from_datetime", clock.lowerBound(from)), ("to_datetime", clock.upperBound(to)),
            ("sort", "datetime"), ("order", "asc"), ("page", String(number)), ("per_page", String(perPage)),
        ], client: client)
        let records = try Self.data(body, what: "calls")
        return CallPage(records: records, isLast: isLastPage(body, count: records.count))
    }

    /// `call_date`/`call_time` are UTC, so the context's zone is not used (JustCallMapping ignores it).
    public func content(of record: JSONValue, account: String) throws(MappingError) -> CallContent {
        try JustCallMapping.content(from: record, context: MappingContext(accountID: account, timeZone: "UTC", defaultCountry: defaultCountry))
    }

    // MARK: - Shared with JustCallEntityStream

    func userClock() throws(PollError) -> JustCallUserClock {
        guard let clock = JustCallUserClock(identifier: userTimeZone) else {
            throw PollError(.configuration, "unknown time zone \"\(userTimeZone)\": check sources.justcall[\(name)].poll.user_time_zone "
                + "(the API user's zone in JustCall, e.g. America/Los_Angeles)")
        }
        return clock
    }

    /// No page after this one: `next_page_link` null or absent, or fewer records than a page holds
    /// (JustCall's echoed `per_page`, else ours).
    func isLastPage(_ body: JSONValue, count: Int) -> Bool {
        let size = (body["per_page"]?.integer).map { Int($0) }.flatMap { $0 > 0 ? $0 : nil } ?? perPage
        return body["next_page_link"]?.text == nil || count < size
    }

    /// `GET {baseURL}{path}?{query}` with auth, parsed. 401/403 name the key pair.
    func getJSON(_ path: String, _ query: [(String, String)], client: VendorClient) throws(PollError) -> JSONValue {
        try VendorRequests.json(baseURL + path + "?" + VendorRequests.query(query), headers: authHeaders, client: client,
                                vendor: "JustCall", credential: credentialName)
    }

    /// The envelope's `data` list.
    static func data(_ body: JSONValue, what: String) throws(PollError) -> [JSONValue] {
        guard let records = body["data"]?.arrayValue else {
            throw PollError(.vendor, "JustCall answered without a `data` list of \(what): \(body.excerpt())")
        }
        return records
    }
}

/// Wall-clock texts in the JustCall API user's time zone: what `from_datetime`/`to_datetime`
/// (`yyyy-mm-dd hh:mm:ss`) and the analytics dates (`yyyy-mm-dd`) mean (justcall.md §2).
struct JustCallUserClock: Sendable {
    let zone: TimeZone
    private let calendar: Calendar

    init?(identifier: String) {
        guard let zone = TimeZone(identifier: identifier) else { return nil }
        self.zone = zone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        self.calendar = calendar
    }

    /// `from_datetime` for an inclusive lower bound: a wall time JustCall reads as `from` or earlier.
    func lowerBound(_ from: Timestamp) -> String {
        var s = from.secondsSinceEpoch
        // A fall-back hour: the same wall time also means an instant one hour later; step back.
        for _ in 0..<4 {
            guard let latest = readings(of: s).max(), latest > s else { break }
            s -= latest - s
        }
        return dateTime(s)
    }

    /// `to_datetime` (inclusive, to the second) for the exclusive end `to`: the last whole second
    /// before it, as a wall time JustCall reads as that second or later.
    func upperBound(_ to: Timestamp) -> String {
        var s = (to.millisecondsSinceEpoch - 1).floorDiv(1000)
        for _ in 0..<4 {
            guard let earliest = readings(of: s).min(), earliest < s else { break }
            s += s - earliest
        }
        return dateTime(s)
    }

    /// `yyyy-mm-dd hh:mm:ss` of the instant `seconds` on the user's clock.
    func dateTime(_ seconds: Int64) -> String {
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Self.date(seconds))
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }

    /// `yyyy-mm-dd`: the user's calendar day holding the instant `seconds`.
    func day(_ seconds: Int64) -> String {
        let c = calendar.dateComponents([.year, .month, .day], from: Self.date(seconds))
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    /// The calendar day after `day` (`yyyy-mm-dd`), nil when `day` is not a date.
    static func nextDay(_ day: String) -> String? {
        let parts = day.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, day.count == 10 else { return nil }
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC") ?? utc.timeZone
        guard let date = utc.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])),
              let next = utc.date(byAdding: .day, value: 1, to: date) else { return nil }
        let c = utc.dateComponents([.year, .month, .day], from: next)
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    /// Every instant (epoch seconds) whose wall time in the zone equals that of `seconds`: one,
    /// or two in a fall-back hour.
    func readings(of seconds: Int64) -> [Int64] {
        let wall = seconds + Int64(zone.secondsFromGMT(for: Self.date(seconds)))
        let offsets = Set([-43_200, 0, 43_200].map { Int64(zone.secondsFromGMT(for: Self.date(seconds + $0))) })
        return offsets.map { wall - $0 }.filter { Int64(zone.secondsFromGMT(for: Self.date($0))) == wall - $0 }
    }

    private static func date(_ seconds: Int64) -> Date { Date(timeIntervalSince1970: TimeInterval(seconds)) }
}

extension Int64 {
    /// Division rounding toward negative infinity.
    fileprivate func floorDiv(_ divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}
