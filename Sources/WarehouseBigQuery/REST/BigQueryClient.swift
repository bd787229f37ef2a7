import CallFeedCore
import HTTPClient
import Warehouse

/// The BigQuery REST API v2 calls the sink makes, over one libcurl client: datasets, tables,
/// `tabledata.insertAll` and query jobs (``query(_:parameters:action:kind:)`` in
/// `BigQueryClient+Query.swift`). Every failure becomes a ``WarehouseError``.
///
/// - Important: Not thread-safe: it owns one `HTTPClient` (one curl easy handle). The sink's one
///   thread uses it.
final class BigQueryClient {
    let configuration: BigQueryConfiguration
    let http: HTTPClient
    private let tokens: BigQueryTokenSource
    /// `<endpoint>/bigquery/v2/projects/<project>`.
    let projectURL: String

    /// Checks the names and reads the credentials; makes no request.
    /// - Throws: ``WarehouseError`` (not transient) for a project or dataset name that cannot be one,
    ///   or credentials that cannot be used.
    init(configuration: BigQueryConfiguration) throws(WarehouseError) {
        guard Self.isProjectID(configuration.project) else {
            throw .bigQueryFailure("project \(jsonStringLiteral(configuration.project)) is not a project id "
                + "(letters, digits, '-', '.', ':')")
        }
        guard Self.isDatasetID(configuration.dataset) else {
            throw .bigQueryFailure("dataset \(jsonStringLiteral(configuration.dataset)) is not a dataset id "
                + "(letters, digits and '_', at most 1,024)")
        }
        self.configuration = configuration
        tokens = try BigQueryTokenSource(auth: configuration.auth)
        let seconds = Int(max(1, configuration.requestTimeout.components.seconds))
        http = HTTPClient(connectTimeoutSeconds: min(seconds, 10), totalTimeoutSeconds: seconds)
        var endpoint = configuration.endpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        projectURL = endpoint + "/bigquery/v2/projects/" + configuration.project
    }

    /// `project.dataset.table` in backquotes: a table name for SQL text. Only names that passed
    /// ``isTableID(_:)`` (CallFeed's own tables and validated entity tables) ever get here.
    func qualified(_ table: String) -> String {
        precondition(Self.isTableID(table), "not a table id: \(table)")
        return "`\(configuration.project).\(configuration.dataset).\(table)`"
    }

    // MARK: - Datasets and tables

    /// Whether the configured dataset exists (`datasets.get`).
    func datasetExists() throws(WarehouseError) -> Bool {
        try send("GET", "/datasets/\(configuration.dataset)", action: "reading dataset \(configuration.dataset)",
                 accepting: [404]).status != 404
    }

    /// Creates the configured dataset in the configured location (`datasets.insert`); one that
    /// appeared meanwhile (409) is fine.
    func insertDataset() throws(WarehouseError) {
        let body: JSONValue = .object([
            "datasetReference": .object(["projectId": .string(configuration.project),
                                         "datasetId": .string(configuration.dataset)]),
            "location": .string(configuration.location),
            "description": .string("CallFeed: calls, their revisions and vendor entities (docs/warehouse-bigquery.md)"),
        ])
        _ = try send("POST", "/datasets", body: body, action: "creating dataset \(configuration.dataset)",
                     accepting: [409])
    }

    /// Whether a table exists (`tables.get`).
    func tableExists(_ table: String) throws(WarehouseError) -> Bool {
        try send("GET", "/datasets/\(configuration.dataset)/tables/\(table)", action: "reading table \(table)",
                 accepting: [404]).status != 404
    }

    /// Creates a table (`tables.insert`); one that exists already (409) is left as it is.
    /// - Returns: Whether this call created it.
    @discardableResult
    func insertTable(_ table: BigQueryTable) throws(WarehouseError) -> Bool {
        let body = table.resource(project: configuration.project, dataset: configuration.dataset)
        return try send("POST", "/datasets/\(configuration.dataset)/tables", body: body,
                        action: "creating table \(table.name)", accepting: [409]).status != 409
    }

