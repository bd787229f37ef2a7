import CallFeedCore
import Warehouse

extension BigQueryClient {
    /// How long one `jobs.query` / `getQueryResults` call waits for the job before answering
    /// `jobComplete: false`.
    static let pollMilliseconds = 10_000
    /// Rows per result page.
    static let pageRows = 10_000

    /// Runs one GoogleSQL query or script as a job and returns all its rows.
    ///
    /// `jobs.query` waits up to 10 s; a job still running then is polled with `getQueryResults`
    /// until ``BigQueryConfiguration/queryTimeout``. Pages are followed with `pageToken`.
    /// Timestamps are asked for as integer microseconds (`formatOptions.useInt64Timestamp`).
    /// - Parameters:
    ///   - sql: The statement(s). Values go in `parameters`; the text holds only names the sink made.
    ///   - parameters: Named parameters (`@ids`).
    ///   - action: What the sink is doing, for error reasons.
    ///   - kind: ``BigQueryCallKind/data`` when the statement writes the batch's values.
    /// - Returns: The schema and rows (none for DML and scripts ending in `COMMIT`).
    /// - Throws: ``WarehouseError``; transient when the job did not finish within the query timeout.
    func query(_ sql: String, parameters: [BigQueryQueryParameter] = [], action: String,
               kind: BigQueryCallKind = .control) throws(WarehouseError) -> BigQueryQueryResult {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: configuration.queryTimeout)
        var body: [String: JSONValue] = [
            "query": .string(sql), "useLegacySql": .bool(false), "location": .string(configuration.location),
            "timeoutMs": .int(Int64(Self.pollMilliseconds)), "maxResults": .int(Int64(Self.pageRows)),
            "formatOptions": .object(["useInt64Timestamp": .bool(true)]),
        ]
        if !parameters.isEmpty {
            body["parameterMode"] = .string("NAMED")
            body["queryParameters"] = .array(parameters.map(\.json))
        }
        var answer = try checked(send("POST", "/queries", body: .object(body), action: action, kind: kind).json,
                                 action: action, kind: kind)
        guard let jobID = answer["jobReference"]?["jobId"]?.text else {
            throw .bigQueryFailure("\(action): the query answer has no jobReference")
        }
        let location = answer["jobReference"]?["location"]?.text ?? configuration.location
        let resultsPath = "/queries/" + jobID
        var query: [(String, String)] = [
            ("location", location), ("timeoutMs", String(Self.pollMilliseconds)),
            ("maxResults", String(Self.pageRows)), ("formatOptions.useInt64Timestamp", "true"),
        ]
        while answer["jobComplete"]?.boolean != true {
            guard clock.now < deadline else {
                throw WarehouseError(code: 408, reason: "BigQuery: \(action): job \(jobID) still running after "
                    + "\(configuration.queryTimeout); giving up waiting (it may still finish)", isTransient: true)
            }
            answer = try checked(send("GET", resultsPath, query: query, action: action, kind: kind).json,
                                 action: action, kind: kind)
        }
        var result = BigQueryQueryResult(columns: BigQueryQueryResult.columns(of: answer))
        result.append(rowsOf: answer)
        while let token = answer["pageToken"]?.text, !token.isEmpty {
            query.removeAll { $0.0 == "pageToken" }
            query.append(("pageToken", token))
            answer = try checked(send("GET", resultsPath, query: query, action: action, kind: kind).json,
                                 action: action, kind: kind)
            result.append(rowsOf: answer)
        }
        return result
    }

    /// The answer, or the error of a finished job that failed inside an HTTP 200 (the emulator
    /// reports failed jobs that way; BigQuery itself answers 4xx, handled in ``send(_:_:query:body:action:kind:accepting:)``).
    private func checked(_ answer: JSONValue, action: String, kind: BigQueryCallKind) throws(WarehouseError) -> JSONValue {
        let errors = BigQueryErrorProto.all(in: answer)
        if !errors.isEmpty, answer["jobComplete"]?.boolean != false {
            throw WarehouseError.bigQuery(status: nil, errors: errors, action: action, kind: kind,
                                          credentials: configuration.auth.settingName)
        }
        return answer
    }
}
