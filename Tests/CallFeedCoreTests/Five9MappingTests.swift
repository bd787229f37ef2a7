import CallFeedCore
import CallFeedVendors
import Foundation
import Testing

/// Five9 Call Log report rows → CallContent, from the vendor samples (`five9.calllog.report-result.sample.{csv,json}`).
@Suite struct Five9MappingTests {
    static let context = MappingContext(accountID: "five9-domain-1", timeZone: "America/Los_Angeles", defaultCountry: "US")

    /// The CSV sample as a table (header first).
    static func sampleTable() throws -> [[String]] {
        let url = try #require(Bundle.module.url(forResource: "five9.calllog.report-result.sample", withExtension: "csv", subdirectory: "Fixtures"))
        return try CSV.parse(Array(try Data(contentsOf: url)))
    }

    static func map(_ record: JSONValue) throws -> CallContent { try Five9Mapping.content(from: record, context: context) }

    static func at(_ text: String) -> Timestamp { Timestamp.parseISO8601(text)! }

    /// One call's record from `header` and rows.
    static func record(_ header: [String], _ rows: [[String]]) throws -> JSONValue {
        let records = Five9Mapping.records(header: header, rows: rows)
        try #require(records.count == 1)
        return records[0]
    }

    @Test("the CSV sample: every column the mapping reads, Pacific (PDT) to UTC, E.164 numbers, H:MM:SS durations")
    func csvSample() throws {
        let table = try Self.sampleTable()
        #expect(table.count == 3 && table[0].count == 25)
        let records = Five9Mapping.records(header: table[0], rows: Array(table.dropFirst()))
        #expect(records.count == 2)

        let answered = try Self.map(records[0])
        #expect(answered.source == "five9" && answered.sourceAccountID == "five9-domain-1")
        #expect(answered.sourceCallID == "300000000123456")                       // CALL ID
        #expect(answered.startedAt == Self.at("2024-05-14T18:30:00Z"))            // TIMESTAMP 11:30:00 PDT
        #expect(answered.tracking.campaignName == "Inbound Sales")                // CAMPAIGN
        #expect(answered.direction == .inbound)                                   // CALL TYPE
        #expect(answered.agent.id == "alex.agent@example.com")                    // AGENT
        #expect(answered.agent.email == "alex.agent@example.com")
        #expect(answered.agent.name == "Alex Agent")                              // AGENT NAME
        #expect(answered.tags == ["Appointment Set"])                             // DISPOSITION
        #expect(answered.status == .answered)                                     // DISPOSITION, ABANDONED 0, TALK TIME > 0
        #expect(answered.callerNumber == "+15555550123")                          // ANI
        #expect(answered.callerName == "Pat Example")                             // CUSTOMER NAME
        #expect(answered.dialedNumber == "+15555550199")                          // DNIS
        #expect(answered.durationSeconds == 160)                                  // CALL TIME 0:02:40
        #expect(answered.endedAt == Self.at("2024-05-14T18:32:40Z"))
        #expect(answered.ringSeconds == 5)                                        // RING TIME
        #expect(answered.talkSeconds == 110)                                      // TALK TIME 0:01:50
        // Columns with no CallEvent field (BILL TIME, COST, IVR/QUEUE/HOLD/PARK/ACW, counts) stay in raw only.
        #expect(answered.recordingURL == nil && answered.destinationNumber == nil && answered.firstCall == nil)

        let abandoned = try Self.map(records[1])
        #expect(abandoned.sourceCallID == "300000000123457")
        #expect(abandoned.startedAt == Self.at("2024-05-14T18:42:41Z"))
        #expect(abandoned.status == .missed)
        #expect(abandoned.agent == CallContent.Agent())
        #expect(abandoned.callerName == nil)
        #expect(abandoned.durationSeconds == 37 && abandoned.talkSeconds == 0 && abandoned.ringSeconds == 0)
        #expect(abandoned.tags == ["Abandon"])
    }

