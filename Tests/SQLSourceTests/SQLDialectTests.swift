import CallFeedCore
import CallFeedPoll
import CallFeedSQLPoll
import Foundation
import Testing

/// The page queries each dialect writes (SQL Server's cannot be run here: no server, see
/// docs/pollers-genius.md "MarketSharp"), and the names a table map may hold.
@Suite struct SQLDialectTests {
    static let leads = SQLTable(entity: "leads", table: "public.leads", key: ["lead_id"], modified: "modified")
    static let composite = SQLTable(entity: "links", table: "dbo.ContactLink", key: ["ContactId", "LinkId"], modified: "LastUpdate",
                                    columns: ["ContactId", "LinkId", "LastUpdate", "Kind"])

    @Test func postgresPagesAreKeysetsNeverOffsets() {
        let first = SQLDialect.postgresql.pageQuery(Self.leads, since: true, after: false, limit: 500)
        #expect(first.sql == #"SELECT * FROM "public"."leads" WHERE "modified" >= $1 AND "modified" < $2 ORDER BY "modified", "lead_id" LIMIT 500"#)
        #expect(first.parameters == [.since, .until])
        let next = SQLDialect.postgresql.pageQuery(Self.leads, since: true, after: true, limit: 500)
        #expect(next.sql == #"SELECT * FROM "public"."leads" WHERE "modified" >= $1 AND "modified" < $2 AND ("modified", "lead_id") > ($3, $4) ORDER BY "modified", "lead_id" LIMIT 500"#)
        #expect(next.parameters == [.since, .until, .after(0), .after(1)])
        #expect(!next.sql.contains("OFFSET"))
    }

    @Test func aFullReadIsInKeyOrderWithNoBoundOnModified() {
        let full = SQLDialect.postgresql.pageQuery(Self.leads, since: false, after: true, limit: 10)
        #expect(full.sql == #"SELECT * FROM "public"."leads" WHERE ("lead_id") > ($1) ORDER BY "lead_id" LIMIT 10"#)
        #expect(full.parameters == [.after(0)])
    }

    @Test func sqlServerSpellsTheRowComparisonOut() {
        let next = SQLDialect.sqlServer.pageQuery(Self.composite, since: true, after: true, limit: 1000)
        #expect(next.sql == "SELECT TOP (1000) [ContactId], [LinkId], [LastUpdate], [Kind] FROM [dbo].[ContactLink] "
            + "WHERE [LastUpdate] >= @P1 AND [LastUpdate] < @P2 AND ([LastUpdate] > @P3 OR ([LastUpdate] = @P3 AND "
            + "([ContactId] > @P4 OR ([ContactId] = @P4 AND ([LinkId] > @P5))))) ORDER BY [LastUpdate], [ContactId], [LinkId]")
        #expect(next.parameters == [.since, .until, .after(0), .after(1), .after(2)])
        let first = SQLDialect.sqlServer.pageQuery(Self.composite, since: false, after: false, limit: 5)
        #expect(first.sql == "SELECT TOP (5) [ContactId], [LinkId], [LastUpdate], [Kind] FROM [dbo].[ContactLink] ORDER BY [ContactId], [LinkId]")
        #expect(first.parameters.isEmpty)
    }

    @Test func tableMapsHoldNamesNotSQL() throws {
        try Self.leads.validate()
        try Self.composite.validate()
        let bad = [
            SQLTable(entity: "leads", table: "leads; DROP TABLE leads", key: ["id"], modified: "modified"),
            SQLTable(entity: "leads", table: "leads", key: ["id\" OR 1=1 --"], modified: "modified"),
            SQLTable(entity: "Leads", table: "leads", key: ["id"], modified: "modified"),
            SQLTable(entity: "leads", table: "a.b.c", key: ["id"], modified: "modified"),
            SQLTable(entity: "leads", table: "leads", key: [], modified: "modified"),
            SQLTable(entity: "leads", table: "leads", key: ["id"], modified: "modified", columns: ["id", "name"]),
        ]
        for table in bad {
            #expect(throws: PollError.self, "\(table)") { try table.validate() }
        }
    }
}

