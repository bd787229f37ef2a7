import CallFeedCore
import Testing

@Suite("Entity records")
struct EntityRecordTests {
    static let receivedAt = Timestamp(year: 2024, month: 5, day: 1, hour: 10, minute: 1)!
    static let updatedAt = Timestamp(year: 2024, month: 5, day: 1, hour: 10, minute: 0)!

    static func account(id: String = "42", data: JSONValue = .object(["a": .int(1), "b": .array([.bool(true), .null, .string("x")])]),
                        raw: JSONValue = .object(["Id": .int(42)]), sourceUpdatedAt: Timestamp? = updatedAt,
                        receivedAt: Timestamp = receivedAt, channel: CallEvent.Channel = .poll) -> EntityRecord {
        EntityRecord(source: "ctm", entity: "accounts", id: id, accountID: "acct-1", data: data, raw: raw,
                     sourceUpdatedAt: sourceUpdatedAt, receivedAt: receivedAt, channel: channel)
    }

    /// `bytes` with one top-level member replaced (or removed with `nil`).
    static func editing(_ record: EntityRecord, _ key: String, _ value: JSONValue?) throws -> [UInt8] {
        guard case .object(var members) = try JSONValue.parse(record.jsonBytes()) else {
            Issue.record("jsonBytes is not an object")
            return []
        }
        members[key] = value
        return Array(JSONValue.object(members).canonicalJSON.utf8)
    }

    @Test("key, table name and topic")
    func naming() {
        let record = Self.account()
        #expect(record.key == "ctm/accounts/42")
        #expect(record.tableName == "ctm_accounts")
        #expect(record.schemaVersion == "1")
        let analytics = EntityRecord(source: "justcall", entity: "agent_analytics", id: "a-7/2024-05-01", accountID: nil,
                                     data: .object([:]), raw: .null, sourceUpdatedAt: nil, receivedAt: Self.receivedAt,
                                     channel: .backfill)
        #expect(analytics.key == "justcall/agent_analytics/a-7/2024-05-01")
        #expect(analytics.tableName == "justcall_agent_analytics")
        #expect(Topics().entities == "callfeed.entities.v1")
        #expect(Topics(prefix: "acme").entities == "acme.entities.v1")
        #expect(Topics().all.contains("callfeed.entities.v1"))
        #expect(Set(Topics().all).count == 4)
    }

    @Test("revision is the SHA-256 of data's canonical JSON, checked against sha256sum")
    func revisionIsHashOfCanonicalData() {
        let record = Self.account()
        #expect(record.data.canonicalJSON == #"{"a":1,"b":[true,null,"x"]}"#)
        // printf '%s' '{"a":1,"b":[true,null,"x"]}' | sha256sum
        #expect(record.revision == "eca8cfb31ab74533e1eb2f4c74d2d55dfe3c79ac704787e54be8647ea7777eb1")
        // printf '%s' '{}' | sha256sum
        #expect(Self.account(data: .object([:])).revision == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
    }

    @Test("revision ignores raw, account, timestamps and channel, and follows data")
    func revisionCoversDataOnly() {
        let base = Self.account()
        let resent = EntityRecord(source: "ctm", entity: "accounts", id: "42", accountID: "other",
                                  data: base.data, raw: .object(["different": .bool(true)]),
                                  sourceUpdatedAt: nil, receivedAt: Self.receivedAt.adding(seconds: 3600), channel: .backfill)
        #expect(resent.revision == base.revision)
        #expect(Self.account(data: .object(["a": .int(2)])).revision != base.revision)
        // 1.0 and 1 are one JSON number.
        #expect(Self.account(data: .object(["n": .double(1.0)])).revision == Self.account(data: .object(["n": .int(1)])).revision)
    }

    @Test("canonical JSON: keys sorted by UTF-8 bytes, deterministic escapes and numbers")
    func canonicalJSON() throws {
        let value = JSONValue.object([
            "b": .int(-3), "a": .string("é/\"q\"\n\u{1}"), "B": .double(0.5), "é": .null,
            "n": .object(["z": .double(1e20), "y": .double(-0.0), "x": .double(.infinity)]),
        ])
        #expect(value.canonicalJSON == #"{"B":0.5,"a":"é/\"q\"\n\u0001","b":-3,"n":{"x":null,"y":0,"z":1e+20},"é":null}"#)
        // A fixed point of parsing: parse and write again, same text.
        let reparsed = try JSONValue.parse(Array(value.canonicalJSON.utf8))
        #expect(reparsed.canonicalJSON == value.canonicalJSON)
    }

