import CallFeedCore
import Testing

/// RFC 4180 reading and writing (Five9's getReportResultCsv).
@Suite struct CSVReaderTests {
    @Test("quoted fields with commas, \"\" escapes and line breaks; CRLF and LF; no empty record at the end")
    func quoting() throws {
        let text = "CALL ID,TIMESTAMP,NOTE\r\n1,\"Tue, 14 May 2024 11:30:00\",\"said \"\"hi\"\"\"\r\n2,x,\"two\r\nlines\nhere\"\n3,,\r\n"
        let rows = try CSV.parse(text)
        #expect(rows == [
            ["CALL ID", "TIMESTAMP", "NOTE"],
            ["1", "Tue, 14 May 2024 11:30:00", "said \"hi\""],
            ["2", "x", "two\r\nlines\nhere"],
            ["3", "", ""],
        ])
    }

    @Test("no final line break, empty input, a byte order mark, an empty quoted field")
    func edges() throws {
        #expect(try CSV.parse("a,b\n1,2") == [["a", "b"], ["1", "2"]])
        #expect(try CSV.parse("") == [])
        #expect(try CSV.parse("\u{FEFF}a\r\n") == [["a"]])
        #expect(try CSV.parse("\"\",x") == [["", "x"]])
        #expect(try CSV.parse("a,\n\nb") == [["a", ""], [""], ["b"]])
    }

    @Test("write then parse gives the rows back")
    func roundTrip() throws {
        let rows = [["CALL ID", "NAME"], ["1", "O'Brien, \"Pat\""], ["2", "line\r\nbreak"], ["3", ""]]
        let text = CSV.write(rows)
        #expect(text.hasPrefix("CALL ID,NAME\r\n1,\"O'Brien, \"\"Pat\"\"\"\r\n"))
        #expect(try CSV.parse(text) == rows)
    }

    @Test("broken quoting is refused with the line", arguments: [
        ("a,b\n1,\"open", "unterminated", 2),
        ("a,b\"c\n", "quote inside", 1),
        ("a\n\"x\"y,z\n", "after a closing quote", 2),
    ])
    func refused(text: String, reason: String, line: Int) {
        #expect {
            try CSV.parse(text)
        } throws: { error in
            guard let error = error as? CSV.ParseError else { return false }
            return error.reason.contains(reason) && error.line == line
        }
    }
}
