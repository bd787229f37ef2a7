import CallFeedCore
import Foundation

/// Maps Five9 Call Log report rows (`getReportResultCsv` / `getReportResult`, `five9.md` §5) to
/// ``CallFeedCore/CallContent``.
///
/// A report is a header plus rows of text cells. One call can fill several rows (a transfer or a
/// conference: one row per leg, the same `CALL ID`), so the poller hands over one record per call:
/// `{"rows": [{"CALL ID": "…", "TIMESTAMP": "…", …}, …]}` (``records(header:rows:)``), and a bad
/// row costs only its own call (dead-lettered) while the rest of the report loads. Columns are read
/// **by header name**: custom reports reorder and add columns; missing columns leave fields unset.
///
/// Multi-row calls collapse as follows: `started_at` = the earliest `TIMESTAMP`; `CALL TIME`,
/// `TALK TIME`, `RING TIME` summed over the legs (each leg's time is its own); the agent, agent name
/// and disposition of the **last** row that has them (who finished the call); `ANI`, `DNIS`,
/// `CUSTOMER NAME`, `CAMPAIGN`, `CALL TYPE` from the first row that has them; `ABANDONED` set if
/// any row says so. `TIMESTAMP` is Pacific wall time (``MappingContext/timeZone``, normally
/// `America/Los_Angeles`), converted DST-aware; a time inside the autumn's repeated hour is
/// ambiguous in the report itself and resolves to one of its two readings.
public enum Five9Mapping {
    /// The `source` of every Five9 event.
    public static let source = "five9"

    /// Column names of the default Call Log report (`five9.md` §5) that the mapping reads.
    public enum Column {
        public static let callID = "CALL ID", timestamp = "TIMESTAMP", campaign = "CAMPAIGN", callType = "CALL TYPE"
        public static let agent = "AGENT", agentName = "AGENT NAME", disposition = "DISPOSITION"
        public static let ani = "ANI", dnis = "DNIS", customerName = "CUSTOMER NAME"
        public static let callTime = "CALL TIME", ringTime = "RING TIME", talkTime = "TALK TIME", holdTime = "HOLD TIME"
        public static let abandoned = "ABANDONED", transfers = "TRANSFERS"
    }

    // MARK: - Report -> records

    /// Groups report rows by `CALL ID` into one record per call, in order of first appearance:
    /// `{"rows": [{column: cell}, …]}`. Rows without a call id become records of their own (they
    /// fail mapping and are dead-lettered as they were sent).
    /// - Parameters:
    ///   - header: Column names, as the report's first line (or `header.values.data`) has them.
    ///   - rows: Cells per row; cells beyond the header are kept under `column N` (1-based), missing
    ///     ones are absent.
    public static func records(header: [String], rows: [[String]]) -> [JSONValue] {
        let names = header.map { $0.trimmingCharacters(in: .whitespaces) }
        var order: [String] = []
        var grouped: [String: [JSONValue]] = [:]
        var records: [Int: JSONValue] = [:]  // position -> lone record without an id
        for cells in rows {
            var row: [String: JSONValue] = [:]
            for (n, cell) in cells.enumerated() {
                row[n < names.count ? names[n] : "column \(n + 1)"] = .string(cell)
            }
            let id = row[Column.callID]?.text
            guard let id else {
                records[order.count] = .object(["rows": .array([.object(row)])])
                order.append("")
                continue
            }
            if grouped[id] == nil { order.append(id) }
            grouped[id, default: []].append(.object(row))
        }
        return order.enumerated().map { position, id in
            id.isEmpty ? records[position] ?? .null : .object(["rows": .array(grouped[id] ?? [])])
        }
    }

    // MARK: - Record -> content

