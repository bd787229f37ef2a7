import CallFeedCore
import Foundation
import HTTPClient
import Testing
import VendorSandbox

/// The sandbox's Five9 Configuration Web Services (SOAP) under `/five9`: auth, the report flow,
/// faults and the per-operation limits.
@Suite struct Five9SandboxTests {
    struct SOAPAnswer {
        var status: Int
        var text: String
        /// The first element inside Body (the response or the Fault), when the body is SOAP.
        var answer: XML.Element?
        var returned: String? { answer?.child("return")?.text }
        var faultString: String? { answer?.name == "Fault" ? answer?.child("faultstring")?.text : nil }
        var faultCode: String? { answer?.name == "Fault" ? answer?.child("faultcode")?.text : nil }
    }

    static func configuration(reportDelay: Duration = .milliseconds(500), operationLimits: [String: SandboxRateLimit] = [:],
                              oddRecords: Int = 0) -> SandboxConfiguration {
        var configuration = SandboxConfiguration(seed: 9, accounts: 2, callsPerAccount: 40, from: mayFirst, to: maySeventh,
                                                 oddRecords: oddRecords, operationRateLimits: operationLimits, callRailRetentionDays: nil)
        configuration.five9ReportDelay = reportDelay
        return configuration
    }

    static func envelope(_ operation: String, _ parameters: String) -> String {
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:ser=\"http://service.admin.ws.five9.com/\">"
            + "<soapenv:Header/><soapenv:Body><ser:\(operation)>\(parameters)</ser:\(operation)></soapenv:Body></soapenv:Envelope>"
    }

    static func post(_ sandbox: VendorSandbox, body: String, authorization: String? = nil, version: String = "v13",
                     client: HTTPClient = HTTPClient()) throws -> SOAPAnswer {
        let auth = authorization ?? sandbox.accounts(vendor: .five9)[0].credential.authorization ?? ""
        let response = try client.request("POST", sandbox.baseURL(for: .five9) + "/wsadmin/\(version)/AdminWebService",
                                          headers: [("Authorization", auth), ("Content-Type", "text/xml; charset=UTF-8"), ("SOAPAction", "\"\"")],
                                          body: Array(body.utf8))
        let envelope = try? XML.parse(response.body)
        return SOAPAnswer(status: response.status, text: response.bodyText, answer: envelope?[path: "Body"]?.children.first)
    }

    static func runReport(start: String, end: String, folder: String = "Call Log Reports", report: String = "Call Log") -> String {
        envelope("runReport", "<folderName>\(folder)</folderName><reportName>\(report)</reportName>"
                 + "<criteria><time><start>\(start)</start><end>\(end)</end></time></criteria>")
    }