/// Cells as each driver prints them, and the JSON an entity record carries.
@Suite struct SQLValueTests {
    let utc = SQLValues(timeZone: TimeZone(identifier: "UTC")!)
    let newYork = SQLValues(timeZone: TimeZone(identifier: "America/New_York")!)

    @Test func postgresTypesByOID() {
        #expect(SQLColumnType.postgres(oid: 16) == .bool)
        #expect(SQLColumnType.postgres(oid: 23) == .integer)
        #expect(SQLColumnType.postgres(oid: 1700) == .decimal)
        #expect(SQLColumnType.postgres(oid: 1114) == .localDateTime)
        #expect(SQLColumnType.postgres(oid: 1184) == .zonedDateTime)
        #expect(SQLColumnType.postgres(oid: 3802) == .json)
        #expect(SQLColumnType.postgres(oid: 25) == .text)
        #expect(utc.json("t", .bool) == .bool(true))
        #expect(utc.json("42", .integer) == .int(42))
        #expect(utc.json("12.50", .decimal) == .string("12.50"))
        #expect(utc.json(#"{"a":[1,2]}"#, .json) == .object(["a": .array([.int(1), .int(2)])]))
        #expect(utc.json(nil, .text) == .null)
        #expect(utc.json("2024-03-01 12:34:56.123456", .localDateTime) == .string("2024-03-01T12:34:56.123456Z"))
        #expect(utc.json("2024-03-01 12:34:56+00", .zonedDateTime) == .string("2024-03-01T12:34:56Z"))
        #expect(utc.json("2024-03-01 12:34:56.5-05:30", .zonedDateTime) == .string("2024-03-01T18:04:56.5Z"))
    }

    /// SQL Server cells as FreeTDS converts them to text (`dbconvert` to SYBCHAR, the default
    /// date format of freetds.conf `date format = %Y-%m-%d %H:%M:%S.%z`): recorded, not run.
    @Test func sqlServerTypesByName() {
        let cells: [(String, String, JSONValue)] = [
            ("bit", "1", .bool(true)), ("bit", "0", .bool(false)),
            ("int", "-7", .int(-7)), ("bigint", "9007199254740993", .int(9_007_199_254_740_993)),
            ("money", "12.3400", .string("12.3400")), ("decimal", "0.10", .string("0.10")),
            ("float", "2.5", .double(2.5)),
            ("datetime", "2024-03-01 12:34:56.123", .string("2024-03-01T12:34:56.123Z")),
            ("datetime2", "2024-03-01 12:34:56.1234567", .string("2024-03-01T12:34:56.1234567Z")),
            ("datetimeoffset", "2024-03-01 12:34:56.1234567 +01:00", .string("2024-03-01T11:34:56.1234567Z")),
            ("uniqueidentifier", "6F9619FF-8B86-D011-B42D-00C04FC964FF", .string("6F9619FF-8B86-D011-B42D-00C04FC964FF")),
            ("nvarchar", "Zoë", .string("Zoë")),
        ]
        for (type, text, expected) in cells {
            #expect(utc.json(text, .sqlServer(typeName: type)) == expected, "\(type) \(text)")
        }
    }

    @Test func zoneLessTimesAreReadAndBoundInTheDatabasesZone() throws {
        // 09:00 in New York is 14:00 UTC in winter (EST) and 13:00 in summer (EDT).
        #expect(newYork.json("2024-01-15 09:00:00", .localDateTime) == .string("2024-01-15T14:00:00Z"))
        #expect(newYork.json("2024-07-15 09:00:00", .localDateTime) == .string("2024-07-15T13:00:00Z"))
        let summer = try #require(Timestamp.parseISO8601("2024-07-15T13:00:00.250Z"))
        #expect(newYork.local(summer) == "2024-07-15 09:00:00.250")
        #expect(utc.local(summer) == "2024-07-15 13:00:00.250")
        #expect(newYork.instant("2024-07-15 09:00:00.250", .localDateTime)?.timestamp == summer)
        #expect(utc.instant("yesterday", .localDateTime) == nil)
    }
}
