import CallFeedCore
import Foundation
import HTTPServer

/// Five9 Configuration Web Services (SOAP 1.1) under `/five9` (`vendors/five9.md`): the
/// asynchronous report flow that call logs come from.
///
/// - `POST /wsadmin/<version>/AdminWebService` (v2 … v14, `v9_5`, `v10_2`; also without a version),
///   `text/xml`, body namespace `http://service.admin.ws.five9.com/` (§1).
/// - Auth: `Authorization: Basic base64(user:password)` of the domain's administrator (§1); anything
///   else is a 401 with `WWW-Authenticate` and no SOAP body.
/// - `runReport(folderName, reportName, criteria{time{start,end}})` → `<return>` an identifier. Only
///   `Call Log Reports` / `Call Log` exist; another name is a permanent fault. Criteria are xsd
///   dateTimes; without an offset they are read as Pacific time (§2). Both ends inclusive.
/// - `isReportRunning(identifier, timeout)` → `true` until ``SandboxConfiguration/five9ReportDelay``
///   after the runReport, then `false`; it answers at once (no long poll) [I].
/// - `getReportResultCsv(identifier)` → the Call Log as CSV (§5), `getReportResult(identifier)` →
///   `reportRowData` (header + records); both a fault while the report still runs [I].
/// - `getCallCountersState()` → the per-operation limits (§3) as `limitTimeoutState`.
/// - The identifier is stateless: creation time, criteria and a checksum over them and the domain,
///   so a restarted sandbox still knows it and another domain's or an invented one is a fault.
/// - Faults: HTTP 500 with `soap:Fault` (`faultcode`, `faultstring`, `detail`) (§4). A body that is
///   not a SOAP envelope, an unknown operation or a bad parameter: `soap:Client`.
/// - Limits per operation type (§3), fixed windows as everywhere in the sandbox: `runReport`
///   16/min + 120/h + 800/day (`five9/runReport`), `getReportResult(Csv)` 20/min + 200/h + 1,000/day
///   (`five9/getReportResult`), other `get*`/`is*` 450/min + 15,000/h + 172,800/day (`five9/query`),
///   each overridable in ``SandboxConfiguration/operationRateLimits``. Over a limit: a `soap:Server`
///   fault whose faultstring starts `Request limit exceeded` [I: wording not documented]; no
///   `Retry-After`.
struct Five9API: VendorAPI {
    let vendor = SandboxVendor.five9
    static let namespace = "http://service.admin.ws.five9.com/"
    static let soapNamespace = "http://schemas.xmlsoap.org/soap/envelope/"
    static let folderName = "Call Log Reports"
    static let reportName = "Call Log"
    static let pacific = "America/Los_Angeles"
    static let versions: Set<String> = Set((2...14).map { "v\($0)" } + ["v9_5", "v10_2"])

    // MARK: - Auth and errors

    func authenticate(_ request: APIRequest, context: VendorContext) -> Result<VendorAccess, RefusedRequest> {
        let header = request.header("Authorization") ?? ""
        guard let account = context.dataset.accounts.first(where: { $0.credential.authorization == header }) else {
            return .failure(RefusedRequest(response: HTTPResponse(
                status: 401, headers: [("Content-Type", "text/html;charset=utf-8"), ("WWW-Authenticate", "Basic realm=\"Five9\"")],
                body: Array("<html><body><h1>HTTP Status 401 - Unauthorized</h1></body></html>".utf8))))
        }
        return .success(VendorAccess(accountIDs: [account.id]))
    }

    /// Over a per-operation limit (or a vendor limit a test set): Five9 answers a SOAP fault, not a 429.
    func tooManyRequests(retryAfterSeconds: Int?) -> HTTPResponse {
        fault(.server, "Request limit exceeded: too many requests of this operation type for the domain in the current "
              + "minute, hour or day", detail: "RequestLimitExceededFault")
    }

    func operationLimit(for request: APIRequest, configuration: SandboxConfiguration) -> (operation: String, limit: SandboxRateLimit)? {
        guard let operation = (try? XML.parse(request.http.body))?[path: "Body"]?.children.first?.name else { return nil }
        let (key, defaultLimit): (String, SandboxRateLimit)
        switch operation {
        case "runReport":
            (key, defaultLimit) = ("runReport", SandboxRateLimit(windows: [.perMinute(16), .perHour(120), .perDay(800)], sendsRetryAfter: false))
        case "getReportResult", "getReportResultCsv":
            (key, defaultLimit) = ("getReportResult", SandboxRateLimit(windows: [.perMinute(20), .perHour(200), .perDay(1000)], sendsRetryAfter: false))
        default:
            (key, defaultLimit) = ("query", SandboxRateLimit(windows: [.perMinute(450), .perHour(15_000), .perDay(172_800)], sendsRetryAfter: false))
        }
        return (key, configuration.operationRateLimits["five9/\(key)"] ?? defaultLimit)
    }