    /// Maps one call's rows.
    /// - Parameters:
    ///   - record: `{"rows": [row, …]}` (``records(header:rows:)``) or a single row object.
    ///   - context: The domain (account id), the report's time zone (normally
    ///     `America/Los_Angeles`) and the country of 10-digit numbers (normally US).
    /// - Throws: ``MappingError`` when there are no rows, no `CALL ID`, rows of different calls, or
    ///   a `TIMESTAMP`/duration that does not read.
    public static func content(from record: JSONValue, context: MappingContext) throws(MappingError) -> CallContent {
        let rows: [JSONValue]
        if let list = record["rows"]?.arrayValue {
            rows = list
        } else if case .object = record {
            rows = [record]
        } else {
            throw MappingError(reason: "Five9 record is \(record.kindName), not {\"rows\": [...]} or a report row")
        }
        guard !rows.isEmpty, rows.allSatisfy({ $0.objectValue != nil }) else {
            throw MappingError(reason: "Five9 record has no report rows (rows)")
        }
        guard let id = rows[0].string(Column.callID) else { throw MappingError(reason: "missing call id (CALL ID)") }
        if let other = rows.lazy.compactMap({ $0.string(Column.callID) }).first(where: { $0 != id }) {
            throw MappingError(reason: "rows of different calls in one record (CALL ID \(id) and \(other))")
        }
        let account = context.accountID.trimming(.whitespaces)
        guard !account.isEmpty else { throw MappingError(reason: "missing account id (context.accountID)") }

        func first(_ column: String) -> String? { rows.lazy.compactMap { $0.string(column) }.first }
        func last(_ column: String) -> String? { rows.reversed().lazy.compactMap { $0.string(column) }.first }
        func total(_ column: String) throws(MappingError) -> Int64? {
            var sum: Int64?
            for row in rows {
                if let seconds = try duration(row.string(column), column: column) { sum = (sum ?? 0) + seconds }
            }
            return sum
        }

        var starts: [Timestamp] = []
        for row in rows {
            if let start = try startTime(row.string(Column.timestamp), timeZone: context.timeZone) { starts.append(start) }
        }
        let isAbandoned = rows.contains { flag($0.string(Column.abandoned)) }
        let talk = try total(Column.talkTime)
        let disposition = last(Column.disposition)
        var content = CallContent(source: source, sourceAccountID: account, sourceCallID: id,
                                  direction: direction(first(Column.callType)),
                                  status: status(disposition: disposition, abandoned: isAbandoned, talkSeconds: talk))
        guard let startedAt = starts.min() else {
            throw .unparseableStartTime([Column.timestamp: rows.first?[Column.timestamp]])
        }
        content.startedAt = startedAt
        content.durationSeconds = try total(Column.callTime)
        content.talkSeconds = talk
        content.ringSeconds = try total(Column.ringTime)
        if let start = content.startedAt, let seconds = content.durationSeconds {
            content.endedAt = start.mappedAdding(seconds: seconds)
        }
        content.callerNumber = phone(first(Column.ani), defaultCountry: context.defaultCountry)
        content.dialedNumber = phone(first(Column.dnis), defaultCountry: context.defaultCountry)
        content.callerName = first(Column.customerName)
        // The agent who finished the call: the last leg that had one.
        if let leg = rows.last(where: { $0.string(Column.agent) != nil || $0.string(Column.agentName) != nil }) {
            let user = leg.string(Column.agent)
            content.agent = CallContent.Agent(id: user, name: leg.string(Column.agentName),
                                              email: user.flatMap { $0.contains("@") ? $0 : nil })
        }
        content.tracking.campaignName = first(Column.campaign)
        content.tags = TagList.normalize(disposition.map(JSONValue.string))
        return content
    }

    // MARK: - Field rules

    /// `CALL TYPE`: `Inbound`, `Inbound Voicemail` → inbound; `Outbound`, `Manual`, `Preview`,
    /// `Autodial`, `Queue Callback` (we call the customer back) → outbound; `Internal`, `Agent` →
    /// internal; anything else unknown.
    static func direction(_ text: String?) -> CallContent.Direction {
        guard let words = text?.lowercased() else { return .unknown }
        if words.hasPrefix("inbound") { return .inbound }
        if words.hasPrefix("outbound") || words.hasPrefix("manual") || words.hasPrefix("preview") || words.hasPrefix("autodial")
            || words.contains("callback") || words.contains("predictive") || words.contains("progressive") {
            return .outbound
        }
        if words.hasPrefix("internal") || words == "agent" || words.hasPrefix("agent ") { return .internal }
        return .unknown
    }

    /// The outcome: `ABANDONED` = 1 or a disposition of `Abandon`/`No Answer`/… → missed,
    /// `…Voicemail…` → voicemail, `Busy` → busy, dialler failures → failed; otherwise talk time
    /// decides (answered when someone talked, missed when nobody did).
    static func status(disposition: String?, abandoned: Bool, talkSeconds: Int64?) -> CallContent.Status {
        let words = disposition?.lowercased() ?? ""
        if words.contains("voicemail") || words.contains("voice mail") || words == "answering machine" { return .voicemail }
        if abandoned || words.hasPrefix("abandon") || words == "no answer" || words == "no party contact" || words == "hang up"
            || words == "caller disconnected" { return .missed }
        if words == "busy" { return .busy }
        if words.contains("operator intercept") || words.contains("dial error") || words.contains("fax") || words == "failed" {
            return .failed
        }
        guard let talkSeconds else { return .unknown }
        return talkSeconds > 0 ? .answered : .missed
    }

    /// `1`, `true`, `yes` (any case).
    static func flag(_ text: String?) -> Bool {
        guard let text = text?.lowercased() else { return false }
        return text == "1" || text == "true" || text == "yes"
    }

