import AWSSigV4
import CallFeedCore
import CallFeedPoll
import Foundation
import HTTPClient

/// Amazon Athena's JSON API (`POST /` with `X-Amz-Target: AmazonAthena.<Operation>`,
/// `Content-Type: application/x-amz-json-1.1`, signed with SigV4 for service `athena`): run one
/// query and page through its results. SalesPro's data is read this way (seed 001).
///
/// - StartQueryExecution → `QueryExecutionId`; GetQueryExecution until `Status.State` is
///   SUCCEEDED (FAILED / CANCELLED carry `StateChangeReason`); GetQueryResults pages of at most
///   1000 rows with `NextToken`. The first row of a SELECT's first page is the column names.
/// - Errors are HTTP 400 with `{"__type": "…Exception", "Message": "…"}`; `ThrottlingException`
///   and `TooManyRequestsException` are retried with backoff (the HTTP client already retries
///   429 and 5xx); `UnrecognizedClientException` / `InvalidSignatureException` /
///   `AccessDeniedException` are credential errors.
/// - A query still running after `queryTimeout` is stopped (StopQueryExecution) and the run fails.
public struct AthenaClient: Sendable {
    public let endpoint: String
    public let signer: AWSSignatureV4
    public let credentials: AWSCredentials
    public let database: String
    public let workGroup: String
    /// `s3://bucket/prefix/` for results; nil uses the work group's own setting.
    public let outputLocation: String?
    public let queryTimeout: Duration
    public let pollInterval: Duration
    public let maxThrottleRetries: Int

    /// - Parameter endpoint: `https://athena.<region>.amazonaws.com` unless told otherwise (the sandbox).
    public init(region: String, endpoint: String? = nil, credentials: AWSCredentials, database: String, workGroup: String = "primary",
                outputLocation: String? = nil, queryTimeout: Duration = .seconds(300), pollInterval: Duration = .milliseconds(500),
                maxThrottleRetries: Int = 5) {
        self.endpoint = endpoint ?? "https://athena.\(region).amazonaws.com"
        self.signer = AWSSignatureV4(region: region, service: "athena")
        self.credentials = credentials
        self.database = database; self.workGroup = workGroup; self.outputLocation = outputLocation
        self.queryTimeout = queryTimeout; self.pollInterval = pollInterval; self.maxThrottleRetries = maxThrottleRetries
    }

    /// One page of a finished query's results.
    public struct ResultPage: Sendable {
        public var columns: [SQLRows.Column]
        public var rows: [[String?]]
        public var nextToken: String?
    }

    /// Starts `sql` and waits until it has succeeded. - Returns: the query execution id.
    public func run(_ sql: String, client: VendorClient) throws(PollError) -> String {
        var start: [String: JSONValue] = [
            "QueryString": .string(sql), "WorkGroup": .string(workGroup),
            "QueryExecutionContext": .object(["Database": .string(database)]),
            "ClientRequestToken": .string(UUID().uuidString),
        ]
        if let outputLocation { start["ResultConfiguration"] = .object(["OutputLocation": .string(outputLocation)]) }
        let started = try call("StartQueryExecution", .object(start), client: client)
        guard let id = started["QueryExecutionId"]?.text, !id.isEmpty else {
            throw PollError(.vendor, "Athena StartQueryExecution answered no QueryExecutionId")
        }
        let deadline = ContinuousClock.now + queryTimeout
        while true {
            let execution = try call("GetQueryExecution", .object(["QueryExecutionId": .string(id)]), client: client)
            let status = execution["QueryExecution"]?["Status"]
            switch status?["State"]?.text ?? "" {
            case "SUCCEEDED": return id
            case "FAILED", "CANCELLED":
                let state = status?["State"]?.text ?? ""
                throw PollError(.vendor, "Athena query \(id) \(state): \(status?["StateChangeReason"]?.text ?? "no reason given")")
            case "QUEUED", "RUNNING":
                guard ContinuousClock.now < deadline else {
                    _ = try? call("StopQueryExecution", .object(["QueryExecutionId": .string(id)]), client: client)
                    throw PollError(.vendor, "Athena query \(id) still running after \(queryTimeout); stopped it")
                }
                Thread.sleep(forTimeInterval: pollInterval.timeInterval)
            case let other:
                throw PollError(.vendor, "Athena query \(id) has an unknown state \"\(other)\"")
            }
        }
    }