    /// `Tue, 14 May 2024 11:30:00` in Los Angeles, by Foundation's formatter (independent of the sandbox's own).
    static func pacificText(_ instant: Timestamp) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "America/Los_Angeles")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: Double(instant.millisecondsSinceEpoch) / 1000))
    }

    /// Waits (bounded) until isReportRunning says false.
    static func waitForReport(_ sandbox: VendorSandbox, _ identifier: String) throws {
        for _ in 0..<100 {
            let running = try post(sandbox, body: envelope("isReportRunning", "<identifier>\(identifier)</identifier><timeout>5</timeout>"))
            try #require(running.status == 200)
            if running.returned == "false" { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Issue.record("report \(identifier) never finished")
    }

    @Test("Basic auth of the domain's admin: a wrong password is a 401 without SOAP; each user reads its own domain")
    func authentication() throws {
        try withSandbox(Self.configuration()) { sandbox in
            let body = Self.runReport(start: "2024-05-01T00:00:00.000-07:00", end: "2024-05-01T23:59:59.999-07:00")
            let wrong = "Basic " + Data("five9-sandbox-admin:nope".utf8).base64EncodedString()
            let refused = try Self.post(sandbox, body: body, authorization: wrong)
            #expect(refused.status == 401 && refused.answer == nil)
            #expect(try Self.post(sandbox, body: body, authorization: "").status == 401)

            let domains = sandbox.accounts(vendor: .five9)
            #expect(domains.map(\.id) == ["five9-domain-1", "five9-domain-2"])
            #expect(domains.map(\.credential.key) == ["five9-sandbox-admin", "five9-sandbox-admin-2"])
            let run = try Self.post(sandbox, body: body, authorization: domains[1].credential.authorization)
            #expect(run.status == 200 && run.answer?.name == "runReportResponse")
            let identifier = try #require(run.returned)
            // Another domain's user cannot read that report.
            let foreign = try Self.post(sandbox, body: Self.envelope("isReportRunning", "<identifier>\(identifier)</identifier><timeout>1</timeout>"))
            #expect(foreign.status == 500 && foreign.faultString?.contains("not found") == true)
        }
    }

    @Test("runReport, isReportRunning (true, then false), getReportResultCsv: the window's calls in the Call Log columns, Pacific times")
    func reportFlow() throws {
        try withSandbox(Self.configuration(reportDelay: .seconds(2))) { sandbox in
            let domain = sandbox.accounts(vendor: .five9)[0].id
            // May 2 00:00 to May 4 23:59:59.999 Pacific (PDT, -07:00).
            let run = try Self.post(sandbox, body: Self.runReport(start: "2024-05-02T00:00:00.000-07:00", end: "2024-05-04T23:59:59.999-07:00"))
            let identifier = try #require(run.returned)
            let first = try Self.post(sandbox, body: Self.envelope("isReportRunning", "<identifier>\(identifier)</identifier><timeout>5</timeout>"))
            #expect(first.status == 200 && first.returned == "true")
            let early = try Self.post(sandbox, body: Self.envelope("getReportResultCsv", "<identifier>\(identifier)</identifier>"))
            #expect(early.status == 500 && early.faultString?.contains("still running") == true)
            try Self.waitForReport(sandbox, identifier)

            let result = try Self.post(sandbox, body: Self.envelope("getReportResultCsv", "<identifier>\(identifier)</identifier>"))
            #expect(result.status == 200 && result.answer?.name == "getReportResultCsvResponse")
            let table = try CSV.parse(try #require(result.returned))
            let header = try #require(table.first)
            #expect(header.prefix(10) == ["CALL ID", "TIMESTAMP", "CAMPAIGN", "CALL TYPE", "AGENT", "AGENT NAME", "DISPOSITION", "ANI", "CUSTOMER NAME", "DNIS"])
            #expect(header.contains("TALK TIME") && header.contains("ABANDONED") && header.contains("TRANSFERS"))
            let rows = table.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
            #expect(rows.allSatisfy { $0.count == header.count })

            let from = Timestamp.parseISO8601("2024-05-02T07:00:00Z")!, to = Timestamp.parseISO8601("2024-05-05T07:00:00Z")!
            let expected = sandbox.calls(vendor: .five9, account: domain).filter { $0.startedAt >= from && $0.startedAt < to }
            #expect(!expected.isEmpty)
            #expect(Set(rows.compactMap { $0["CALL ID"] }) == Set(expected.map(\.id)))
            // Transfers are two rows with one CALL ID; every other call is one row.
            let rowCounts = Dictionary(grouping: rows, by: { $0["CALL ID"] ?? "" }).mapValues(\.count)
            #expect(rowCounts.values.contains(2))
            #expect(rows.count == expected.reduce(0) { $0 + ($1.record["rows"]?.arrayValue?.count ?? 0) })
            // The first row of each call carries its start in Pacific wall time; numbers are 10 digits.
            for call in expected {
                let row = rows.first { $0["CALL ID"] == call.id }
                #expect(row?["TIMESTAMP"] == Self.pacificText(call.startedAt))
            }
            #expect(rows.allSatisfy { ($0["DNIS"]?.count ?? 0) == 10 && ($0["ANI"]?.count ?? 0) == 10 })
            #expect(rows.allSatisfy { ($0["TALK TIME"] ?? "").split(separator: ":").count == 3 })
        }
    }

    @Test("criteria without an offset are Pacific; both ends are inclusive; getReportResult has the same rows as XML")
    func criteriaAndRowData() throws {
        try withSandbox(Self.configuration(reportDelay: .zero)) { sandbox in
            let domain = sandbox.accounts(vendor: .five9)[0].id
            let call = sandbox.calls(vendor: .five9, account: domain)[5]
            let second = Timestamp(secondsSinceEpoch: call.startedAt.secondsSinceEpoch)
            // Exactly the call's second, written as Pacific wall time without an offset.
            let offset = TimeZone(identifier: "America/Los_Angeles")!.secondsFromGMT(for: Date(timeIntervalSince1970: Double(second.secondsSinceEpoch)))
            let local = Timestamp(secondsSinceEpoch: second.secondsSinceEpoch + Int64(offset)).rfc3339.dropLast()  // "…T…" without Z
            let run = try Self.post(sandbox, body: Self.runReport(start: String(local), end: String(local) + ".999"))
            let identifier = try #require(run.returned)
            let result = try Self.post(sandbox, body: Self.envelope("getReportResult", "<identifier>\(identifier)</identifier>"))
            let data = try #require(result.answer?.child("return"))
            let header = try #require(data[path: "header", "values"]).children(named: "data").map(\.text)
            #expect(header.first == "CALL ID" && header.count == 25)
            let records = data.children(named: "records").map { $0.child("values")?.children(named: "data").map(\.text) ?? [] }
            #expect(!records.isEmpty && records.allSatisfy { $0.first == call.id && $0.count == 25 })
        }
    }

    @Test("faults: not a SOAP envelope, unknown operation, unknown report, unknown identifier; versions and 404s")
    func faults() throws {
        try withSandbox(Self.configuration()) { sandbox in
            let garbage = try Self.post(sandbox, body: "this is <not xml")
            #expect(garbage.status == 500 && garbage.faultCode == "soap:Client" && garbage.faultString?.contains("Unmarshalling") == true)
            let notEnvelope = try Self.post(sandbox, body: "<runReport/>")
            #expect(notEnvelope.status == 500 && notEnvelope.faultCode == "soap:Client")
            let unknown = try Self.post(sandbox, body: Self.envelope("deleteEverything", ""))
            #expect(unknown.status == 500 && unknown.faultString?.contains("deleteEverything") == true)
            let report = try Self.post(sandbox, body: Self.runReport(start: "2024-05-01T00:00:00.000-07:00", end: "2024-05-02T00:00:00.000-07:00",
                                                                    report: "No Such Report"))
            #expect(report.status == 500 && report.faultString?.contains("No Such Report") == true && report.faultCode == "soap:Server")
            let badTime = try Self.post(sandbox, body: Self.runReport(start: "yesterday", end: "today"))
            #expect(badTime.status == 500 && badTime.faultCode == "soap:Client")
            let id = try Self.post(sandbox, body: Self.envelope("getReportResultCsv", "<identifier>1-2-3-4</identifier>"))
            #expect(id.status == 500 && id.faultString?.contains("not found") == true)

            let body = Self.runReport(start: "2024-05-01T00:00:00.000-07:00", end: "2024-05-02T00:00:00.000-07:00")
            for version in ["v14", "v9_5", "v2"] { #expect(try Self.post(sandbox, body: body, version: version).status == 200) }
            #expect(try Self.post(sandbox, body: body, version: "v99").status == 404)
            let counters = try Self.post(sandbox, body: Self.envelope("getCallCountersState", ""))
            #expect(counters.status == 200 && counters.answer?.children(named: "return").count == 3)
        }
    }

    @Test("runReport over its per-operation limit is a SOAP fault naming the limit; other operations keep their own budget")
    func operationLimit() throws {
        let limits = ["five9/runReport": SandboxRateLimit(windows: [.perMinute(2)], sendsRetryAfter: false)]
        try withSandbox(Self.configuration(reportDelay: .zero, operationLimits: limits)) { sandbox in
            let body = Self.runReport(start: "2024-05-01T00:00:00.000-07:00", end: "2024-05-02T00:00:00.000-07:00")
            let answers = try (0..<3).map { _ in try Self.post(sandbox, body: body) }
            #expect(answers.map(\.status) == [200, 200, 500])
            #expect(answers[2].faultString?.hasPrefix("Request limit exceeded") == true)
            let identifier = try #require(answers[0].returned)
            let running = try Self.post(sandbox, body: Self.envelope("isReportRunning", "<identifier>\(identifier)</identifier><timeout>1</timeout>"))
            #expect(running.status == 200)
            let outcomes = sandbox.requests(for: .five9).map(\.outcome)
            #expect(outcomes == [.served, .served, .overBudget, .served])
        }
    }

    @Test("odd records: an unparseable TIMESTAMP and a garbage ANI, in the report among good rows")
    func oddRecords() throws {
        try withSandbox(Self.configuration(reportDelay: .zero, oddRecords: 2)) { sandbox in
            let domain = sandbox.accounts(vendor: .five9)[0].id
            let odd = sandbox.calls(vendor: .five9, account: domain).filter { $0.oddity != nil }
            #expect(odd.count == 2)
            let rows = odd.flatMap { $0.record["rows"]?.arrayValue ?? [] }
            #expect(rows.contains { $0["TIMESTAMP"]?.text == "Fri, 30 Feb 2024 25:61:00" })
            #expect(rows.contains { $0["ANI"]?.text == "call-me-maybe" })
            let run = try Self.post(sandbox, body: Self.runReport(start: "2024-04-30T00:00:00.000-07:00", end: "2024-05-09T00:00:00.000-07:00"))
            let csv = try Self.post(sandbox, body: Self.envelope("getReportResultCsv", "<identifier>\(try #require(run.returned))</identifier>"))
            let text = try #require(csv.returned)
            #expect(text.contains("Fri, 30 Feb 2024 25:61:00") && text.contains("call-me-maybe"))
            #expect(try CSV.parse(text).count > 40)
        }
    }
}
