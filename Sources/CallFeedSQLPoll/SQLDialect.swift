import Foundation

/// The SQL text a keyset page needs, per database: quoting, placeholders and the row limit.
///
/// A page is `rows with (modified, key…) after the last row read, modified in [since, until)`,
/// ordered by `(modified, key…)`, at most `limit` rows. Never `LIMIT … OFFSET`: a row modified
/// while a sync pages moves out of its place, and every later offset then skips a row. With the
/// keyset a moved row is simply read again by the next run (its new `modified` is past `until`).
public enum SQLDialect: String, Sendable {
    /// PostgreSQL (Genius): `"name"`, `$1`, `LIMIT n`, row-value comparison (index-friendly).
    case postgresql
    /// Microsoft SQL Server (MarketSharp): `[name]`, `@P1`, `TOP (n)`, the comparison spelled out
    /// (SQL Server has no row-value comparison).
    case sqlServer

    public func quote(_ identifier: String) -> String {
        switch self {
        case .postgresql: "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        case .sqlServer: "[" + identifier.replacingOccurrences(of: "]", with: "]]") + "]"
        }
    }

    /// The `n`th parameter (from 1).
    public func placeholder(_ n: Int) -> String {
        switch self {
        case .postgresql: "$\(n)"
        case .sqlServer: "@P\(n)"
        }
    }

    func qualified(_ table: String) -> String {
        table.split(separator: ".").map { quote(String($0)) }.joined(separator: ".")
    }

    /// One keyset page of `table`, and which values its parameters take, in order.
    /// - Parameters:
    ///   - since: an incremental page: the modified column in [since, until) (rows changed after
    ///     the run began are the next run's).
    ///   - after: continue after a row (the values of the order's columns); false on the first page.
    /// - Returns: An incremental page (`since`) is in ``SQLTable/order``; any other in key order,
    ///   with no bound on the modified column (a full read also sees rows whose `modified` is NULL).
    public func pageQuery(_ table: SQLTable, since: Bool, after: Bool, limit: Int) -> (sql: String, parameters: [SQLParameter]) {
        let order = since ? table.order : table.key
        let select = table.columns.map { $0.map(quote).joined(separator: ", ") } ?? "*"
        var conditions: [String] = []
        var parameters: [SQLParameter] = []
        func next(_ p: SQLParameter) -> String { parameters.append(p); return placeholder(parameters.count) }
        if let modified = table.modified, since {
            conditions.append("\(quote(modified)) >= \(next(.since))")
            conditions.append("\(quote(modified)) < \(next(.until))")
        }
        if after {
            switch self {
            case .postgresql:
                let values = order.indices.map { next(.after($0)) }
                conditions.append("(\(order.map(quote).joined(separator: ", "))) > (\(values.joined(separator: ", ")))")
            case .sqlServer:
                // (a, b, c) > (x, y, z)  ==  a > x OR (a = x AND (b > y OR (b = y AND c > z)))
                let values = order.indices.map { next(.after($0)) }
                var text = "\(quote(order[order.count - 1])) > \(values[order.count - 1])"
                for i in stride(from: order.count - 2, through: 0, by: -1) {
                    text = "\(quote(order[i])) > \(values[i]) OR (\(quote(order[i])) = \(values[i]) AND (\(text)))"
                }
                conditions.append("(\(text))")
            }
        }
        let whereClause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let orderBy = " ORDER BY " + order.map(quote).joined(separator: ", ")
        switch self {
        case .postgresql:
            return ("SELECT \(select) FROM \(qualified(table.table))\(whereClause)\(orderBy) LIMIT \(limit)", parameters)
        case .sqlServer:
            return ("SELECT TOP (\(limit)) \(select) FROM \(qualified(table.table))\(whereClause)\(orderBy)", parameters)
        }
    }
}

/// What a page query's parameter is bound to.
public enum SQLParameter: Sendable, Equatable {
    case since, until
    /// The last row's value of ``SQLTable/order``[i].
    case after(Int)
}