    /// One page of results; the header row of the first page is dropped.
    public func results(_ id: String, nextToken: String?, maxResults: Int, client: VendorClient) throws(PollError) -> ResultPage {
        var body: [String: JSONValue] = ["QueryExecutionId": .string(id), "MaxResults": .int(Int64(min(1000, max(1, maxResults))))]
        if let nextToken { body["NextToken"] = .string(nextToken) }
        let answer = try call("GetQueryResults", .object(body), client: client)
        guard let info = answer["ResultSet"]?["ResultSetMetadata"]?["ColumnInfo"]?.arrayValue,
              let rows = answer["ResultSet"]?["Rows"]?.arrayValue else {
            throw PollError(.vendor, "Athena GetQueryResults answered no ResultSet")
        }
        let columns = info.map { SQLRows.Column(name: $0["Name"]?.text ?? "", type: .athena(typeName: $0["Type"]?.text ?? "varchar")) }
        var data: [[String?]] = rows.map { row in (row["Data"]?.arrayValue ?? []).map { $0["VarCharValue"]?.text } }
        if nextToken == nil, let first = data.first, first == columns.map({ Optional($0.name) }) { data.removeFirst() }
        return ResultPage(columns: columns, rows: data, nextToken: answer["NextToken"]?.text)
    }

    /// One signed JSON call; throttling is retried here, 429/5xx by the client.
    func call(_ operation: String, _ body: JSONValue, client: VendorClient) throws(PollError) -> JSONValue {
        let bytes = body.canonicalJSONBytes
        let url = URLComponents(string: endpoint)
        let host = (url?.host ?? "") + (url?.port.map { ":\($0)" } ?? "")
        var attempt = 0
        while true {
            let headers = [("Host", host), ("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "AmazonAthena.\(operation)")]
            let signed = signer.sign(.init(method: "POST", path: "/", headers: headers, body: bytes), credentials: credentials,
                                     amzDate: AWSSignatureV4.amzDate(Date()))
            let response: HTTPClientResponse
            do {
                response = try client.send("POST", endpoint + "/", body: bytes, headers: headers.filter { $0.0 != "Host" } + signed,
                                           acceptStatus: { $0 == 200 || $0 == 400 })
            } catch {
                throw PollError(error, credential: "the AWS access key (sources.salespro[].access_key_id / secret_access_key)")
            }
            let json = (try? JSONValue.parse(response.body)) ?? .null
            if response.status == 200 { return json }
            let type = (json["__type"]?.text ?? "").split(separator: "#").last.map(String.init) ?? ""
            let message = json["Message"]?.text ?? json["message"]?.text ?? response.bodyText
            switch type {
            case "ThrottlingException", "TooManyRequestsException":
                guard attempt < maxThrottleRetries else { throw PollError(.vendor, "Athena \(operation): still throttled after \(attempt + 1) attempts: \(message)") }
                attempt += 1
                Thread.sleep(forTimeInterval: min(20, 0.2 * pow(2, Double(attempt))))
            case "UnrecognizedClientException", "InvalidSignatureException", "AccessDeniedException":
                throw PollError(.credentials, "Athena refused our credentials (\(type)): check sources.salespro[].access_key_id / secret_access_key: \(message)")
            default:
                throw PollError(.vendor, "Athena \(operation) failed (\(type.isEmpty ? "HTTP \(response.status)" : type)): \(message)")
            }
        }
    }
}
