import Crypto

/// A vendor object that is not a call — a CTM account, a CallRail tracker, a JustCall user, a day of
/// an agent's analytics — as the pollers publish it to `<prefix>.entities.v1` (schema v1,
/// documented in docs/warehouse.md, "Entity records").
///
/// The loader upserts each record into one warehouse table per source entity (``tableName``,
/// e.g. `ctm_accounts`) on ``id``. Like ``CallEvent`` it carries a ``revision`` (a hash of ``data``
/// only, so an exact re-send is recognisably the same) and a ``versionKey`` that orders the
/// revisions of one object. On the wire it is one flat JSON object (``jsonBytes()``), keyed by
/// ``key``.
///
/// - Important: ``revision`` is computed by ``init(source:entity:id:accountID:data:raw:sourceUpdatedAt:receivedAt:channel:)``.
///   Changing ``data`` afterwards leaves it stale and the record is then refused by ``validate()``,
///   ``decode(_:)`` and the sinks: make a new record instead.
public struct EntityRecord: Sendable, Equatable {
    /// The version of the wire format this build writes and reads.
    public static let schemaVersion = "1"

    public var schemaVersion: String
    /// Vendor key (`ctm`, `callrail`, `justcall`, …): `^[a-z][a-z0-9_]*$`.
    public var source: String
    /// The kind of object, a plural noun (`accounts`, `trackers`, `agent_analytics`): `^[a-z][a-z0-9_]*$`.
    public var entity: String
    /// The primary key within (``source``, ``entity``): the vendor's id, or a composite such as
    /// `<agent_id>/<date>` for objects the vendor does not identify itself. Never empty.
    public var id: String
    /// The vendor account the object belongs to, when it belongs to one.
    public var accountID: String?
    /// The normalised object, what analysts query. Always a JSON object.
    public var data: JSONValue
    /// The record as the vendor sent it.
    public var raw: JSONValue
    /// When the vendor last changed the object, if it says.
    public var sourceUpdatedAt: Timestamp?
    /// When CallFeed fetched it.
    public var receivedAt: Timestamp
    /// How it reached CallFeed (pollers use `poll` and `backfill`). Not part of the revision.
    public var channel: CallEvent.Channel
    /// SHA-256 (lower-case hex) of ``data``'s canonical JSON (``JSONValue/canonicalJSON``).
    /// ``raw``, ``accountID``, the timestamps and ``channel`` are not part of it.
    public var revision: String

    /// Makes a record, computing ``revision`` from `data`.
    ///
    /// Names are not checked here (the initializer cannot fail); call ``validate()`` before
    /// publishing to find out whether the loader will accept the record.
    /// - Parameters:
    ///   - source: Vendor key, `^[a-z][a-z0-9_]*$`.
    ///   - entity: Plural noun, `^[a-z][a-z0-9_]*$`.
    ///   - id: Primary key within (`source`, `entity`), not empty.
    ///   - accountID: The vendor account, if any.
    ///   - data: The normalised object.
    ///   - raw: The vendor's record as received.
    ///   - sourceUpdatedAt: The vendor's last-modified time, if it gives one.
    ///   - receivedAt: When CallFeed fetched the record.
    ///   - channel: `poll` or `backfill` (or `webhook`, should a vendor ever push such objects).
    public init(source: String, entity: String, id: String, accountID: String?, data: JSONValue, raw: JSONValue,
                sourceUpdatedAt: Timestamp?, receivedAt: Timestamp, channel: CallEvent.Channel) {
        self.schemaVersion = Self.schemaVersion
        self.source = source
        self.entity = entity
        self.id = id
        self.accountID = accountID
        self.data = data
        self.raw = raw
        self.sourceUpdatedAt = sourceUpdatedAt
        self.receivedAt = receivedAt
        self.channel = channel
        self.revision = Self.revision(of: data)
    }

    /// The Kafka key, `source/entity/id`: every copy and revision of one object lands in one
    /// partition, in order.
    public var key: String { "\(source)/\(entity)/\(id)" }

