extension EntityRecord {
    /// The record as one flat JSON object with snake_case keys — `schema_version`, `source`, `entity`,
    /// `id`, `account_id`, `data`, `raw`, `source_updated_at`, `received_at`, `channel`, `revision` —
    /// in canonical form (sorted keys, no whitespace; see ``JSONValue/canonicalJSON``): the bytes
    /// published to `<prefix>.entities.v1`.
    ///
    /// Every key is present; an absent `account_id` or `source_updated_at` is `null`. Timestamps are
    /// RFC 3339 in UTC (``Timestamp/rfc3339``).
    /// - Returns: UTF-8 JSON.
    public func jsonBytes() -> [UInt8] {
        let object: [String: JSONValue] = [
            "schema_version": .string(schemaVersion),
            "source": .string(source),
            "entity": .string(entity),
            "id": .string(id),
            "account_id": accountID.map(JSONValue.string) ?? .null,
            "data": data,
            "raw": raw,
            "source_updated_at": sourceUpdatedAt.map { .string($0.rfc3339) } ?? .null,
            "received_at": .string(receivedAt.rfc3339),
            "channel": .string(channel.rawValue),
            "revision": .string(revision),
        ]
        return Array(JSONValue.object(object).canonicalJSON.utf8)
    }

    /// Decodes a record from the entities topic and checks it with ``validate()``, so a malformed,
    /// hand-made or corrupted record never reaches a table (and never names one it should not).
    ///
    /// `account_id` and `source_updated_at` may be absent or `null`; every other key is required.
    /// Keys not in the format are ignored. Numbers in `data` and `raw` come back as
    /// ``JSONValue/int(_:)`` when integral, whatever case they were made with (the canonical JSON
    /// does not tell `1.0` from `1`; the revision is the same either way).
    /// - Parameter bytes: UTF-8 JSON as published.
    /// - Returns: The record, with its revision as sent (verified, not recomputed).
    /// - Throws: ``EntityDecodingError`` naming what is wrong (for the dead-letter record).
    public static func decode(_ bytes: some Collection<UInt8>) throws(EntityDecodingError) -> EntityRecord {
        let value: JSONValue
        do throws(JSONValue.ParseError) {
            value = try JSONValue.parse(bytes)
        } catch {
            throw EntityDecodingError(reason: "not an EntityRecord v1: \(error.description)")
        }
        guard let object = value.objectValue else {
            throw EntityDecodingError(reason: "not an EntityRecord v1: not a JSON object")
        }

        func string(_ key: String) throws(EntityDecodingError) -> String {
            guard case .string(let text)? = object[key] else {
                throw EntityDecodingError(reason: "\(key) is missing or not a string")
            }
            return text
        }
        func optionalString(_ key: String) throws(EntityDecodingError) -> String? {
            switch object[key] {
            case nil, .null?: return nil
            case .string(let text)?: return text
            default: throw EntityDecodingError(reason: "\(key) is not a string or null")
            }
        }
        func timestamp(_ text: String, _ key: String) throws(EntityDecodingError) -> Timestamp {
            guard let parsed = Timestamp.parseISO8601(text) else {
                throw EntityDecodingError(reason: "\(key) \(jsonStringLiteral(text)) is not an RFC 3339 date-time")
            }
            return parsed
        }

        let schemaVersion = try string("schema_version")
        guard schemaVersion == Self.schemaVersion else {
            throw EntityDecodingError(reason: "unsupported schema_version \(jsonStringLiteral(schemaVersion))")
        }
        guard let data = object["data"] else { throw EntityDecodingError(reason: "data is missing") }
        guard let raw = object["raw"] else { throw EntityDecodingError(reason: "raw is missing") }
        let channelText = try string("channel")
        guard let channel = CallEvent.Channel(rawValue: channelText) else {
            throw EntityDecodingError(reason: "channel \(jsonStringLiteral(channelText)) is not webhook, poll or backfill")
        }
        let receivedAt = try timestamp(try string("received_at"), "received_at")
        var sourceUpdatedAt: Timestamp?
        if let text = try optionalString("source_updated_at") {
            sourceUpdatedAt = try timestamp(text, "source_updated_at")
        }

        var record = EntityRecord(source: try string("source"), entity: try string("entity"), id: try string("id"),
                                  accountID: try optionalString("account_id"), data: data, raw: raw,
                                  sourceUpdatedAt: sourceUpdatedAt, receivedAt: receivedAt, channel: channel)
        record.revision = try string("revision")
        try record.validate()
        return record
    }
}
