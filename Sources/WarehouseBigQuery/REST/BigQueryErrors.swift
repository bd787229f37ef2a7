import CallFeedCore
import HTTPClient
import Warehouse

/// The ``WarehouseError/code`` values the BigQuery sink uses, and how a BigQuery answer becomes a
/// ``WarehouseError``.
///
/// An HTTP failure carries its HTTP status as the code (`401`, `404`, `429`, `503`, …). Besides those:
/// the SQLite primary codes the loader reads through ``WarehouseError/isDataError`` for data BigQuery
/// refused (18, 19, 20), `10` for a transport failure (no HTTP answer at all), `21` for misuse and `1`
/// for anything else. No HTTP status BigQuery sends has 18, 19 or 20 as its low byte, so an HTTP
/// failure is never mistaken for a data error.
public enum BigQueryErrorCode {
    /// Any other failure that retrying will not fix (a newer schema, an answer we cannot read).
    public static let error: Int32 = 1
    /// No HTTP answer: connection refused, timeout, TLS failure (`curl` said why in the reason).
    public static let transport: Int32 = 10
    /// A request too big for BigQuery (HTTP 413, a row or request over the size limit): split the batch.
    public static let tooBig: Int32 = 18
    /// A record the sink refuses before writing (``EntityRecord/validate()``, an entity table-name clash).
    public static let refused: Int32 = 19
    /// Rows or statements BigQuery refused because of their values (`invalid`, `invalidQuery` while writing).
    public static let invalidData: Int32 = 20
    /// The sink was used wrongly (apply before prepare, after close).
    public static let misuse: Int32 = 21
}

/// One `ErrorProto` of a BigQuery answer: `{"reason": "invalidQuery", "message": "…", "location": "…"}`.
struct BigQueryErrorProto: Sendable, Equatable {
    var reason: String
    var message: String

    /// The error objects of an answer: `error.errors[]` (HTTP failures), the top-level `errors[]` (a
    /// finished query job) or `status.errorResult` (a job resource), whichever it has.
    static func all(in json: JSONValue) -> [BigQueryErrorProto] {
        var found: [JSONValue] = []
        if let list = json["error"]?["errors"]?.arrayValue { found += list }
        if found.isEmpty, let message = json["error"]?["message"]?.text {
            // An error body without `errors` (a proxy, the token endpoint): keep its words.
            found.append(.object(["reason": json["error"]?["status"] ?? .null, "message": .string(message)]))
        }
        if let list = json["errors"]?.arrayValue { found += list }
        if let result = json["status"]?["errorResult"] { found.append(result) }
        return found.map { BigQueryErrorProto(reason: $0["reason"]?.text ?? "", message: $0["message"]?.text ?? "") }
    }
}

/// Where a failing call came from, which decides how a refusal of its values is classified.
enum BigQueryCallKind {
    /// Schema work and reads: an `invalid`/`invalidQuery` answer means our SQL or the tables are wrong.
    case control
    /// Writing the batch's rows (insertAll, the MERGE script): `invalid`/`invalidQuery` means the data.
    case data
}

extension WarehouseError {
    /// The reasons BigQuery documents as "retry later": server trouble, rate and quota limits, a table
    /// briefly unavailable. (https://cloud.google.com/bigquery/docs/error-messages)
    static let transientBigQueryReasons: Set<String> = [
        "backendError", "internalError", "rateLimitExceeded", "quotaExceeded", "jobRateLimitExceeded",
        "tableUnavailable", "jobBackendError", "jobInternalError", "timeout",
    ]

    /// The error for a BigQuery answer that failed.
    /// - Parameters:
    ///   - status: The HTTP status, or `nil` when the failure came inside a 200 answer (a finished job).
    ///   - errors: The answer's error objects (``BigQueryErrorProto/all(in:)``).
    ///   - action: What the sink was doing, in words (`"MERGE into calls"`), for the reason.
    ///   - kind: Whether the call wrote the batch's values.
    ///   - credentials: The configuration key of the credentials, named when they were refused.
    static func bigQuery(status: Int?, errors: [BigQueryErrorProto], action: String, kind: BigQueryCallKind,
                         credentials: String, file: String = #fileID, line: UInt = #line) -> WarehouseError {
        let reasons = Set(errors.map(\.reason))
        let words = errors.first.map { "\($0.reason.isEmpty ? "" : "\($0.reason): ")\($0.message)" } ?? "no error details"
        let statusText = status.map { "HTTP \($0) " } ?? ""
        let reason = "BigQuery: \(action) failed: \(statusText)\(words)"
        let message = errors.map(\.message).joined(separator: " ")
        let isTransient = (status.map { $0 >= 500 || $0 == 429 } ?? false)
            || !reasons.isDisjoint(with: transientBigQueryReasons)
            // A transaction that lost a race with another writer of the same table: retry the batch.
            || message.contains("concurrent update") || message.contains(BigQueryStatements.notVisibleMarker)
        if isTransient {
            return WarehouseError(code: Int32(status ?? 503), reason: reason, isTransient: true, file: file, line: line)
        }
        if status == 401 || status == 403 || reasons.contains("accessDenied") || reasons.contains("forbidden") {
            return WarehouseError(
                code: Int32(status ?? 403),
                reason: "\(reason) — the credentials from \(credentials) were refused or lack a role "
                    + "(the sink needs roles/bigquery.dataEditor and roles/bigquery.jobUser)",
                isTransient: false, file: file, line: line)
        }
        if status == 413 || reasons.contains("tooLarge") || message.contains("exceeds the limit")
            || message.contains("too large") {
            return WarehouseError(code: BigQueryErrorCode.tooBig, reason: reason, isTransient: false, file: file, line: line)
        }
        if kind == .data, status != 404, !reasons.contains("notFound"),
           reasons.contains("invalid") || reasons.contains("invalidQuery") {
            return WarehouseError(code: BigQueryErrorCode.invalidData, reason: reason, isTransient: false,
                                  file: file, line: line)
        }
        let code = status ?? (reasons.contains("notFound") ? 404 : 400)
        return WarehouseError(code: Int32(code), reason: reason, isTransient: false, file: file, line: line)
    }

    /// The error for a request that got no HTTP answer.
    ///
    /// Transient (the network or BigQuery may be back on the next try) except for what no retry can
    /// fix: a malformed endpoint URL, an unsupported protocol, a TLS certificate that fails verification.
    static func bigQueryTransport(_ error: HTTPClientError, action: String, file: String = #fileID,
                                  line: UInt = #line) -> WarehouseError {
        // CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE
        let permanent: Set<Int32> = [1, 3, 60, 77]
        return WarehouseError(code: BigQueryErrorCode.transport,
                              reason: "BigQuery: \(action) failed: \(error.reason) (curl \(error.code))",
                              isTransient: !permanent.contains(error.code), file: file, line: line)
    }

    /// A misuse of the sink (apply before prepare, any call after close).
    static func bigQueryMisuse(_ reason: String, file: String = #fileID, line: UInt = #line) -> WarehouseError {
        WarehouseError(code: BigQueryErrorCode.misuse, reason: "BigQuerySink: \(reason)", isTransient: false,
                       file: file, line: line)
    }

    /// Any other non-transient failure of the sink.
    static func bigQueryFailure(_ reason: String, file: String = #fileID, line: UInt = #line) -> WarehouseError {
        WarehouseError(code: BigQueryErrorCode.error, reason: "BigQuery: \(reason)", isTransient: false,
                       file: file, line: line)
    }
}