    /// The warehouse table, `source_entity` (`ctm_accounts`).
    public var tableName: String { "\(source)_\(entity)" }

    /// Orders revisions of one object exactly as ``CallEvent/versionKey`` orders a call's:
    /// `pad15(ms(sourceUpdatedAt ?? receivedAt)) | pad15(ms(receivedAt)) | revision`.
    ///
    /// Fixed width (milliseconds clamped to 0…999 999 999 999 999), so comparing two keys as byte
    /// strings compares by source time, then receive time, then revision text.
    public var versionKey: String {
        let primary = sourceUpdatedAt ?? receivedAt
        return Self.pad(primary.millisecondsSinceEpoch) + "|" + Self.pad(receivedAt.millisecondsSinceEpoch)
            + "|" + revision
    }

    // MARK: - Validation

    /// The longest ``tableName``, in bytes: PostgreSQL's identifier limit (63), so every sink can
    /// use the same name.
    public static let maximumTableNameLength = 63

    /// Table names that belong to CallFeed itself (an entity table must never be one of them).
    static let reservedTableNames: Set<String> = [
        "calls", "call_revisions", "schema_migrations", "entity_tables", "callfeed_state",
    ]

    /// Checks what the loader and the sinks rely on: the schema version, the names (they become a
    /// table name, so only `^[a-z][a-z0-9_]*$`, at most ``maximumTableNameLength`` bytes together,
    /// not a CallFeed or `sqlite_` table), a non-empty ``id``, ``data`` being an object, and
    /// ``revision`` matching ``data``.
    /// - Throws: ``EntityDecodingError`` naming the first problem.
    public func validate() throws(EntityDecodingError) {
        guard schemaVersion == Self.schemaVersion else {
            throw EntityDecodingError(reason: "unsupported schema_version \(schemaVersion)")
        }
        guard Self.isValidName(source) else {
            throw EntityDecodingError(reason: "source \(jsonStringLiteral(source)) is not a name matching ^[a-z][a-z0-9_]*$")
        }
        guard Self.isValidName(entity) else {
            throw EntityDecodingError(reason: "entity \(jsonStringLiteral(entity)) is not a name matching ^[a-z][a-z0-9_]*$")
        }
        let table = tableName
        guard table.utf8.count <= Self.maximumTableNameLength else {
            throw EntityDecodingError(reason: "table name \(table) is longer than \(Self.maximumTableNameLength) bytes")
        }
        guard !Self.reservedTableNames.contains(table), !table.hasPrefix("sqlite_") else {
            throw EntityDecodingError(reason: "table name \(table) is reserved")
        }
        guard !id.isEmpty else {
            throw EntityDecodingError(reason: "id is empty")
        }
        guard data.objectValue != nil else {
            throw EntityDecodingError(reason: "data is not a JSON object")
        }
        guard revision == Self.revision(of: data) else {
            throw EntityDecodingError(reason: "revision \(revision) does not match the record's data")
        }
    }

    /// Whether `name` matches `^[a-z][a-z0-9_]*$` (ASCII only).
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else { return false }
        return name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
    }

    // MARK: - Internal

    /// SHA-256 (lower-case hex) of `data`'s canonical JSON.
    static func revision(of data: JSONValue) -> String {
        lowerHex(SHA256.hash(data: Array(data.canonicalJSON.utf8)))
    }

    private static func pad(_ milliseconds: Int64) -> String {
        let digits = String(min(max(milliseconds, 0), 999_999_999_999_999))
        return String(repeating: "0", count: 15 - digits.count) + digits
    }
}

/// Why bytes from the entities topic (or a record handed to a sink) are not a usable ``EntityRecord``.
public struct EntityDecodingError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, in words fit for a dead-letter `reason` header.
    public var reason: String
    /// Makes an error.
    /// - Parameter reason: What is wrong.
    public init(reason: String) { self.reason = reason }
    public var description: String { reason }
}
