import CallFeedCore
import CallFeedVendors
import Foundation
import HTTPClient

/// Five9 call logs through the Configuration Web Services (SOAP 1.1, ../shared/vendors/five9.md):
/// HTTP Basic auth of an administrator, `POST {baseURL}/wsadmin/{apiVersion}/AdminWebService`.
///
/// One window = one report run = one page: `runReport(folderName, reportName, criteria{time})` →
/// identifier; `isReportRunning(identifier, timeout)` until false; `getReportResultCsv(identifier)`
/// → CSV, grouped by `CALL ID` into one record per call (``Five9Mapping/records(header:rows:)``),
/// so a bad row dead-letters only its call. `totalRecords` is the number of CSV rows, so a window
/// holding more than ``resultCap`` rows is split by the poller (Five9 stops at 50,000).
///
/// The criteria are the window's bounds as xsd:dateTime in ``reportTimeZone``'s offset at that
/// instant (`2024-05-14T00:00:00.000-07:00`), start inclusive and end = `to` − 1 ms inclusive, so
/// adjacent windows neither overlap nor leave a gap.
///
/// Limits (§3): every runReport first waits for this source's own ``runReportLimiter`` (16/min,
/// 120/h, 800/day by default, each period padded by one second so that a server window starting a
/// moment after ours cannot see one report too many), in addition to the client's limiter. A fault
/// whose faultstring says a limit was exceeded (`limit` with `exceed`/`reached`) waits until the next
/// minute boundary (or ``limitRetryDelay``) and retries, at most ``maxLimitRetries`` times; other
/// faults (unknown report or folder, bad criteria) are permanent: ``PollError`` `.vendor` with the
/// faultstring. A 500 that is not a SOAP fault (a gateway page) is retried like any 5xx.
public struct Five9CallSource: CallSource {
    public let vendor = "five9"
    public let name: String
    public let baseURL: String
    public let apiVersion: String
    public let username: String
    public let password: String
    /// The Five9 domain: the account id of every event.
    public let domain: String
    public let folderName: String
    public let reportName: String
    public let defaultCountry: String
    /// IANA zone of the report's `TIMESTAMP`s and of the criteria (Five9: Pacific time).
    public let reportTimeZone: String
    /// The `timeout` sent with `isReportRunning`, and the least time between two of them.
    public let pollInterval: Duration
    /// How long a report may run before the poll gives up.
    public let maxReportWait: Duration
    /// Wait after a limit fault: nil waits until the next minute boundary (Five9 counts per clock
    /// minute/hour/day, §3).
    public let limitRetryDelay: Duration?
    public let maxLimitRetries: Int
    /// The source's own runReport budget, shared by every poll through this value.
    public let runReportLimiter: RateLimiter
    public let firstPage = 1
    /// Report criteria are date-times: a minute is the finest split worth making.
    public let granularity = Duration.seconds(60)
    /// Below Five9's 50,000 rows per result, with room for multi-row calls.
    public let resultCap: Int?

    /// - Parameters:
    ///   - runReportLimits: Windows of the source's own runReport limiter (Five9's defaults, §3).
    ///   - runReportHistory: Where that limiter keeps its request times across restarts (nil: memory).
    ///   - pollInterval: `isReportRunning`'s `timeout` (whole seconds, at least 1) and the least time
    ///     between two checks of one report.
    public init(name: String, baseURL: String = "https://api.five9.com", apiVersion: String = "v13", username: String, password: String,
                domain: String, folderName: String = "Call Log Reports", reportName: String = "Call Log", defaultCountry: String = "US",
                reportTimeZone: String = "America/Los_Angeles",
                runReportLimits: [RateLimiter.Window] = [.perMinute(16), .perHour(120), .perDay(800)],
                pollInterval: Duration = .seconds(5), runReportHistory: (any RateLimitHistory)? = nil,
                maxReportWait: Duration = .seconds(1800), limitRetryDelay: Duration? = nil, maxLimitRetries: Int = 5,
                resultCap: Int = 40_000) {
        self.name = name
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiVersion = apiVersion; self.username = username; self.password = password; self.domain = domain
        self.folderName = folderName; self.reportName = reportName; self.defaultCountry = defaultCountry
        self.reportTimeZone = reportTimeZone; self.pollInterval = pollInterval; self.maxReportWait = maxReportWait
        self.limitRetryDelay = limitRetryDelay; self.maxLimitRetries = maxLimitRetries; self.resultCap = resultCap
        let padded = runReportLimits.map { RateLimiter.Window(limit: $0.limit, period: $0.period + .seconds(1)) }
        self.runReportLimiter = RateLimiter(windows: padded, history: runReportHistory)
    }

