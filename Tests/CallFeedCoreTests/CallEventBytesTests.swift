import CallFeedCore
import CallFeedTestSupport
import Crypto
import Foundation
import Testing

/// `CallEvent.jsonBytes()` and the revision hash are written by hand; they must stay byte for byte
/// what `JSONEncoder([.sortedKeys, .withoutEscapingSlashes])` writes, or every stored revision and
/// published event would change. Compared on every fixture, the conformance scenario and random text.
@Suite struct CallEventBytesTests {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    func assertSameBytes(_ event: CallEvent, _ label: String) throws {
        let handWritten = event.jsonBytes()
        let foundation = event.foundationJSONBytes()
        #expect(handWritten == foundation, "\(label):\n  hand:       \(String(decoding: handWritten, as: UTF8.self))\n  foundation: \(String(decoding: foundation, as: UTF8.self))")
        let contentBytes = Array(try Self.encoder.encode(event.content))
        #expect(event.content.jsonBytes() == contentBytes, "\(label): content bytes")
        let expectedRevision = SHA256.hash(data: contentBytes).map { String(format: "%02x", $0) }.joined()
        #expect(EventIdentity.revision(of: event.content) == expectedRevision, "\(label): revision")
    }

    @Test func everyMappedSampleAndFixture() throws {
        for (index, sample) in try Fixture.allMappedSamples().enumerated() {
            let channel = CallEvent.Channel.allCases[index % CallEvent.Channel.allCases.count]
            try assertSameBytes(CallEvent(content: sample.content, channel: channel, receivedAt: .now()), sample.name)
        }
        try assertSameBytes(WarehouseFixtures.richEvent(), "rich")
        try assertSameBytes(WarehouseFixtures.awkwardEvent(), "awkward")
        try assertSameBytes(WarehouseFixtures.sparseEvent(), "sparse")
    }

    @Test func theConformanceScenario() throws {
        for (index, event) in ConformanceScenario().events.enumerated() { try assertSameBytes(event, "scenario #\(index)") }
    }

    @Test func randomText() throws {
        var generator = SystemRandomNumberGenerator()
        let pool: [Unicode.Scalar] = (0..<0x80).compactMap(Unicode.Scalar.init) + ["é", "ß", "\u{2028}", "\u{2029}", "\u{feff}", "📞", "中", "\u{7f}"]
        func text() -> String {
            var string = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0..<12, using: &generator) { string.append(pool.randomElement(using: &generator)!) }
            return String(string)
        }
        for round in 0..<500 {
            var content = CallContent(source: text(), sourceAccountID: text(), sourceCallID: text(),
                                      direction: CallContent.Direction.allCases.randomElement(using: &generator)!,
                                      status: CallContent.Status.allCases.randomElement(using: &generator)!)
            content.callerName = Bool.random(using: &generator) ? text() : nil
            content.agent = CallContent.Agent(id: Bool.random(using: &generator) ? text() : nil, name: text(), email: nil)
            content.tracking.term = Bool.random(using: &generator) ? text() : nil
            content.tracking.gaClientID = text()
            content.location.city = Bool.random(using: &generator) ? text() : nil
            content.tags = (0..<Int.random(in: 0..<4, using: &generator)).map { _ in text() }
            content.durationSeconds = Bool.random(using: &generator) ? Int64.random(in: Int64.min...Int64.max, using: &generator) : nil
            content.firstCall = [true, false, nil].randomElement(using: &generator)!
            content.startedAt = Bool.random(using: &generator)
                ? Timestamp(millisecondsSinceEpoch: Int64.random(in: 0..<4_000_000_000_000, using: &generator)) : nil
            try assertSameBytes(CallEvent(content: content, channel: .webhook, receivedAt: .now()), "random #\(round)")
        }
    }
}