    @Test("jsonBytes is a flat snake_case object that decodes to the same record")
    func roundTrip() throws {
        let record = Self.account(data: .object(["name": .string("Acme"), "nested": .object(["x": .double(1.5)])]))
        let object = try #require(try JSONValue.parse(record.jsonBytes()).objectValue)
        #expect(Set(object.keys) == ["schema_version", "source", "entity", "id", "account_id", "data", "raw",
                                     "source_updated_at", "received_at", "channel", "revision"])
        #expect(object["schema_version"] == .string("1"))
        #expect(object["account_id"] == .string("acct-1"))
        #expect(object["received_at"] == .string("2024-05-01T10:01:00Z"))
        #expect(object["source_updated_at"] == .string("2024-05-01T10:00:00Z"))
        #expect(object["channel"] == .string("poll"))
        #expect(object["revision"] == .string(record.revision))
        #expect(object["data"] == record.data)

        #expect(try EntityRecord.decode(record.jsonBytes()) == record)

        let sparse = EntityRecord(source: "callrail", entity: "tags", id: "t1", accountID: nil, data: .object([:]),
                                  raw: .string("as sent"), sourceUpdatedAt: nil,
                                  receivedAt: Timestamp(millisecondsSinceEpoch: 1_714_557_660_250), channel: .backfill)
        let sparseObject = try #require(try JSONValue.parse(sparse.jsonBytes()).objectValue)
        #expect(sparseObject["account_id"] == .null)
        #expect(sparseObject["source_updated_at"] == .null)
        #expect(sparseObject["received_at"] == .string("2024-05-01T10:01:00.250Z"))
        #expect(try EntityRecord.decode(sparse.jsonBytes()) == sparse)
        // Optional keys may also be left out.
        let withoutOptionals = try Self.editing(sparse, "account_id", nil)
        #expect(try EntityRecord.decode(withoutOptionals) == sparse)
    }

    @Test("versionKey: source time else receive time, then receive time, then revision; fixed width")
    func versionKey() {
        let record = Self.account()
        #expect(record.versionKey == "001714557600000|001714557660000|" + record.revision)
        let noSourceTime = Self.account(sourceUpdatedAt: nil)
        #expect(noSourceTime.versionKey == "001714557660000|001714557660000|" + record.revision)
        let ancient = Self.account(sourceUpdatedAt: Timestamp(millisecondsSinceEpoch: -5), receivedAt: Timestamp(millisecondsSinceEpoch: 7))
        #expect(ancient.versionKey == "000000000000000|000000000000007|" + record.revision)
        #expect(record.versionKey.count == 15 + 1 + 15 + 1 + 64)
        // A later vendor edit wins even when received earlier.
        let edited = Self.account(data: .object(["a": .int(2)]), sourceUpdatedAt: Self.updatedAt.adding(seconds: 60),
                                  receivedAt: Self.receivedAt.adding(seconds: -30))
        #expect(edited.versionKey > record.versionKey)
    }

    @Test("decode refuses names that are not ^[a-z][a-z0-9_]*$", arguments: [
        ("source", "CTM"), ("source", "1ctm"), ("source", "ctm-x"), ("source", ""), ("source", "ctm\"; DROP TABLE calls; --"),
        ("entity", "Accounts"), ("entity", "_accounts"), ("entity", "accounts.v2"), ("entity", "accounts "), ("entity", "счета"),
    ])
    func badNamesRefused(key: String, name: String) throws {
        let bytes = try Self.editing(Self.account(), key, .string(name))
        let error = try #require(throws: EntityDecodingError.self) { try EntityRecord.decode(bytes) }
        #expect(error.reason.contains(key))
        #expect(error.reason.contains("^[a-z][a-z0-9_]*$"))
    }

    @Test("decode refuses reserved and over-long table names", arguments: [
        ("call", "revisions"), ("schema", "migrations"), ("entity", "tables"), ("callfeed", "state"), ("sqlite", "master"),
        ("vendor", String(repeating: "x", count: 57)),
    ])
    func reservedTableNamesRefused(source: String, entity: String) throws {
        let record = EntityRecord(source: source, entity: entity, id: "1", accountID: nil, data: .object([:]), raw: .null,
                                  sourceUpdatedAt: nil, receivedAt: Self.receivedAt, channel: .poll)
        let error = try #require(throws: EntityDecodingError.self) { try EntityRecord.decode(record.jsonBytes()) }
        #expect(error.reason.contains("table name"))
        #expect(throws: EntityDecodingError.self) { try record.validate() }
    }

    @Test("a 63-byte table name is still fine")
    func longestTableName() throws {
        let record = EntityRecord(source: "vendor", entity: String(repeating: "x", count: 56), id: "1", accountID: nil,
                                  data: .object([:]), raw: .null, sourceUpdatedAt: nil, receivedAt: Self.receivedAt, channel: .poll)
        #expect(record.tableName.utf8.count == 63)
        #expect(try EntityRecord.decode(record.jsonBytes()) == record)
    }

    @Test("decode refuses malformed records", arguments: [
        ("schema_version", JSONValue.string("2"), "schema_version"),
        ("revision", .string(String(repeating: "0", count: 64)), "does not match"),
        ("revision", nil, "revision"),
        ("id", .string(""), "id is empty"),
        ("id", .int(42), "id"),
        ("data", .array([]), "data is not a JSON object"),
        ("data", nil, "data is missing"),
        ("raw", nil, "raw is missing"),
        ("channel", .string("email"), "channel"),
        ("received_at", .string("yesterday"), "received_at"),
        ("received_at", nil, "received_at"),
        ("source_updated_at", .int(5), "source_updated_at"),
        ("account_id", .int(5), "account_id"),
    ] as [(String, JSONValue?, String)])
    func malformedRefused(key: String, value: JSONValue?, reason: String) throws {
        let bytes = try Self.editing(Self.account(), key, value)
        let error = try #require(throws: EntityDecodingError.self) { try EntityRecord.decode(bytes) }
        #expect(error.reason.contains(reason), "\(error.reason)")
    }

    @Test("decode refuses what is not a JSON object")
    func notJSON() throws {
        let notJSON = try #require(throws: EntityDecodingError.self) { try EntityRecord.decode(Array("not an entity".utf8)) }
        #expect(notJSON.reason.contains("not an EntityRecord v1"))
        #expect(throws: EntityDecodingError.self) { try EntityRecord.decode(Array("[1,2]".utf8)) }
    }

    @Test("changing data after init leaves a stale revision that validate() catches")
    func staleRevision() throws {
        var record = Self.account()
        try record.validate()
        record.data = .object(["a": .int(99)])
        let error = try #require(throws: EntityDecodingError.self) { try record.validate() }
        #expect(error.reason.contains("does not match"))
    }
}