    /// `…/wsadmin/v13/AdminWebService`.
    public var endpoint: String { "\(baseURL)/wsadmin/\(apiVersion)/AdminWebService" }

    var credential: String { "sources.five9[\(name)].poll.username/password" }

    public func accounts(client: VendorClient) throws(PollError) -> [String] { [domain] }

    public func page(_ number: Int, account: String, from: Timestamp, to: Timestamp, client: VendorClient) throws(PollError) -> CallPage {
        let end = Timestamp(millisecondsSinceEpoch: max(from.millisecondsSinceEpoch, to.millisecondsSinceEpoch - 1))
        let criteria = "<criteria><time><end>\(try dateTime(end))</end><start>\(try dateTime(from))</start></time></criteria>"
        let identifier = try call("runReport", "<folderName>\(XML.escape(folderName))</folderName>"
                                  + "<reportName>\(XML.escape(reportName))</reportName>" + criteria,
                                  limiter: runReportLimiter, client: client).text
        guard !identifier.isEmpty else { throw PollError(.vendor, "Five9 runReport returned no identifier") }

        let timeoutSeconds = max(1, pollInterval.components.seconds)
        let started = ContinuousClock.now
        while true {
            let asked = ContinuousClock.now
            let running = try call("isReportRunning", "<identifier>\(XML.escape(identifier))</identifier><timeout>\(timeoutSeconds)</timeout>",
                                   client: client).text
            guard running == "true" else {
                guard running == "false" else { throw PollError(.vendor, "Five9 isReportRunning answered \"\(running.prefix(50))\", not true/false") }
                break
            }
            guard ContinuousClock.now - started < maxReportWait else {
                throw PollError(.vendor, "Five9 report \(identifier) still running after \(maxReportWait)")
            }
            // Five9 long-polls up to `timeout`; a server that answers early is not asked again sooner.
            let rest = pollInterval - (ContinuousClock.now - asked)
            if rest > .zero { Thread.sleep(forTimeInterval: rest.timeInterval) }
        }

        let csv = try call("getReportResultCsv", "<identifier>\(XML.escape(identifier))</identifier>", client: client).text
        let table: [[String]]
        do { table = try CSV.parse(csv) } catch { throw PollError(.vendor, "Five9 report \(identifier): \(error)") }
        guard let header = table.first else { return CallPage(records: [], isLast: true, totalRecords: 0) }
        let rows = Array(table.dropFirst())
        return CallPage(records: Five9Mapping.records(header: header, rows: rows), isLast: true, totalRecords: rows.count)
    }

    public func content(of record: JSONValue, account: String) throws(MappingError) -> CallContent {
        try Five9Mapping.content(from: record, context: MappingContext(accountID: account, timeZone: reportTimeZone, defaultCountry: defaultCountry))
    }

    // MARK: - SOAP

    /// A SOAP fault Five9 answered.
    struct Fault: Sendable {
        var code: String
        var message: String
        /// Five9 refused the request for a per-operation limit (§3), not for what it asked.
        var isLimit: Bool {
            let text = message.lowercased()
            return text.contains("limit") && (text.contains("exceed") || text.contains("reached"))
        }
    }

