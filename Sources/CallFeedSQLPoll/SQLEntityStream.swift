import CallFeedCore
import CallFeedPoll
import CallFeedVendors
import Foundation
import HTTPClient

/// One table of a vendor database as an ``EntityStream``: keyset pages in `(modified, key…)`
/// order, incremental on the modified column, one ``EntityObject`` per row.
///
/// The cursor the poller saves after each acknowledged page is the last row's `(modified, key…)`
/// exactly as the database printed them (microseconds kept), so a killed run resumes after the
/// last published row, and rows that share one `modified` across a page boundary are neither
/// skipped nor read twice. An incremental run reads `modified` in [`since`, `until`): `since` is
/// the previous run's `until` minus the source's lookback (covering rows committed late, or a
/// database clock behind ours), `until` is the run's start. A row changed while the run pages
/// gets a `modified` past `until` and is the next run's.
///
/// A run with no `since` (the first, or `--full` with no `start`) reads the whole table in key
/// order instead, with no bound on `modified`: rows whose modified column is NULL are read only
/// by such full runs.
public struct SQLEntityStream: EntityStream {
    public let vendor: String
    public let table: SQLTable
    public let reader: any SQLReader
    public let values: SQLValues
    /// Rows per page (the query's LIMIT / TOP).
    public let pageSize: Int

    public var entity: String { table.entity }
    public var perAccount: Bool { false }
    public var isIncremental: Bool { table.isIncremental }

    public init(vendor: String, table: SQLTable, reader: any SQLReader, timeZone: TimeZone, pageSize: Int = 1000) {
        self.vendor = vendor; self.table = table; self.reader = reader
        self.values = SQLValues(timeZone: timeZone); self.pageSize = max(1, pageSize)
    }

    /// The first page: no row read yet.
    public func firstPage(account: String?, since: Timestamp?, until: Timestamp) -> PageRequest { .cursor("[]") }

    public func page(_ request: PageRequest, account: String?, since: Timestamp?, until: Timestamp, client: VendorClient) throws(PollError) -> EntityPage {
        // An incremental page is in (modified, key…) order; a full read in key order.
        let incremental = table.isIncremental && since != nil
        let order = incremental ? table.order : table.key
        guard case .cursor(let text) = request, case .array(let items)? = try? JSONValue.parse(Array(text.utf8)),
              items.isEmpty || items.count == order.count, items.allSatisfy({ $0.text != nil }) else {
            throw PollError(.state, "\(vendor) \(entity): the saved position \(request) is not a keyset of \(order)")
        }
        let after = items.map(\.text)
        let query = reader.dialect.pageQuery(table, since: incremental, after: !after.isEmpty, limit: pageSize)
        let parameters: [String?] = query.parameters.map { p in
            switch p {
            case .since: since.map(values.local)
            case .until: values.local(until)
            case .after(let i): after[i]
            }
        }
        let result = try reader.rows(query.sql, parameters)
        let positions = order.map { name in result.columns.firstIndex { $0.name == name } }
        if let missing = zip(order, positions).first(where: { $0.1 == nil }) {
            throw PollError(.configuration, "\(vendor) \(entity): table \(table.table) returned no column \(missing.0)")
        }
        let records: [JSONValue] = result.rows.map { row in
            var members: [String: JSONValue] = [:]
            for (column, cell) in zip(result.columns, row) { members[column.name] = values.json(cell, column.type) }
            return .object(members)
        }
        guard result.rows.count == pageSize, let last = result.rows.last else { return EntityPage(records: records, next: nil) }
        let keyset = positions.map { last[$0!].map(JSONValue.string) ?? .null }
        return EntityPage(records: records, next: .cursor(String(decoding: JSONValue.array(keyset).canonicalJSONBytes, as: UTF8.self)))
    }

    public func object(from record: JSONValue, account: String?) throws(MappingError) -> EntityObject {
        try Self.object(from: record, table: table)
    }

    /// A row as an entity: id = the key columns joined by `/`, `source_updated_at` = the modified column.
    static func object(from record: JSONValue, table: SQLTable) throws(MappingError) -> EntityObject {
        var parts: [String] = []
        for column in table.key {
            guard let text = record[column]?.text, !text.isEmpty else { throw MappingError(reason: "row has no \(column) (the key)") }
            parts.append(text)
        }
        var updated: Timestamp?
        if let modified = table.modified, case .string(let text)? = record[modified] {
            updated = Timestamp.parseISO8601(text)
        }
        return EntityObject(id: parts.joined(separator: "/"), data: record, sourceUpdatedAt: updated)
    }
}
