import CallFeedCore
import Foundation
import Testing

/// The hand-written JSON parser behind ``JSONValue/parse(_:)``: what it accepts, what it builds,
/// and that it refuses everything RFC 8259 does not allow, with the byte offset.
@Suite struct JSONParserTests {
    @Test func valuesOfEveryKind() throws {
        let text = #" { "a": [1, -2, 3.5, 1e3, -0, 9223372036854775807, 9223372036854775808], "b": {"c": null, "d": true, "e": false}, "s": "x\"y\\z\/\n\t\u00e9\ud83d\ude00", "u": "żółw" } "#
        let value = try JSONValue.parse(Array(text.utf8))
        #expect(value["a"] == .array([.int(1), .int(-2), .double(3.5), .double(1000), .int(0), .int(Int64.max), .double(9223372036854775808)]))
        #expect(value[path: "b", "c"] == .null)
        #expect(value[path: "b", "d"] == .bool(true))
        #expect(value[path: "b", "e"] == .bool(false))
        #expect(value["s"] == .string("x\"y\\z/\n\té😀"))
        #expect(value["u"] == .string("żółw"))
        #expect(try JSONValue.parse(Array("[]".utf8)) == .array([]))
        #expect(try JSONValue.parse(Array("{}".utf8)) == .object([:]))
        #expect(try JSONValue.parse(Array("\"top\"".utf8)) == .string("top"))
        #expect(try JSONValue.parse(Array(#"{"k":1,"k":2}"#.utf8)) == .object(["k": .int(2)]))
    }

    @Test func agreesWithFoundationOnTheFixtures() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
        #expect(files.count > 10)
        for file in files {
            let data = try Data(contentsOf: folder.appendingPathComponent(file))
            let ours = try JSONValue.parse(Array(data))
            let theirs = try JSONDecoder().decode(JSONValue.self, from: data)
            // Foundation may read 1.0 as an integer; compare canonical text, where both are `1`.
            #expect(ours.canonicalJSON == theirs.canonicalJSON, "\(file)")
        }
    }

    @Test(arguments: [
        ("", "unexpected end of data"), ("{", "expected a string key"), ("[1,]", "unexpected character"),
        ("{\"a\" 1}", "expected ':'"), ("[1 2]", "expected ',' or ']'"), ("01", "leading zero"), ("1.", "invalid number"),
        ("-", "invalid number"), ("1e", "invalid number"), ("tru", "unexpected end of data"), ("nul!", "invalid literal"),
        ("\"a\nb\"", "control character"), ("\"\\x\"", "invalid escape"), ("\"\\ud800\"", "unpaired surrogate"),
        ("\"\\u12G4\"", "invalid \\u escape"), ("\"abc", "unterminated string"), ("{} x", "unexpected data after"),
        ("1e999", "out of range"),
    ])
    func malformedInputIsRefused(text: String, expected: String) {
        #expect {
            _ = try JSONValue.parse(Array(text.utf8))
        } throws: { error in
            (error as? JSONValue.ParseError)?.reason.contains(expected) == true
        }
    }

    @Test func invalidUTF8AndDeepNestingAreRefused() {
        #expect(throws: JSONValue.ParseError.self) { _ = try JSONValue.parse([0x22, 0xC3, 0x28, 0x22]) }
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect {
            _ = try JSONValue.parse(Array(deep.utf8))
        } throws: { error in
            (error as? JSONValue.ParseError)?.reason.contains("nesting deeper than 512") == true
        }
        let fine = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect((try? JSONValue.parse(Array(fine.utf8))) != nil)
    }

    @Test func canonicalTextParsesBackToItself() throws {
        let text = #"{"b":[1,2.5,"x\u0001"],"a":{"z":null,"y":-3}}"#
        let once = try JSONValue.parse(Array(text.utf8)).canonicalJSON
        #expect(try JSONValue.parse(Array(once.utf8)).canonicalJSON == once)
        #expect(once.hasPrefix(#"{"a":{"y":-3,"z":null},"b":"#))
    }
}