    /// Streams rows into a table (`tabledata.insertAll`), in requests of at most 500 rows and about
    /// 5 MB (BigQuery's limits are 50,000 rows and 10 MB per request).
    ///
    /// `skipInvalidRows` is false, so BigQuery writes none of a request's rows if one is invalid.
    /// - Parameters:
    ///   - table: The table.
    ///   - rows: Each row's `insertId` (BigQuery's best-effort de-duplication key, kept about a
    ///     minute) and its JSON object.
    /// - Throws: ``WarehouseError``; code ``BigQueryErrorCode/invalidData`` when BigQuery refused a row.
    func insertAll(_ table: String, rows: [(insertID: String, json: JSONValue)]) throws(WarehouseError) {
        var start = 0
        while start < rows.count {
            var end = start
            var bytes = 0
            var encoded: [JSONValue] = []
            while end < rows.count, end - start < 500, bytes < 5_000_000 {
                let row: JSONValue = .object(["insertId": .string(rows[end].insertID), "json": rows[end].json])
                bytes += row.canonicalJSONBytes.count
                encoded.append(row)
                end += 1
            }
            let body: JSONValue = .object(["rows": .array(encoded), "skipInvalidRows": .bool(false),
                                           "ignoreUnknownValues": .bool(false)])
            let action = "streaming \(encoded.count) rows into \(table)"
            let answer = try send("POST", "/datasets/\(configuration.dataset)/tables/\(table)/insertAll", body: body,
                                  action: action, kind: .data).json
            if let failed = answer["insertErrors"]?.arrayValue, let first = failed.first {
                // The row at fault has its own reason; the others of the request are "stopped".
                let errors = failed.flatMap { BigQueryErrorProto.all(in: .object(["errors": $0["errors"] ?? .null])) }
                let culprit = errors.first { $0.reason != "stopped" } ?? errors.first
                    ?? BigQueryErrorProto(reason: "invalid", message: "row refused")
                let index = first["index"]?.integer.map { start + Int($0) }
                throw WarehouseError.bigQuery(
                    status: nil, errors: [culprit],
                    action: action + (index.map { " (row \($0))" } ?? ""), kind: .data,
                    credentials: configuration.auth.settingName)
            }
            start = end
        }
    }

    // MARK: - Requests

    /// Sends one request to `<projectURL><path>` and returns its answer.
    ///
    /// A 401 to a minted token is retried once with a new token (it may have expired early).
    /// - Parameters:
    ///   - method: `GET`, `POST`, `DELETE`.
    ///   - path: The path below the project (`/datasets/callfeed`).
    ///   - query: URL query items, percent-encoded here.
    ///   - body: The JSON body.
    ///   - action: What the sink is doing, for error reasons.
    ///   - kind: Whether the request writes the batch's values (see ``BigQueryCallKind``).
    ///   - accepting: Error statuses that are an answer, not a failure (404 for "does it exist?").
    /// - Returns: The status and the parsed body (`{}` when empty).
    /// - Throws: ``WarehouseError`` for a transport failure or an error status not in `accepting`.
    func send(_ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil,
              action: String, kind: BigQueryCallKind = .control,
              accepting: Set<Int> = []) throws(WarehouseError) -> (status: Int, json: JSONValue) {
        var url = projectURL + path
        if !query.isEmpty {
            url += "?" + query.map { "\(Self.percentEncoded($0.0))=\(Self.percentEncoded($0.1))" }.joined(separator: "&")
        }
        var renewed = false
        while true {
            var headers: [(String, String)] = [("Accept", "application/json")]
            if let authorization = try tokens.authorization(using: http) {
                headers.append(("Authorization", authorization))
            }
            if body != nil { headers.append(("Content-Type", "application/json; charset=utf-8")) }
            let response: HTTPClientResponse
            do {
                response = try http.request(method, url, headers: headers, body: body?.canonicalJSONBytes)
            } catch {
                throw WarehouseError.bigQueryTransport(error, action: action)
            }
            if response.status == 401, tokens.canRenew, !renewed {
                tokens.invalidate()
                renewed = true
                continue
            }
            let json = response.body.isEmpty ? JSONValue.object([:]) : ((try? JSONValue.parse(response.body)) ?? .null)
            if (200..<300).contains(response.status) || accepting.contains(response.status) {
                guard json != .null else {
                    throw .bigQueryFailure("\(action): the answer (HTTP \(response.status)) is not JSON")
                }
                return (response.status, json)
            }
            var errors = BigQueryErrorProto.all(in: json)
            if errors.isEmpty {
                errors = [BigQueryErrorProto(reason: "", message: String(response.bodyText.prefix(300)))]
            }
            throw WarehouseError.bigQuery(status: response.status, errors: errors, action: action, kind: kind,
                                          credentials: configuration.auth.settingName)
        }
    }

    // MARK: - Names

    /// `[a-z0-9]` plus `-`, `.` and `:` (domain-scoped projects are `example.com:project`).
    static func isProjectID(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 100 && name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
        }
    }

    /// Letters, digits and `_`, at most 1,024 bytes: a dataset id.
    static func isDatasetID(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 1024 && name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
        }
    }

    /// `[a-z][a-z0-9_]*`: CallFeed's tables and the entity tables ``EntityRow/quotedIdentifier(_:)`` admits.
    static func isTableID(_ name: String) -> Bool {
        EntityRow.quotedIdentifier(name) != nil
    }

    /// RFC 3986 unreserved characters as they are, every other byte as `%XX`.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}

@available(*, unavailable, message: "one sink thread owns the client")
extension BigQueryClient: Sendable {}