    @Test("the getReportResult sample (header.values.data / records[].values.data) maps like the CSV")
    func jsonSample() throws {
        let url = try #require(Bundle.module.url(forResource: "five9.calllog.report-result.sample", withExtension: "json", subdirectory: "Fixtures"))
        let document = try JSONValue.parse(Array(try Data(contentsOf: url)))
        let header = try #require(document[path: "header", "values", "data"]?.arrayValue).compactMap(\.text)
        let rows = try #require(document["records"]?.arrayValue).map { record in
            (record[path: "values", "data"]?.arrayValue ?? []).map { $0.text ?? "" }
        }
        let table = try Self.sampleTable()
        let fromJSON = try Five9Mapping.records(header: header, rows: rows).map(Self.map)
        let fromCSV = try Five9Mapping.records(header: table[0], rows: Array(table.dropFirst())).map(Self.map)
        #expect(fromJSON.count == 2)
        #expect(fromJSON == fromCSV)
    }

    @Test("columns are found by header name: reordered and extra columns change nothing")
    func byHeaderName() throws {
        let table = try Self.sampleTable()
        let order = Array(table[0].indices.reversed())
        let header = order.map { table[0][$0] } + ["SESSION ID"]
        let row = order.map { table[1][$0] } + ["abc"]
        let shuffled = try Self.map(Self.record(header, [row]))
        let original = try Self.map(Self.record(table[0], [table[1]]))
        #expect(shuffled == original)
        // A custom report without the duration columns still maps; the missing fields stay unset.
        let slim = try Self.map(Self.record(["CALL ID", "TIMESTAMP", "CALL TYPE"], [["42", "Tue, 14 May 2024 11:30:00", "Outbound"]]))
        #expect(slim.sourceCallID == "42" && slim.direction == .outbound && slim.durationSeconds == nil && slim.status == .unknown)
    }

    @Test("Pacific wall time to UTC across DST: summer (PDT, -7), winter (PST, -8) and both sides of the spring change",
          arguments: [
            ("Tue, 14 May 2024 11:30:00", "2024-05-14T18:30:00Z"),
            ("Tue, 14 Jan 2025 11:30:00", "2025-01-14T19:30:00Z"),
            ("Sun, 10 Mar 2024 01:59:59", "2024-03-10T09:59:59Z"),
            ("Sun, 10 Mar 2024 03:00:00", "2024-03-10T10:00:00Z"),
            ("Sun, 03 Nov 2024 03:00:00", "2024-11-03T11:00:00Z"),
            ("Tue, 31 Dec 2024 23:59:59", "2025-01-01T07:59:59Z"),
            ("2024-05-14 11:30:00", "2024-05-14T18:30:00Z"),
            ("05/14/2024 11:30:00", "2024-05-14T18:30:00Z"),
          ])
    func pacificToUTC(text: String, utc: String) throws {
        let content = try Self.map(Self.record(["CALL ID", "TIMESTAMP"], [["1", text]]))
        #expect(content.startedAt == Self.at(utc))
    }

    @Test("a transferred call's two rows collapse: earliest start, summed times, the last leg's agent and disposition")
    func multiRowCollapse() throws {
        let header = ["CALL ID", "TIMESTAMP", "CALL TYPE", "AGENT", "AGENT NAME", "DISPOSITION", "ANI", "DNIS", "CUSTOMER NAME",
                      "CALL TIME", "RING TIME", "TALK TIME", "TRANSFERS", "ABANDONED"]
        let first = ["77", "Tue, 14 May 2024 10:00:00", "Inbound", "a@example.com", "Agent A", "Transferred To 3rd Party",
                     "5555550123", "5555550199", "Pat", "0:01:20", "0:00:10", "0:01:00", "1", "0"]
        let second = ["77", "Tue, 14 May 2024 10:01:20", "Inbound", "b@example.com", "Agent B", "Sale",
                      "5555550123", "5555550199", "", "0:02:00", "0:00:00", "0:02:00", "0", "0"]
        let other = ["78", "Tue, 14 May 2024 10:00:30", "Outbound", "", "", "No Answer", "5555550100", "5555550124", "",
                     "0:00:30", "0:00:30", "0:00:00", "0", "0"]
        // Rows of one call need not be adjacent; records keep the order of first appearance.
        let records = Five9Mapping.records(header: header, rows: [first, other, second])
        #expect(records.count == 2)
        #expect(records[0]["rows"]?.arrayValue?.count == 2 && records[1]["rows"]?.arrayValue?.count == 1)

        let call = try Self.map(records[0])
        #expect(call.sourceCallID == "77")
        #expect(call.startedAt == Self.at("2024-05-14T17:00:00Z"))
        #expect(call.durationSeconds == 200 && call.talkSeconds == 180 && call.ringSeconds == 10)
        #expect(call.endedAt == Self.at("2024-05-14T17:03:20Z"))
        #expect(call.agent == CallContent.Agent(id: "b@example.com", name: "Agent B", email: "b@example.com"))
        #expect(call.tags == ["Sale"] && call.status == .answered && call.direction == .inbound)
        #expect(call.callerName == "Pat" && call.callerNumber == "+15555550123")
        // The same rows in the other order give the same call.
        #expect(try Self.map(Self.record(header, [second, first])).startedAt == call.startedAt)

        let missed = try Self.map(records[1])
        #expect(missed.status == .missed && missed.direction == .outbound && missed.agent == CallContent.Agent())
    }

    @Test("a call none of whose rows has a TIMESTAMP is rejected, not loaded without a start (issue 20)")
    func noStartTime() throws {
        func reason(_ rows: [[String]]) throws -> String? {
            do { _ = try Self.map(Self.record(["CALL ID", "TIMESTAMP", "CALL TIME"], rows)); return nil }
            catch let error as MappingError { return error.reason }
        }
        #expect(try reason([["1", "", "0:01:00"]]) == #"unparseable start time (TIMESTAMP: "")"#)
        #expect(try reason([["1", "", "0:01:00"], ["1", "", "0:00:30"]]) == #"unparseable start time (TIMESTAMP: "")"#)
        // One leg with a start is enough: the call starts then.
        let twoLegs = try Self.map(Self.record(["CALL ID", "TIMESTAMP", "CALL TIME"],
                                               [["1", "", "0:01:00"], ["1", "2024-05-14 11:30:00", "0:00:30"]]))
        #expect(twoLegs.startedAt == Self.at("2024-05-14T18:30:00Z"))
    }

    @Test("a bad row fails its own call only, naming the column")
    func badRows() throws {
        let header = ["CALL ID", "TIMESTAMP", "ANI", "CALL TIME"]
        let records = Five9Mapping.records(header: header, rows: [
            ["1", "Fri, 30 Feb 2024 25:61:00", "5555550123", "0:01:00"],
            ["2", "Tue, 14 May 2024 11:30:00", "call-me-maybe", "0:01:00"],
            ["3", "Tue, 14 May 2024 11:30:00", "5555550123", "1:75:00"],
            ["", "Tue, 14 May 2024 11:30:00", "5555550123", "0:01:00"],
        ])
        #expect(records.count == 4)
        #expect { try Self.map(records[0]) } throws: { ($0 as? MappingError)?.reason.contains("TIMESTAMP") == true }
        // A garbage number is kept as sent, as for the other vendors; the call maps.
        #expect(try Self.map(records[1]).callerNumber == "call-me-maybe")
        #expect { try Self.map(records[2]) } throws: { ($0 as? MappingError)?.reason.contains("CALL TIME") == true }
        #expect { try Self.map(records[3]) } throws: { ($0 as? MappingError)?.reason.contains("CALL ID") == true }
        let mixed: JSONValue = .object(["rows": .array([.object(["CALL ID": .string("1")]), .object(["CALL ID": .string("2")])])])
        #expect { try Self.map(mixed) } throws: { ($0 as? MappingError)?.reason.contains("different calls") == true }
        #expect(throws: MappingError.self) { try Self.map(.array([])) }
        #expect(throws: MappingError.self) { try Self.map(.object(["rows": .array([])])) }
    }

    @Test("CALL TYPE to direction", arguments: [
        ("Inbound", CallContent.Direction.inbound), ("Inbound Voicemail", .inbound), ("Outbound", .outbound), ("Manual", .outbound),
        ("Preview", .outbound), ("Autodial", .outbound), ("Queue Callback", .outbound), ("Internal", .internal), ("Agent", .internal),
        ("Something New", .unknown), ("", .unknown),
    ])
    func direction(type: String, expected: CallContent.Direction) throws {
        #expect(try Self.map(Self.record(["CALL ID", "TIMESTAMP", "CALL TYPE"], [["1", "Tue, 14 May 2024 11:30:00", type]])).direction == expected)
    }

    @Test("DISPOSITION and ABANDONED to status", arguments: [
        ("Sale", "0", "0:01:00", CallContent.Status.answered), ("Sale", "1", "0:00:00", .missed), ("Abandon", "0", "0:00:00", .missed),
        ("No Answer", "0", "0:00:00", .missed), ("Voicemail", "0", "0:00:30", .voicemail), ("Left Voicemail", "0", "0:00:30", .voicemail),
        ("Busy", "0", "0:00:00", .busy), ("Operator Intercept", "0", "0:00:00", .failed), ("Custom", "0", "0:00:00", .missed),
    ])
    func status(disposition: String, abandoned: String, talk: String, expected: CallContent.Status) throws {
        let content = try Self.map(Self.record(["CALL ID", "TIMESTAMP", "DISPOSITION", "ABANDONED", "TALK TIME"],
                                                  [["1", "Tue, 14 May 2024 11:30:00", disposition, abandoned, talk]]))
        #expect(content.status == expected)
    }
}