    /// `H:MM:SS` (hours may have more digits), `MM:SS`, or plain seconds → seconds.
    /// - Returns: nil for a blank cell.
    /// - Throws: ``MappingError`` naming the column for any other text.
    static func duration(_ text: String?, column: String) throws(MappingError) -> Int64? {
        guard let text else { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let numbers = parts.map { part -> Int64? in
            guard !part.isEmpty, part.count <= 9, part.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int64(part)
        }
        guard (1...3).contains(numbers.count), numbers.allSatisfy({ $0 != nil }) else {
            throw MappingError(reason: "malformed duration (\(column)): \"\(text)\" is not H:MM:SS")
        }
        let values = numbers.map { $0 ?? 0 }
        if values.count > 1, values.dropFirst().contains(where: { $0 > 59 }) {
            throw MappingError(reason: "malformed duration (\(column)): \"\(text)\" is not H:MM:SS")
        }
        return values.reduce(0) { $0 * 60 + $1 }
    }

    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// `TIMESTAMP` in the report's zone: `Tue, 14 May 2024 11:30:00` (what the samples show; the
    /// weekday is optional and not checked), `2024-05-14 11:30:00`, or `05/14/2024 11:30:00`.
    /// - Returns: nil for a blank cell.
    /// - Throws: ``MappingError`` (`TIMESTAMP`) for any other text or an impossible date or time.
    static func startTime(_ text: String?, timeZone: String) throws(MappingError) -> Timestamp? {
        guard let text else { return nil }
        let malformed = MappingError(reason: "malformed date-time (TIMESTAMP): \"\(text)\" is not \"Tue, 14 May 2024 11:30:00\" "
            + "(or YYYY-MM-DD HH:MM:SS, MM/DD/YYYY HH:MM:SS)")
        var words = text.split(separator: " ").map(String.init)
        if let firstWord = words.first, firstWord.hasSuffix(","), firstWord.count == 4 { words.removeFirst() }  // "Tue,"
        let date: (year: Int, month: Int, day: Int)
        let time: String
        switch words.count {
        case 4:  // 14 May 2024 11:30:00
            guard let day = Int(words[0]), let month = months.firstIndex(of: words[1].lowercased().prefix(3).description),
                  words[1].count >= 3, let year = Int(words[2]), words[2].count == 4 else { throw malformed }
            date = (year, month + 1, day)
            time = words[3]
        case 2 where words[0].contains("/"):  // 05/14/2024 11:30:00
            let parts = words[0].split(separator: "/").map { Int($0) }
            // Four-digit years only: a longer one overflowed Timestamp's milliseconds (a trap, found by the fuzzer).
            guard parts.count == 3, let month = parts[0], let day = parts[1], let year = parts[2], (1000...9999).contains(year) else { throw malformed }
            date = (year, month, day)
            time = words[1]
        case 2:  // 2024-05-14 11:30:00
            let parts = words[0].split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard parts.count == 3, words[0].count == 10, let year = parts[0], let month = parts[1], let day = parts[2] else { throw malformed }
            date = (year, month, day)
            time = words[1]
        default:
            throw malformed
        }
        let clock = time.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard clock.count == 3 || clock.count == 2, let hour = clock[0], let minute = clock[1],
              let second = clock.count == 3 ? clock[2] : 0,
              Timestamp(year: date.year, month: date.month, day: date.day, hour: hour, minute: minute, second: second) != nil,
              second < 60 else { throw malformed }
        func pad(_ n: Int, _ width: Int = 2) -> String { String(repeating: "0", count: max(0, width - String(n).count)) + String(n) }
        let iso = "\(pad(date.year, 4))-\(pad(date.month))-\(pad(date.day)) \(pad(hour)):\(pad(minute)):\(pad(second))"
        return try WallClock.timestamp(iso, timeZone: timeZone, field: Column.timestamp)
    }

    /// `ANI`/`DNIS`: Five9 writes NANP numbers as 10 digits without `+1` (`5555550123`); those and
    /// other national forms of the default country become E.164, 11 digits starting with the
    /// country code get a `+`, and anything that is not a number is kept as sent.
    static func phone(_ raw: String?, defaultCountry: String) -> String? {
        guard let normalized = PhoneNumber.normalize(raw, defaultCountry: defaultCountry) else { return nil }
        guard !normalized.hasPrefix("+"), normalized.count > 10, normalized.allSatisfy({ $0.isASCII && $0.isNumber }) else { return normalized }
        return PhoneNumber.normalize("+" + normalized, defaultCountry: defaultCountry).flatMap { $0.hasPrefix("+") ? $0 : nil } ?? normalized
    }
}