    enum FaultCode: String { case client = "soap:Client", server = "soap:Server" }

    /// A SOAP 1.1 fault, HTTP 500 (§4).
    func fault(_ code: FaultCode, _ message: String, detail: String = "WrongParameterFault") -> HTTPResponse {
        let escaped = XML.escape(message)
        let body = "<soap:Fault><faultcode>\(code.rawValue)</faultcode><faultstring>\(escaped)</faultstring>"
            + "<detail><ns2:\(detail) xmlns:ns2=\"\(Self.namespace)\"><message>\(escaped)</message></ns2:\(detail)></detail></soap:Fault>"
        return envelope(status: 500, body)
    }

    /// `<operation>Response><return>…</return></…>` inside an envelope, HTTP 200.
    func answer(_ operation: String, returning content: String) -> HTTPResponse {
        answer(operation, inner: "<return>\(content)</return>")
    }

    /// The response element with `inner` as its content (several `<return>`s, or none).
    func answer(_ operation: String, inner: String) -> HTTPResponse {
        envelope(status: 200, "<ns2:\(operation)Response xmlns:ns2=\"\(Self.namespace)\">\(inner)</ns2:\(operation)Response>")
    }

    func envelope(status: Int, _ body: String) -> HTTPResponse {
        let text = "<soap:Envelope xmlns:soap=\"\(Self.soapNamespace)\"><soap:Body>\(body)</soap:Body></soap:Envelope>"
        return HTTPResponse(status: status, headers: [("Content-Type", "text/xml;charset=UTF-8")], body: Array(text.utf8))
    }

    // MARK: - Routes

