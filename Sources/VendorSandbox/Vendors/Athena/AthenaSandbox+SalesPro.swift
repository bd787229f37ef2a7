import CallFeedCore
import Foundation

extension AthenaSandbox {
    /// SalesPro's four tables (seed 001) as the sandbox serves them: `rows` each, ids from 1,
    /// `updated_at` spread over the last three days (UTC, millisecond text as Athena prints a
    /// `timestamp(3)`). The columns are illustrative: the seed names the tables, not their columns.
    public static func salesProTables(rows: Int = 30, now: Timestamp = .now()) -> [String: Table] {
        func updated(_ n: Int, _ salt: Int) -> String {
            let seconds = Int64((n * 7_919 + salt * 104_729) % (3 * 86_400))
            let t = Timestamp(millisecondsSinceEpoch: (now.millisecondsSinceEpoch / 1000 - seconds) * 1000 + Int64(n % 1000))
            var text = t.rfc3339.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")
            if !text.contains(".") { text += ".000" }
            return text
        }
        let ids = (1...max(1, rows)).map { $0 }
        return [
            "customers": Table(columns: [("id", "varchar"), ("first_name", "varchar"), ("last_name", "varchar"), ("phone", "varchar"),
                                         ("email", "varchar"), ("created_at", "timestamp"), ("updated_at", "timestamp")],
                               rows: ids.map { n in
                                   [String(n), ["Pat", "Sam", "Alex", "Jo"][n % 4], "Example\(n)", String(format: "+1555555%04d", n),
                                    "customer\(n)@example.com", updated(n, 9), updated(n, 0)]
                               }),
            "estimates": Table(columns: [("id", "varchar"), ("customer_id", "varchar"), ("total", "decimal(12,2)"), ("signed", "boolean"),
                                         ("updated_at", "timestamp")],
                               rows: ids.map { n in [String(n), String((n % max(1, rows / 2)) + 1), String(format: "%d.%02d", 1_000 + n * 37, n % 100),
                                                     n % 3 == 0 ? "true" : "false", updated(n, 1)] }),
            "credit_applications": Table(columns: [("id", "varchar"), ("customer_id", "varchar"), ("status", "varchar"), ("amount", "decimal(12,2)"),
                                                   ("updated_at", "timestamp")],
                                         rows: ids.map { n in [String(n), String(n), ["approved", "declined", "pending"][n % 3],
                                                               String(format: "%d.00", 5_000 + n * 250), updated(n, 2)] }),
            "lead_results": Table(columns: [("id", "varchar"), ("customer_id", "varchar"), ("result", "varchar"), ("appointment_date", "date"),
                                            ("updated_at", "timestamp")],
                                  rows: ids.map { n in [String(n), String(n), ["sold", "no sale", "reset"][n % 3],
                                                        n % 5 == 0 ? nil : String(updated(n, 3).prefix(10)), updated(n, 3)] }),
        ]
    }
}