    /// Sends one operation and returns its `<return>` element (an empty one when absent).
    /// - Throws: ``PollError`` `.credentials` for 401/403, `.vendor` for a permanent fault, an
    ///   answer that is not SOAP, or limits/transport still failing after the retries.
    func call(_ operation: String, _ parameters: String, limiter: RateLimiter? = nil, client: VendorClient) throws(PollError) -> XML.Element {
        let body = Array(("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
            + "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:ser=\"http://service.admin.ws.five9.com/\">"
            + "<soapenv:Header/><soapenv:Body><ser:\(operation)>\(parameters)</ser:\(operation)></soapenv:Body></soapenv:Envelope>").utf8)
        let headers = [
            ("Authorization", "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()),
            ("Content-Type", "text/xml; charset=UTF-8"), ("SOAPAction", "\"\""),
        ]
        var limitRetries = 0
        var serverErrors = 0
        while true {
            limiter?.acquire()
            let response: HTTPClientResponse
            do {
                // 500 is taken as an answer: SOAP faults come with it and most are not worth retrying.
                response = try client.send("POST", endpoint, body: body, headers: headers,
                                           acceptStatus: { (200..<300).contains($0) || $0 == 500 })
            } catch {
                throw PollError(error, credential: credential)
            }
            let envelope: XML.Element?
            var unreadable: XML.ParseError?
            do { envelope = try XML.parse(response.body) } catch { envelope = nil; unreadable = error }
            let answer = envelope?[path: "Body"]?.children.first
            if let answer, answer.name == "Fault" {
                let fault = Fault(code: answer.child("faultcode")?.text ?? "", message: answer.child("faultstring")?.text ?? "")
                guard fault.isLimit else {
                    throw PollError(.vendor, "Five9 \(operation) fault (\(fault.code)): \(fault.message)")
                }
                guard limitRetries < maxLimitRetries else {
                    throw PollError(.vendor, "Five9 \(operation): still over the limit after \(maxLimitRetries) retries: \(fault.message)")
                }
                limitRetries += 1
                Thread.sleep(forTimeInterval: (limitRetryDelay ?? Self.untilNextMinute()).timeInterval)
                continue
            }
            guard response.status == 200, let answer, envelope?.name == "Envelope" else {
                if response.status == 500, serverErrors < client.retry.maxRetries {
                    Thread.sleep(forTimeInterval: min(client.retry.initialDelay * (1 << serverErrors), client.retry.maxDelay).timeInterval)
                    serverErrors += 1
                    continue
                }
                throw PollError(.vendor, "Five9 \(operation) answered HTTP \(response.status) without a SOAP body"
                    + (unreadable.map { " (\($0))" } ?? "") + ": " + String(response.bodyText.prefix(200)))
            }
            guard answer.name == "\(operation)Response" else {
                throw PollError(.vendor, "Five9 \(operation) answered <\(answer.name)>, not <\(operation)Response>")
            }
            return answer.child("return") ?? XML.Element(name: "return")
        }
    }

    /// `2024-05-14T00:00:00.000-07:00`: the instant in the report zone's offset at that instant.
    func dateTime(_ instant: Timestamp) throws(PollError) -> String {
        guard let zone = TimeZone(identifier: reportTimeZone) else {
            throw PollError(.configuration, "unknown time zone \"\(reportTimeZone)\" (sources.five9[\(name)].poll.report_time_zone)")
        }
        let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant.millisecondsSinceEpoch) / 1000))
        let f = Timestamp(millisecondsSinceEpoch: instant.millisecondsSinceEpoch + Int64(offset) * 1000).utcComponents
        let sign = offset < 0 ? "-" : "+"
        let minutes = abs(offset) / 60
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03d%@%02d:%02d", f.year, f.month, f.day, f.hour, f.minute, f.second,
                      f.millisecond, sign, minutes / 60, minutes % 60)
    }

    static func untilNextMinute() -> Duration {
        let ms = Int64(Date().timeIntervalSince1970 * 1000)
        return .milliseconds(60_000 - ms % 60_000 + 500)
    }
}