    func respond(to request: APIRequest, access: VendorAccess, context: VendorContext) -> HTTPResponse {
        let segments = request.path.split(separator: "/").map(String.init)
        let known = segments == ["wsadmin", "AdminWebService"]
            || (segments.count == 3 && segments[0] == "wsadmin" && Self.versions.contains(segments[1]) && segments[2] == "AdminWebService")
        guard known else { return .text(404, "Not Found") }
        guard request.method == "POST" else { return .text(405, "Method Not Allowed: SOAP requests are POSTs") }
        guard let account = access.accountIDs.first.flatMap(context.dataset.account) else { return fault(.client, "no domain") }
        let envelope: XML.Element
        do {
            envelope = try XML.parse(request.http.body)
        } catch {
            return fault(.client, "Unmarshalling Error: \(error.reason)", detail: "UnmarshallingFault")
        }
        guard envelope.name == "Envelope", let operation = envelope.child("Body")?.children.first else {
            return fault(.client, "Unmarshalling Error: not a SOAP envelope with a Body", detail: "UnmarshallingFault")
        }
        func parameter(_ name: String) -> String? {
            operation.child(name).map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        switch operation.name {
        case "runReport":
            return runReport(operation, account: account, context: context)
        case "isReportRunning":
            switch report(parameter("identifier"), account: account, context: context) {
            case .failure(let refusal): return refusal.response
            case .success(let run): return answer("isReportRunning", returning: run.isRunning(at: context.now) ? "true" : "false")
            }
        case "getReportResultCsv", "getReportResult":
            let run: ReportRun
            switch report(parameter("identifier"), account: account, context: context) {
            case .failure(let refusal): return refusal.response
            case .success(let r): run = r
            }
            guard !run.isRunning(at: context.now) else { return fault(.client, "Report is still running: \(run.identifier)") }
            let rows = reportRows(account: account, run: run, context: context)
            if operation.name == "getReportResultCsv" {
                return answer("getReportResultCsv", returning: XML.escape(CSV.write([Self.columns] + rows)))
            }
            func values(_ cells: [String]) -> String { "<values>" + cells.map { "<data>\(XML.escape($0))</data>" }.joined() + "</values>" }
            return answer("getReportResult", returning: "<header>\(values(Self.columns))</header>"
                          + rows.map { "<records>\(values($0))</records>" }.joined())
        case "getCallCountersState":
            return answer("getCallCountersState", inner: callCounters(context.configuration))
        default:
            return fault(.client, "Cannot find dispatch method for {\(Self.namespace)}\(operation.name)", detail: "UnmarshallingFault")
        }
    }

    // MARK: - Report runs

    /// What an identifier stands for.
    struct ReportRun {
        var identifier: String
        var created: Int64
        var start: Int64
        var end: Int64
        var delay: Int64
        func isRunning(at now: Timestamp) -> Bool { now.millisecondsSinceEpoch < created + delay }
    }

    private func runReport(_ operation: XML.Element, account: SandboxAccount, context: VendorContext) -> HTTPResponse {
        func value(_ element: XML.Element?) -> String? {
            element.map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let folder = value(operation.child("folderName")), let name = value(operation.child("reportName")) else {
            return fault(.client, "folderName and reportName are required")
        }
        guard folder == Self.folderName, name == Self.reportName else {
            return fault(.server, "Report \"\(name)\" not found in folder \"\(folder)\"", detail: "ObjectNotFoundFault")
        }
        let time = operation[path: "criteria", "time"]
        guard let startText = value(time?.child("start")), let endText = value(time?.child("end")) else {
            return fault(.client, "criteria.time.start and criteria.time.end are required")
        }
        guard let start = Self.dateTime(startText), let end = Self.dateTime(endText) else {
            return fault(.client, "criteria.time: \"\(startText)\" / \"\(endText)\" are not xsd:dateTime values")
        }
        guard start <= end else { return fault(.client, "criteria.time.start is after criteria.time.end") }
        let created = context.now.millisecondsSinceEpoch
        let fields = [created, start.millisecondsSinceEpoch, end.millisecondsSinceEpoch]
        let identifier = fields.map { String($0, radix: 16) }.joined(separator: "-") + "-"
            + String(checksum(fields, account: account, seed: context.configuration.seed), radix: 16)
        return answer("runReport", returning: identifier)
    }

    private func checksum(_ fields: [Int64], account: SandboxAccount, seed: UInt64) -> UInt64 {
        stableHash("\(seed)|\(account.id)|" + fields.map(String.init).joined(separator: "|")) & 0xFFFF_FFFF
    }

    /// The run an identifier names, if it is one of ours for this domain.
    private func report(_ identifier: String?, account: SandboxAccount, context: VendorContext) -> Result<ReportRun, RefusedRequest> {
        let unknown = RefusedRequest(response: fault(.client, "Report result not found for identifier \"\(identifier ?? "")\"",
                                                     detail: "ReportNotFoundFault"))
        guard let identifier else { return .failure(unknown) }
        let parts = identifier.split(separator: "-").map { Int64($0, radix: 16) }
        guard parts.count == 4, parts.allSatisfy({ $0 != nil }) else { return .failure(unknown) }
        let fields = parts.prefix(3).map { $0 ?? 0 }
        guard UInt64(parts[3] ?? -1) == checksum(Array(fields), account: account, seed: context.configuration.seed) else {
            return .failure(unknown)
        }
        return .success(ReportRun(identifier: identifier, created: fields[0], start: fields[1], end: fields[2],
                                  delay: RateLimiterMath.milliseconds(context.configuration.five9ReportDelay)))
    }

    /// The Call Log rows of the domain's calls that started in [start, end] (inclusive), oldest first.
    private func reportRows(account: SandboxAccount, run: ReportRun, context: VendorContext) -> [[String]] {
        let calls = (context.dataset.calls[account.id] ?? []).filter {
            $0.startedAt.millisecondsSinceEpoch >= run.start && $0.startedAt.millisecondsSinceEpoch <= run.end
        }.sorted(by: VendorDataset.chronological)
        return calls.flatMap { call in
            (call.record["rows"]?.arrayValue ?? []).map { row in
                Self.columns.map { column in
                    if case .string(let cell)? = row[column] { return cell }
                    return row[column]?.text ?? ""
                }
            }
        }
    }

    /// An xsd:dateTime; without an offset, Pacific time (`five9.md` §2).
    static func dateTime(_ text: String) -> Timestamp? {
        guard text.count >= 19, let rough = Timestamp.parseISO8601(text, defaultUTCOffsetSeconds: 0) else { return nil }
        let offset = CivilTime.offsetSeconds(zone: pacific, at: rough) ?? -7 * 3600
        return Timestamp.parseISO8601(text, defaultUTCOffsetSeconds: offset)
    }

    /// `limitTimeoutState` per window length, with each operation type's limit (§3).
    private func callCounters(_ configuration: SandboxConfiguration) -> String {
        let types: [(String, String)] = [("ReportRequest", "runReport"), ("RetrieveReport", "getReportResult"), ("Query", "query")]
        let defaults: [String: [Int]] = ["runReport": [16, 120, 800], "getReportResult": [20, 200, 1000], "query": [450, 15_000, 172_800]]
        var out = ""
        for (n, seconds) in [60, 3600, 86_400].enumerated() {
            out += "<return><timeout>\(seconds)</timeout>"
            for (type, key) in types {
                let window = configuration.operationRateLimits["five9/\(key)"]?.windows.first { $0.period == .seconds(seconds) }
                let limit = window?.limit ?? defaults[key]?[n] ?? 0
                out += "<callCounterStates><operationType>\(type)</operationType><limit>\(limit)</limit><value>0</value></callCounterStates>"
            }
            out += "</return>"
        }
        return out
    }
}
