import CallFeedCore
import Foundation

/// How the rows of a Google Sheets range become entity records (docs/pollers-google-sheets.md).
///
/// The poller asks `spreadsheets.values.get` for `UNFORMATTED_VALUE` and `SERIAL_NUMBER`, so a
/// cell arrives as a JSON string, number or boolean, and a date or time as a number of days since
/// 1899-12-30 (the fraction is the time of day). Google omits trailing empty cells of a row and
/// trailing empty rows, so rows are ragged.
///
/// - The range's first row names the columns: `Lead ID` → `lead_id` (``columnName(_:)``). An empty
///   header is `column_<n>` (1-based), a repeated one gets `_2`, `_3`, …; cells beyond the header
///   are named the same way.
/// - A row's id is its key columns' values joined by `/`, or `row <n>` (its row number in the
///   sheet) when no key is configured. A row without a key value, or repeating an earlier row's
///   key, is an odd record: it goes to the dead-letter topic with a reason naming the cell.
/// - An empty cell (`""` or omitted) is `null`. Rows with no value at all are skipped.
/// - A date column's number becomes `YYYY-MM-DD` when it is a whole day, else an RFC 3339 UTC
///   instant read as wall time in the spreadsheet's time zone; a text that is already an ISO 8601
///   date or date-time is kept (in UTC). Any other text there is an odd record.
public struct GoogleSheetsMapping: Sendable, Equatable {
    /// Column names (as ``columnName(_:)`` writes them) whose values together identify a row.
    public var keyColumns: [String]
    /// Columns holding dates or date-times.
    public var dateColumns: [String]
    /// A date column saying when the row last changed: the record's `source_updated_at`.
    public var modifiedColumn: String?

    public init(keyColumns: [String] = [], dateColumns: [String] = [], modifiedColumn: String? = nil) {
        self.keyColumns = keyColumns.map(Self.columnName)
        self.modifiedColumn = modifiedColumn.map(Self.columnName)
        var dates = dateColumns.map(Self.columnName)
        if let m = self.modifiedColumn, !dates.contains(m) { dates.append(m) }
        self.dateColumns = dates
    }

    // MARK: Rows to raw records

    /// The raw records of one `ValueRange` answer: one object per non-empty row below the header,
    /// `{"row": n, "cells": {column: value}, "time_zone": zone}` plus `"duplicate_of_row"` when its
    /// key repeats an earlier row's. The DLQ keeps exactly this object, so a redrive has the row.
    /// - Parameters:
    ///   - values: The answer's `values` (rows of cells).
    ///   - range: The answer's `range` (`Leads!A1:G20`): where the header row is.
    ///   - timeZone: The spreadsheet's IANA time zone, for fractional serial numbers.
    public func records(values: [JSONValue], range: String, timeZone: String) -> [JSONValue] {
        guard let header = values.first?.arrayValue else { return [] }
        let firstRow = Self.firstRowNumber(of: range)
        let width = values.reduce(0) { max($0, $1.arrayValue?.count ?? 0) }
        let names = Self.columnNames(header: header, width: width)
        var seenKeys: [String: Int] = [:]
        var result: [JSONValue] = []
        for (offset, row) in values.dropFirst().enumerated() {
            let cells = row.arrayValue ?? []
            var object: [String: JSONValue] = [:]
            var anyValue = false
            for (i, name) in names.enumerated() {
                let cell = i < cells.count ? cells[i] : .null
                if case .string(let s) = cell, s.isEmpty {
                    object[name] = .null
                } else {
                    object[name] = cell
                    if cell != .null { anyValue = true }
                }
            }
            guard anyValue else { continue }
            let rowNumber = firstRow + 1 + offset
            var record: [String: JSONValue] = ["row": .int(Int64(rowNumber)), "cells": .object(object), "time_zone": .string(timeZone)]
            if let key = keyText(object) {
                if let earlier = seenKeys[key] {
                    record["duplicate_of_row"] = .int(Int64(earlier))
                } else {
                    seenKeys[key] = rowNumber
                }
            }
            result.append(.object(record))
        }
        return result
    }

    // MARK: Raw record to entity

    /// One raw record (from ``records(values:range:timeZone:)``) as the entity's id, data and
    /// `source_updated_at`.
    /// - Throws: ``MappingError`` naming the row and column for a missing or repeated key and for
    ///   a date column holding something that is not a date.
    public func entity(from record: JSONValue) throws(MappingError) -> (id: String, data: JSONValue, updatedAt: Timestamp?) {
        guard let cells = record["cells"]?.objectValue, let row = record["row"]?.integer else {
            throw MappingError(reason: "Google Sheets record has no row and cells")
        }
        if let earlier = record["duplicate_of_row"]?.integer {
            throw MappingError(reason: "row \(row) repeats the key \(keyText(cells) ?? "") of row \(earlier) (key columns \(keyColumns.joined(separator: ", ")))")
        }
        let id: String
        if keyColumns.isEmpty {
            id = "row \(row)"
        } else {
            guard let key = keyText(cells) else {
                let missing = keyColumns.first { (cells[$0]?.text ?? "").trimmingCharacters(in: .whitespaces).isEmpty } ?? keyColumns[0]
                throw MappingError(reason: "row \(row) has no \(missing) (a key column)")
            }
            id = key
        }
        let zone = record["time_zone"]?.text ?? "UTC"
        var data = cells
        var updatedAt: Timestamp?
        for column in dateColumns {
            guard let value = cells[column], value != .null else { continue }
            let (text, instant) = try Self.date(value, timeZone: zone, row: row, column: column)
            data[column] = .string(text)
            if column == modifiedColumn { updatedAt = instant }
        }
        return (id, .object(data), updatedAt)
    }

