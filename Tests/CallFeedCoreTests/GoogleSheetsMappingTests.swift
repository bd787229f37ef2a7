import CallFeedCore
import CallFeedVendors
import Testing

/// Rows of a Sheets `ValueRange` to entity records: column names, keys, ragged rows, serial dates.
@Suite struct GoogleSheetsMappingTests {
    @Test func headersBecomeSnakeCaseNamesAndEmptyOrRepeatedOnesAreNumbered() {
        #expect(GoogleSheetsMapping.columnName("Lead ID") == "lead_id")
        #expect(GoogleSheetsMapping.columnName("  Cost ($) ") == "cost")
        #expect(GoogleSheetsMapping.columnName("Créé le") == "cr_le")
        #expect(GoogleSheetsMapping.columnName("UTM-Source/Medium") == "utm_source_medium")
        let names = GoogleSheetsMapping.columnNames(header: [.string("Phone"), .string(""), .string("phone"), .int(2024)], width: 6)
        #expect(names == ["phone", "column_2", "phone_2", "2024", "column_5", "column_6"])
    }

    @Test func theFirstRowNumberComesFromTheAnswersRange() {
        #expect(GoogleSheetsMapping.firstRowNumber(of: "Leads!A1:G20") == 1)
        #expect(GoogleSheetsMapping.firstRowNumber(of: "'Marketing Leads'!B3:F") == 3)
        #expect(GoogleSheetsMapping.firstRowNumber(of: "Leads") == 1)
        #expect(GoogleSheetsMapping.firstRowNumber(of: "Leads!$C$12:$D$40") == 12)
    }

    @Test func raggedRowsBlankRowsKeysAndDuplicates() throws {
        let mapping = GoogleSheetsMapping(keyColumns: ["Lead ID"])
        let values: [JSONValue] = [
            .array([.string("Lead ID"), .string("Name"), .string("Status")]),
            .array([.string("A-1"), .string("Ann"), .string("New")]),
            .array([.string("A-2"), .string("Bob")]),          // trailing cell omitted
            .array([]),                                          // a blank row
            .array([.string(""), .string("Nobody")]),            // no key
            .array([.int(7), .string(""), .string("Won"), .string("extra")]),  // numeric key, empty cell, a cell past the header
            .array([.string("A-1"), .string("Ann again")]),      // repeats row 3's key
        ]
        let records = mapping.records(values: values, range: "Leads!A2:D9", timeZone: "UTC")
        #expect(records.map { $0["row"]?.integer } == [3, 4, 6, 7, 8])
        let first = try mapping.entity(from: records[0])
        #expect(first.id == "A-1")
        #expect(first.data == .object(["lead_id": .string("A-1"), "name": .string("Ann"), "status": .string("New"), "column_4": .null]))
        let second = try mapping.entity(from: records[1])
        #expect(second.data["status"] == .null)
        let noKey = #expect(throws: MappingError.self) { try mapping.entity(from: records[2]) }
        #expect(noKey?.reason == "row 6 has no lead_id (a key column)")
        let numeric = try mapping.entity(from: records[3])
        #expect(numeric.id == "7")
        #expect(numeric.data["name"] == .null)
        #expect(numeric.data["column_4"] == .string("extra"))
        let repeated = #expect(throws: MappingError.self) { try mapping.entity(from: records[4]) }
        #expect(repeated?.reason.contains("row 8 repeats the key A-1 of row 3") == true)
    }

    @Test func withoutKeysTheRowNumberIsTheId() throws {
        let mapping = GoogleSheetsMapping()
        let records = mapping.records(values: [.array([.string("a")]), .array([.string("x")]), .array([.string("y")])], range: "S!A1:A3", timeZone: "UTC")
        #expect(try records.map { try mapping.entity(from: $0).id } == ["row 2", "row 3"])
    }

    @Test func serialNumbersBecomeDatesAndWallTimesInTheSheetsZone() throws {
        // 45658 = 2025-01-01; .75 = 18:00 local; Denver is UTC-7 in January, UTC-6 in July (45839 = 2025-07-01).
        let mapping = GoogleSheetsMapping(keyColumns: ["id"], dateColumns: ["Day"], modifiedColumn: "Changed")
        let values: [JSONValue] = [
            .array([.string("id"), .string("Day"), .string("Changed")]),
            .array([.string("1"), .int(45658), .double(45658.75)]),
            .array([.string("2"), .double(45839), .double(45839.75)]),
            .array([.string("3"), .string("2025-03-04"), .string("2025-03-04 08:30:00")]),
            .array([.string("4"), .string("TBD")]),
        ]
        let records = mapping.records(values: values, range: "S!A1:C5", timeZone: "America/Denver")
        let winter = try mapping.entity(from: records[0])
        #expect(winter.data["day"] == .string("2025-01-01"))
        #expect(winter.data["changed"] == .string("2025-01-02T01:00:00Z"))
        #expect(winter.updatedAt == Timestamp.parseISO8601("2025-01-02T01:00:00Z"))
        let summer = try mapping.entity(from: records[1])
        #expect(summer.data["day"] == .string("2025-07-01"))
        #expect(summer.data["changed"] == .string("2025-07-02T00:00:00Z"))
        let text = try mapping.entity(from: records[2])
        #expect(text.data["day"] == .string("2025-03-04"))
        #expect(text.data["changed"] == .string("2025-03-04T15:30:00Z"))
        // Found by the fuzzer: a number no date can be is refused, not a crash converting it.
        for huge in [JSONValue.double(1e300), .double(-1e20), .int(Int64.max)] {
            let record = mapping.records(values: [values[0], .array([.string("9"), huge])], range: "S!A1:B2", timeZone: "UTC")[0]
            let refused = #expect(throws: MappingError.self) { try mapping.entity(from: record) }
            #expect(refused?.reason.contains("outside the dates a sheet can hold") == true)
        }
        let odd = #expect(throws: MappingError.self) { try mapping.entity(from: records[3]) }
        #expect(odd?.reason.hasPrefix("row 5 column day holds \"TBD\", not a date") == true)
    }
}
