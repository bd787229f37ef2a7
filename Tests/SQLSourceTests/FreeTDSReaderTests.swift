import CallFeedCore
import CallFeedPoll
import CallFeedSQLPoll
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// MarketSharp's SQL Server reader (FreeTDS DB-Library). No SQL Server can run here, so what is
/// tested is what needs none: the batch text, the type names, and how a connection that is not
/// a SQL Server fails (real sockets on 127.0.0.1).
@Suite struct FreeTDSReaderTests {
    @Test func parametersBecomeAnSpExecutesqlBatchWithEscapedUnicodeLiterals() {
        let sql = SQLDialect.sqlServer.pageQuery(SQLTable(entity: "contacts", table: "dbo.Contact", key: ["ContactId"], modified: "LastUpdate"),
                                                 since: true, after: true, limit: 2).sql
        let batch = FreeTDSReader.batch(sql, ["2024-03-01 00:00:00.000", "2024-03-02 00:00:00.000", "2024-03-01 08:00:00.997", "O'Brien"])
        #expect(batch == "EXEC sp_executesql N'" + sql + "', N'@P1 nvarchar(4000), @P2 nvarchar(4000), @P3 nvarchar(4000), @P4 nvarchar(4000)', "
            + "@P1 = N'2024-03-01 00:00:00.000', @P2 = N'2024-03-02 00:00:00.000', @P3 = N'2024-03-01 08:00:00.997', @P4 = N'O''Brien'")
        #expect(FreeTDSReader.batch("SELECT 1", []) == "SELECT 1")
        #expect(FreeTDSReader.batch("SELECT @P1", [nil]) == "EXEC sp_executesql N'SELECT @P1', N'@P1 nvarchar(4000)', @P1 = NULL")
        // A quote inside the statement (a bracketed name with a quote) is doubled too: the batch stays one statement.
        #expect(FreeTDSReader.literal("[O'Neil's]") == "N'[O''Neil''s]'")
        #expect(FreeTDSReader.sessionSetup(statementTimeoutSeconds: 30).hasPrefix("SET DATEFORMAT ymd; SET LOCK_TIMEOUT 30000;"))
    }

    @Test func dbLibraryTypeCodesMapToTheSQLServerTypesCallFeedReads() {
        // sybdb.h codes: SYBBIT 50, SYBINT4 56, SYBINT8 127, SYBFLT8 62, SYBDECIMAL 106, SYBMONEY 60, SYBDATETIME 61,
        // SYBDATETIME4 58, SYBMSDATETIME2 42, SYBMSDATETIMEOFFSET 43, SYBMSDATE 40, SYBVARBINARY 37, SYBUNIQUE 36, SYBCHAR 47.
        let expected: [(Int32, String, SQLColumnType)] = [
            (50, "bit", .bool), (56, "int", .integer), (127, "bigint", .integer), (62, "float", .float), (106, "decimal", .decimal),
            (60, "money", .decimal), (61, "datetime", .localDateTime), (58, "smalldatetime", .localDateTime), (42, "datetime2", .localDateTime),
            (43, "datetimeoffset", .zonedDateTime), (40, "date", .date), (37, "varbinary", .bytes), (36, "uniqueidentifier", .text),
            (47, "nvarchar", .text),
        ]
        for (code, name, type) in expected {
            #expect(FreeTDSReader.typeName(code: code) == name, "\(code)")
            #expect(SQLColumnType.sqlServer(typeName: FreeTDSReader.typeName(code: code)) == type, "\(code)")
        }
        // The text the driver writes for each date-time kind reads back as the instant (database zone UTC).
        let values = SQLValues(timeZone: TimeZone(identifier: "UTC")!)
        #expect(values.json("2024-03-01 08:00:00.997", .localDateTime) == .string("2024-03-01T08:00:00.997Z"))
        #expect(values.json("2024-03-01 08:00:00.1234567", .localDateTime) == .string("2024-03-01T08:00:00.1234567Z"))
        #expect(values.json("2024-03-01 08:00:00.1234567 +05:30", .zonedDateTime) == .string("2024-03-01T02:30:00.1234567Z"))
    }

    @Test func aRefusedConnectionIsRetriedThenNamed() throws {
        let port = try Self.closedPort()
        let reader = FreeTDSReader(host: "127.0.0.1", port: port, user: "reader", password: "secret-password", database: "MarketSharp",
                                   loginTimeoutSeconds: 2, maxRetries: 1)
        let error = #expect(throws: PollError.self) { _ = try reader.rows("SELECT 1", []) }
        #expect(error?.kind == .vendor)
        #expect(error?.reason.contains("MarketSharp (127.0.0.1:\(port)): cannot connect") == true)
        #expect(error?.reason.contains("secret-password") == false)
    }

    @Test func aServerThatDoesNotSpeakTDSFailsCleanly() throws {
        // Accepts, answers as an HTTP server would, closes.
        let (listener, port) = try Self.listen()
        defer { close(listener) }
        let accepted = Thread {
            for _ in 0..<2 {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                _ = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".withCString { write(client, $0, strlen($0)) }
                close(client)
            }
        }
        accepted.start()
        let reader = FreeTDSReader(host: "127.0.0.1", port: port, user: "reader", password: "p", database: "MarketSharp",
                                   loginTimeoutSeconds: 2, maxRetries: 1)
        let error = #expect(throws: PollError.self) { _ = try reader.rows("SELECT 1", []) }
        #expect(error?.reason.contains("cannot connect") == true)
    }

    // MARK: Sockets

    static func listen() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, Glibc.listen(fd, 4) == 0 else { throw PollError(.state, "cannot listen") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A loopback port nothing listens on (bound, then closed).
    static func closedPort() throws -> Int {
        let (fd, port) = try listen()
        close(fd)
        return port
    }
}