    // MARK: Pieces

    /// `Lead ID` → `lead_id`, `Cost ($)` → `cost`, `Créé le` → `cr_le`: lower-case ASCII letters,
    /// digits and single underscores; empty when nothing is left.
    public static func columnName(_ header: String) -> String {
        var out = ""
        var pendingUnderscore = false
        for scalar in header.unicodeScalars {
            let isWord = scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar))
            if isWord {
                if pendingUnderscore, !out.isEmpty { out.append("_") }
                pendingUnderscore = false
                out.unicodeScalars.append(scalar.properties.lowercaseMapping.unicodeScalars.first ?? scalar)
            } else {
                pendingUnderscore = true
            }
        }
        return out
    }

    /// The names of `width` columns from the header cells (see the type's documentation).
    public static func columnNames(header: [JSONValue], width: Int) -> [String] {
        var names: [String] = []
        var used: Set<String> = []
        for i in 0..<max(width, header.count) {
            var name = i < header.count ? columnName(header[i].text ?? "") : ""
            if name.isEmpty { name = "column_\(i + 1)" }
            if used.contains(name) {
                var n = 2
                while used.contains("\(name)_\(n)") { n += 1 }
                name = "\(name)_\(n)"
            }
            used.insert(name)
            names.append(name)
        }
        return names
    }

    /// The sheet row number of a range's first row: `'Marketing Leads'!B3:F` → 3, `Leads` → 1.
    public static func firstRowNumber(of range: String) -> Int {
        let cells = range.split(separator: "!").last.map(String.init) ?? range
        let start = cells.split(separator: ":").first.map(String.init) ?? cells
        let digits = start.drop { $0.isLetter || $0 == "$" }.filter(\.isNumber)
        return Int(digits) ?? 1
    }

    /// The serial-number epoch: day 0 is 1899-12-30 (Lotus 1-2-3's, as Sheets documents).
    static let serialEpochDays: Int64 = Timestamp(year: 1899, month: 12, day: 30)!.secondsSinceEpoch / 86_400

    /// A date cell as text and, when it denotes an instant, that instant.
    static func date(_ value: JSONValue, timeZone: String, row: Int64, column: String) throws(MappingError) -> (String, Timestamp?) {
        if let serial = Self.number(value) {
            // Sheets' dates run from year 1 (serial -693593) to 9999 (2958465); a number outside is no date.
            guard (-693_594.0...2_958_466.0).contains(serial) else {
                throw MappingError(reason: "row \(row) column \(column): \(serial) is outside the dates a sheet can hold (years 1 to 9999)")
            }
            let days = serial.rounded(.down)
            let milliseconds = Int64(((serial - days) * 86_400_000).rounded())
            let day = Timestamp(secondsSinceEpoch: (serialEpochDays + Int64(days)) * 86_400)
            guard milliseconds > 0 else { return (String(day.rfc3339.prefix(10)), day) }
            let wall = Timestamp(millisecondsSinceEpoch: day.millisecondsSinceEpoch + milliseconds)
            guard let instant = try WallClock.timestamp(String(wall.rfc3339.dropLast()), timeZone: timeZone, field: column) else {
                throw MappingError(reason: "row \(row) column \(column): serial number \(serial) is not a date")
            }
            return (instant.rfc3339, instant)
        }
        let text = (value.text ?? "").trimmingCharacters(in: .whitespaces)
        if text.utf8.count == 10, let day = Timestamp.parseISO8601(text + "T00:00:00Z") {
            return (text, day)
        }
        if let instant = try? WallClock.timestamp(text, timeZone: timeZone, field: column) {
            return (instant.rfc3339, instant)
        }
        throw MappingError(reason: "row \(row) column \(column) holds \(jsonStringLiteral(String(text.prefix(40)))), not a date (format the column as a date in the sheet, or remove it from date_columns)")
    }

    /// A JSON number's value (Sheets' numbers, serial dates among them); nil for any other value.
    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .int(let i): return Double(i)
        case .double(let d): return d.isFinite ? d : nil
        default: return nil
        }
    }

    /// The key columns' values joined by `/`, or nil when one is empty.
    func keyText(_ cells: [String: JSONValue]) -> String? {
        guard !keyColumns.isEmpty else { return nil }
        var parts: [String] = []
        for column in keyColumns {
            guard let value = cells[column], value != .null else { return nil }
            let trimmed = (value.text ?? "").trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { return nil }
            parts.append(trimmed)
        }
        return parts.joined(separator: "/")
    }
}
