import AWSSigV4
import CallFeedCore
import Foundation
import HTTPServer
import Synchronization

/// Amazon Athena's JSON API as SalesPro's data sits behind it (seed 001), on its own loopback port:
/// `POST /` with `X-Amz-Target: AmazonAthena.<Operation>`, every request SigV4-verified.
///
/// - StartQueryExecution runs the query at once on a snapshot of the tables (Athena's results are
///   a snapshot too) and answers `{"QueryExecutionId"}`; GetQueryExecution answers `RUNNING`
///   ``runningPolls`` times, then `SUCCEEDED` (or `FAILED` with a `StateChangeReason` such as
///   `TABLE_NOT_FOUND: …` for an unknown table); GetQueryResults pages the rows, the column
///   names as the first row of the first page, `NextToken` while more remain, NULL as `{}`.
///   StopQueryExecution marks a query `CANCELLED`.
/// - The SQL it understands is what ``SalesProAthenaStream`` writes: `SELECT * FROM "db"."t"
///   [WHERE "m" >= TIMESTAMP '…' AND "m" < TIMESTAMP '…'] ORDER BY "a", "b"`.
/// - Errors are HTTP 400 `{"__type": "…", "Message": "…"}`: an unknown access key
///   `UnrecognizedClientException`, a wrong signature `InvalidSignatureException`, every
///   ``throttleEvery``-th request `ThrottlingException` ("Rate exceeded").
public final class AthenaSandbox: @unchecked Sendable {
    public struct Table: Sendable {
        public var columns: [(name: String, type: String)]
        public var rows: [[String?]]
        public init(columns: [(name: String, type: String)], rows: [[String?]]) { self.columns = columns; self.rows = rows }
    }
    struct Execution { var query: String; var table: Table?; var failure: String?; var polls = 0; var cancelled = false }
    struct State { var tables: [String: Table]; var executions: [String: Execution] = [:]; var requests: [String] = []; var count = 0 }

    public let accessKeyID = "AKIDSALESPROSANDBOX"
    public let secretAccessKey = "salespro-sandbox-secret-key"
    public let region = "us-east-1"
    /// Every n-th request answers ThrottlingException (0: never).
    public let throttleEvery: Int
    /// GetQueryExecution answers RUNNING this many times before SUCCEEDED.
    public let runningPolls: Int
    private let state: Mutex<State>
    private let server = OwnPortServer()

    public init(tables: [String: Table], throttleEvery: Int = 0, runningPolls: Int = 2) {
        state = Mutex(State(tables: tables))
        self.throttleEvery = throttleEvery
        self.runningPolls = runningPolls
    }

    /// Starts on 127.0.0.1 (a free port). - Returns: the endpoint URL.
    @discardableResult
    public func start() throws -> String {
        try server.start { [self] in handle($0) }
        return endpoint
    }

    public var endpoint: String { server.baseURL }
    public func stop() { server.stop() }

    /// Changes the data (a test's "rows changed at the vendor").
    public func update(_ name: String, _ change: (inout Table) -> Void) {
        state.withLock { s in if var t = s.tables[name] { change(&t); s.tables[name] = t } }
    }

    /// The operations answered so far (throttled ones included), in order.
    public var operations: [String] { state.withLock { $0.requests } }

