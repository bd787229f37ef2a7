import CallFeedCore
import CallFeedVendors
import Foundation
import Testing

/// Vendor sample payloads (copies of /work/shared/vendors/*.json) and the contexts tests map them with.
enum Fixture {
    /// A CallKeeper tenant as configured by default: UTC times, Russian numbers.
    static let callKeeper = MappingContext(accountID: "ck-tenant-1", timeZone: "UTC", defaultCountry: "RU")
    /// A CTM source as configured by default; the account id is only a fallback.
    static let ctm = MappingContext(accountID: "ctm-fallback", timeZone: "UTC", defaultCountry: "US")

    /// A fixture parsed, by file name without `.json`.
    static func json(_ name: String) throws -> JSONValue {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"),
                               "missing fixture \(name).json")
        return try JSONValue.parse(Array(try Data(contentsOf: url)))
    }

    /// Element `index` of a fixture that is an array (`callkeeper.calls.page.sample`) or holds one
    /// under `key` (`ctm.calls.page.sample`, `calls`).
    static func element(_ index: Int, of name: String, under key: String? = nil) throws -> JSONValue {
        let document = try json(name)
        let list = try #require((key.map { document[$0] } ?? document)?.arrayValue, "\(name) holds no array")
        return try #require(list.indices.contains(index) ? list[index] : nil, "\(name) has no element \(index)")
    }

    /// Every sample that is one call, mapped: what schema and round-trip tests run over.
    static func allMappedSamples() throws -> [(name: String, content: CallContent)] {
        var samples: [(String, CallContent)] = []
        samples.append(("callkeeper.call", try CallKeeperMapping.content(from: json("callkeeper.call.sample"), context: callKeeper)))
        for index in 0..<2 {
            let record = try element(index, of: "callkeeper.calls.page.sample")
            samples.append(("callkeeper.calls.page[\(index)]", try CallKeeperMapping.content(from: record, context: callKeeper)))
        }
        let webhook = try json("callkeeper.webhook.after-call-finish.sample")
        samples.append(("callkeeper.webhook.after-call-finish", try CallKeeperMapping.content(from: webhook, context: callKeeper)))
        samples.append(("ctm.call", try CTMMapping.content(from: json("ctm.call.sample"), context: ctm)))
        for index in 0..<2 {
            let record = try element(index, of: "ctm.calls.page.sample", under: "calls")
            samples.append(("ctm.calls.page[\(index)]", try CTMMapping.content(from: record, context: ctm)))
        }
        return samples
    }
}

extension JSONValue {
    /// A copy of this object with member `key` set, or removed when `value` is `nil`.
    func setting(_ key: String, _ value: JSONValue?) -> JSONValue {
        guard case .object(var members) = self else { return self }
        members[key] = value
        return .object(members)
    }

    /// The value as JSON bytes.
    func bytes() throws -> [UInt8] {
        Array(try JSONEncoder().encode(self))
    }
}

extension Timestamp {
    /// Test shorthand: an RFC 3339 text that must parse.
    static func utc(_ text: String) throws -> Timestamp {
        try #require(Timestamp.parseISO8601(text), "bad test timestamp \(text)")
    }
}
