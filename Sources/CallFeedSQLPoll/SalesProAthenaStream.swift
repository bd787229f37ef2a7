import CallFeedCore
import CallFeedPoll
import CallFeedVendors
import Foundation
import HTTPClient

/// SalesPro (seed 001: "AWS Athena SQL queries", four entities): one Athena query per table and
/// run, its results paged with `NextToken`.
///
/// The query reads [`since`, `until`) of the modified column, ordered by (modified, key), or the
/// whole table on a full run. The cursor the poller saves after each acknowledged page is
/// `<QueryExecutionId> <NextToken>`: a killed run resumes reading the same query's results (Athena
/// keeps them in the work group's S3 location), so no row is skipped and none is queried twice.
/// Athena bills by data scanned: partition the tables by the modified column's date so the window
/// prunes partitions.
public struct SalesProAthenaStream: EntityStream {
    public static let vendor = "salespro"
    public let table: SQLTable
    public let athena: AthenaClient
    public let values = SQLValues(timeZone: .gmt)
    /// Rows per GetQueryResults page (Athena allows 1000).
    public let pageSize: Int

    public var vendor: String { Self.vendor }
    public var entity: String { table.entity }
    public var perAccount: Bool { false }
    public var isIncremental: Bool { table.isIncremental }

    public init(table: SQLTable, athena: AthenaClient, pageSize: Int = 1000) {
        self.table = table; self.athena = athena; self.pageSize = min(1000, max(1, pageSize))
    }

    /// The four tables of the seed, `id` / `updated_at` by default (the seed names no columns).
    public static let defaults: [SQLTable] = ["credit_applications", "customers", "estimates", "lead_results"].map {
        SQLTable(entity: $0, table: $0, key: ["id"], modified: "updated_at")
    }

    /// The Athena (Trino) SQL of one run: timestamps as UTC literals, names double-quoted.
    public func query(since: Timestamp?, until: Timestamp) -> String {
        let q = SQLDialect.postgresql.quote  // ANSI double quotes, as Athena's engine reads them
        let select = table.columns.map { $0.map(q).joined(separator: ", ") } ?? "*"
        let from = table.table.split(separator: ".").map { q(String($0)) }.joined(separator: ".")
        guard let modified = table.modified, let since else {
            return "SELECT \(select) FROM \(from) ORDER BY \(table.key.map(q).joined(separator: ", "))"
        }
        return "SELECT \(select) FROM \(from) WHERE \(q(modified)) >= TIMESTAMP '\(values.local(since))' AND \(q(modified)) < TIMESTAMP '\(values.local(until))' "
            + "ORDER BY \(table.order.map(q).joined(separator: ", "))"
    }

    public func firstPage(account: String?, since: Timestamp?, until: Timestamp) -> PageRequest { .cursor("") }

    public func page(_ request: PageRequest, account: String?, since: Timestamp?, until: Timestamp, client: VendorClient) throws(PollError) -> EntityPage {
        guard case .cursor(let text) = request else { throw PollError(.state, "SalesPro \(entity): bad saved position \(request)") }
        let id: String
        var token: String?
        if text.isEmpty {
            id = try athena.run(query(since: since, until: until), client: client)
        } else {
            let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
            id = parts[0]
            token = parts.count == 2 ? parts[1] : nil
        }
        let page = try athena.results(id, nextToken: token, maxResults: pageSize, client: client)
        let records: [JSONValue] = page.rows.map { row in
            var members: [String: JSONValue] = [:]
            for (column, cell) in zip(page.columns, row) { members[column.name] = values.json(cell, column.type) }
            return .object(members)
        }
        return EntityPage(records: records, next: page.nextToken.map { .cursor("\(id) \($0)") })
    }

    public func object(from record: JSONValue, account: String?) throws(MappingError) -> EntityObject {
        try SQLEntityStream.object(from: record, table: table)
    }
}