    // MARK: - Requests

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        let operation = (request.header("x-amz-target") ?? "").replacingOccurrences(of: "AmazonAthena.", with: "")
        if let refusal = verify(request) { return refusal }
        let throttled: Bool = state.withLock { s in
            s.requests.append(operation)
            s.count += 1
            return throttleEvery > 0 && s.count % throttleEvery == 0
        }
        if throttled { return error("ThrottlingException", "Rate exceeded") }
        guard case .object(let body)? = try? JSONValue.parse(request.body) else { return error("InvalidRequestException", "The request body is not JSON") }
        switch operation {
        case "StartQueryExecution": return startQuery(body)
        case "GetQueryExecution": return execution(body)
        case "GetQueryResults": return results(body)
        case "StopQueryExecution":
            state.withLock { s in if let id = body["QueryExecutionId"]?.text { s.executions[id]?.cancelled = true } }
            return json(.object([:]))
        default: return error("UnknownOperationException", "Unknown operation \(operation)")
        }
    }

    /// SigV4: the access key must be ours and the signature must be the one we compute.
    func verify(_ request: HTTPRequest) -> HTTPResponse? {
        let authorization = request.header("authorization") ?? ""
        func field(_ name: String) -> String? {
            authorization.components(separatedBy: name + "=").dropFirst().first?.split(separator: ",").first.map { String($0).trimmingCharacters(in: .whitespaces) }
        }
        guard authorization.hasPrefix(AWSSignatureV4.algorithm), let credential = field("Credential"), let signedList = field("SignedHeaders"),
              let signature = field("Signature"), let amzDate = request.header("x-amz-date") else {
            return error("MissingAuthenticationTokenException", "Request is missing Authentication Token")
        }
        let scope = credential.split(separator: "/").map(String.init)
        guard scope.count == 5, scope[0] == accessKeyID else {
            return error("UnrecognizedClientException", "The security token included in the request is invalid.")
        }
        let signed = signedList.split(separator: ";").map(String.init)
        let signer = AWSSignatureV4(region: scope[2], service: scope[3])
        let headers = signed.compactMap { name in request.header(name).map { (name, $0) } }
        let canonical = signer.canonicalRequest(.init(method: request.method, path: request.path, headers: headers, body: request.body), signedHeaders: signed)
        let expected = signer.signature(stringToSign: signer.stringToSign(canonicalRequest: canonical, amzDate: amzDate),
                                        secretAccessKey: secretAccessKey, date: String(amzDate.prefix(8)))
        guard expected == signature, signed.contains("host"), signed.contains("x-amz-date") else {
            return error("InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
        }
        return nil
    }

    func startQuery(_ body: [String: JSONValue]) -> HTTPResponse {
        guard let sql = body["QueryString"]?.text, !sql.isEmpty else { return error("InvalidRequestException", "QueryString is required") }
        let id = UUID().uuidString.lowercased()
        state.withLock { s in
            var execution = Execution(query: sql, table: nil)
            do throws(SandboxQueryError) { execution.table = try Self.run(sql, tables: s.tables) } catch { execution.failure = error.reason }
            s.executions[id] = execution
        }
        return json(.object(["QueryExecutionId": .string(id)]))
    }

    func execution(_ body: [String: JSONValue]) -> HTTPResponse {
        let id = body["QueryExecutionId"]?.text ?? ""
        let answer: JSONValue? = state.withLock { s in
            guard var e = s.executions[id] else { return nil }
            e.polls += 1
            s.executions[id] = e
            var status: [String: JSONValue] = ["SubmissionDateTime": .double(Date().timeIntervalSince1970)]
            if e.cancelled { status["State"] = .string("CANCELLED") } else if e.polls <= runningPolls { status["State"] = .string("RUNNING") } else if let failure = e.failure {
                status["State"] = .string("FAILED"); status["StateChangeReason"] = .string(failure)
            } else { status["State"] = .string("SUCCEEDED") }
            return .object(["QueryExecution": .object(["QueryExecutionId": .string(id), "Query": .string(e.query), "Status": .object(status),
                                                      "WorkGroup": .string("primary"), "StatementType": .string("DML")])])
        }
        return answer.map(json) ?? error("InvalidRequestException", "QueryExecution \(id) was not found")
    }

    func results(_ body: [String: JSONValue]) -> HTTPResponse {
        let id = body["QueryExecutionId"]?.text ?? ""
        let max = Int(body["MaxResults"]?.integer ?? 1000)
        guard (1...1000).contains(max) else { return error("InvalidRequestException", "MaxResults must be 1 to 1000") }
        guard let e = state.withLock({ $0.executions[id] }) else { return error("InvalidRequestException", "QueryExecution \(id) was not found") }
        guard e.polls > runningPolls, let table = e.table else {
            return error("InvalidRequestException", "Query has not yet finished. Current state: \(e.failure == nil ? "RUNNING" : "FAILED")")
        }
        let start: Int
        if let token = body["NextToken"]?.text {
            guard token.hasPrefix("sbx-"), let n = Int(token.dropFirst(4)), n <= table.rows.count else {
                return error("InvalidRequestException", "The NextToken is invalid")
            }
            start = n
        } else { start = 0 }
        var rows: [JSONValue] = []
        if start == 0 {
            let names: [JSONValue] = table.columns.map { JSONValue.object(["VarCharValue": JSONValue.string($0.name)]) }
            rows.append(.object(["Data": .array(names)]))
        }
        let end = min(table.rows.count, start + max - rows.count)
        for row in table.rows[start..<end] {
            let cells: [JSONValue] = row.map { cell in cell.map { JSONValue.object(["VarCharValue": .string($0)]) } ?? JSONValue.object([:]) }
            rows.append(.object(["Data": .array(cells)]))
        }
        let info: [JSONValue] = table.columns.map {
            .object(["CatalogName": .string("hive"), "SchemaName": .string(""), "TableName": .string(""), "Name": .string($0.name),
                     "Label": .string($0.name), "Type": .string($0.type), "Precision": .int(0), "Scale": .int(0),
                     "Nullable": .string("UNKNOWN"), "CaseSensitive": .bool($0.type == "varchar")])
        }
        var answer: [String: JSONValue] = ["UpdateCount": .int(0),
                                           "ResultSet": .object(["Rows": .array(rows), "ResultSetMetadata": .object(["ColumnInfo": .array(info)])])]
        if end < table.rows.count { answer["NextToken"] = .string("sbx-\(end)") }
        return json(.object(answer))
    }

    // MARK: - The SQL it understands

    struct SandboxQueryError: Error { var reason: String }

    static func run(_ sql: String, tables: [String: Table]) throws(SandboxQueryError) -> Table {
        func match(_ pattern: String) -> [String]? {
            guard let regex = try? NSRegularExpression(pattern: pattern),
                  let m = regex.firstMatch(in: sql, range: NSRange(sql.startIndex..., in: sql)) else { return nil }
            return (1..<m.numberOfRanges).map { i in Range(m.range(at: i), in: sql).map { String(sql[$0]) } ?? "" }
        }
        guard let from = match(#"FROM ((?:"[^"]+"\.)?"([^"]+)")"#), let table = tables[from[1]] else {
            let name = match(#"FROM ((?:"[^"]+"\.)?"[^"]+")"#)?.first ?? "?"
            throw SandboxQueryError(reason: "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.\(name.replacingOccurrences(of: "\"", with: ""))' does not exist")
        }
        func index(_ name: String) throws(SandboxQueryError) -> Int {
            guard let i = table.columns.firstIndex(where: { $0.name == name }) else {
                throw SandboxQueryError(reason: "COLUMN_NOT_FOUND: line 1:8: Column '\(name)' cannot be resolved")
            }
            return i
        }
        var rows = table.rows
        if let bounds = match(#"WHERE "([^"]+)" >= TIMESTAMP '([^']+)' AND "[^"]+" < TIMESTAMP '([^']+)'"#) {
            let i = try index(bounds[0])
            rows = rows.filter { row in row[i].map { $0 >= bounds[1] && $0 < bounds[2] } ?? false }
        }
        if let order = match(#"ORDER BY (.+)$"#)?.first {
            var keys: [Int] = []
            for name in order.components(separatedBy: ", ") { keys.append(try index(name.replacingOccurrences(of: "\"", with: ""))) }
            rows.sort { a, b in
                for k in keys where a[k] != b[k] {
                    if let x = a[k].flatMap({ Int($0) }), let y = b[k].flatMap({ Int($0) }) { return x < y }
                    return (a[k] ?? "") < (b[k] ?? "")
                }
                return false
            }
        }
        return Table(columns: table.columns, rows: rows)
    }

    func json(_ value: JSONValue) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", UUID().uuidString.lowercased())],
                     body: value.canonicalJSONBytes)
    }

    func error(_ type: String, _ message: String) -> HTTPResponse {
        HTTPResponse(status: 400, headers: [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", type)],
                     body: JSONValue.object(["__type": .string(type), "Message": .string(message)]).canonicalJSONBytes)
    }
}
