import CallFeedCore

/// How a ``CallEvent`` becomes a `calls` row and a `call_revisions` row: the column list, the
/// value of every column, and the `version_key`. Every sink uses this, so all sinks store the same
/// values and their ``CanonicalDumping/canonicalDump()`` output is comparable.
public enum CallRow {
    /// The columns of `calls`, in table order. `event_id` first, `loaded_at` last.
    public static let columns: [String] = [
        "event_id", "schema_version", "revision", "channel", "received_at",
        "source", "source_account_id", "source_call_id", "direction", "status",
        "started_at", "ended_at", "duration_seconds", "talk_seconds", "ring_seconds",
        "caller_number", "dialed_number", "destination_number", "caller_name",
        "agent_id", "agent_name", "agent_email",
        "tracking_campaign_id", "tracking_campaign_name", "tracking_source", "tracking_medium",
        "tracking_campaign", "tracking_content", "tracking_term", "tracking_referrer",
        "tracking_landing_page", "tracking_gclid", "tracking_ga_client_id",
        "location_city", "location_region", "location_country",
        "recording_url", "tags", "first_call", "source_updated_at", "version_key", "loaded_at",
    ]

    /// What each column of ``columns`` holds, so that a sink can choose its own types (PostgreSQL
    /// `timestamptz`, BigQuery `TIMESTAMP`; ClickHouse 18.16 has no `DateTime64`, so its instants are
    /// ``text(_:)`` strings) and still render the canonical dump's value: text, integer, an instant as
    /// ``text(_:)``, 0/1, or ``jsonArray(_:)``.
    public static let kinds: [String: ColumnKind] = {
        var kinds = Dictionary(uniqueKeysWithValues: columns.map { ($0, ColumnKind.text) })
        for name in ["duration_seconds", "talk_seconds", "ring_seconds"] { kinds[name] = .integer }
        for name in ["received_at", "started_at", "ended_at", "source_updated_at", "loaded_at"] { kinds[name] = .timestamp }
        kinds["first_call"] = .flag
        kinds["tags"] = .stringArray
        return kinds
    }()

    /// The columns whose value can never be absent (the others are nullable).
    public static let requiredColumns: Set<String> = [
        "event_id", "schema_version", "revision", "channel", "received_at", "source", "source_account_id",
        "source_call_id", "direction", "status", "tags", "version_key", "loaded_at",
    ]

    /// Every `calls` column except `loaded_at` (which differs between runs): the canonical dump's columns.
    public static let canonicalColumns: [String] = columns.filter { $0 != "loaded_at" }

    /// The columns of `call_revisions`, in table order.
    public static let revisionColumns: [String] = [
        "event_id", "revision", "channel", "received_at", "source_updated_at", "loaded_at", "event_json",
    ]

    /// The `calls` values of `event`, aligned with ``columns``.
    public static func values(of event: CallEvent, loadedAt: Timestamp) -> [WarehouseValue] {
        let c = event.content
        return [
            .text(event.eventID), .text(event.schemaVersion), .text(event.revision),
            .text(event.channel.rawValue), .text(text(event.receivedAt)),
            .text(c.source), .text(c.sourceAccountID), .text(c.sourceCallID),
            .text(c.direction.rawValue), .text(c.status.rawValue),
            .nullable(c.startedAt.map(text)), .nullable(c.endedAt.map(text)),
            .nullable(c.durationSeconds), .nullable(c.talkSeconds), .nullable(c.ringSeconds),
            .nullable(c.callerNumber), .nullable(c.dialedNumber), .nullable(c.destinationNumber),
            .nullable(c.callerName),
            .nullable(c.agent.id), .nullable(c.agent.name), .nullable(c.agent.email),
            .nullable(c.tracking.campaignID), .nullable(c.tracking.campaignName), .nullable(c.tracking.source),
            .nullable(c.tracking.medium), .nullable(c.tracking.campaign), .nullable(c.tracking.content),
            .nullable(c.tracking.term), .nullable(c.tracking.referrer), .nullable(c.tracking.landingPage),
            .nullable(c.tracking.gclid), .nullable(c.tracking.gaClientID),
            .nullable(c.location.city), .nullable(c.location.region), .nullable(c.location.country),
            .nullable(c.recordingURL), .text(jsonArray(c.tags)), .nullable(c.firstCall.map { $0 ? 1 : 0 }),
            .nullable(c.sourceUpdatedAt.map(text)), .text(versionKey(of: event)), .text(text(loadedAt)),
        ]
    }

    /// The `call_revisions` values of `event`, aligned with ``revisionColumns``.
    /// `event_json` is the event's published bytes, unchanged (`jsonBytes()` is always valid UTF-8,
    /// so decoding it as text keeps every byte).
    public static func revisionValues(of event: CallEvent, loadedAt: Timestamp) -> [WarehouseValue] {
        [
            .text(event.eventID), .text(event.revision), .text(event.channel.rawValue),
            .text(text(event.receivedAt)), .nullable(event.content.sourceUpdatedAt.map(text)),
            .text(text(loadedAt)), .text(String(decoding: event.jsonBytes(), as: UTF8.self)),
        ]
    }

    // MARK: - Version key

    /// Width of the millisecond fields of ``versionKey(of:)``: enough for any RFC 3339 instant
    /// (year 9999 is 253 402 300 799 999 ms).
    public static let millisecondDigits = 15

    /// `<coalesce(source_updated_at, received_at) ms>|<received_at ms>|<revision>`, each number
    /// zero-padded to ``millisecondDigits`` digits, so that comparing two keys as strings (byte order)
    /// is comparing by source time, then receive time, then revision text.
    ///
    /// Instants before 1970 count as 0 and instants past year 9999 as the largest 15-digit number:
    /// CallFeed never produces either, and the key stays deterministic.
    public static func versionKey(of event: CallEvent) -> String {
        let effective = event.content.sourceUpdatedAt ?? event.receivedAt
        return padded(effective.millisecondsSinceEpoch) + "|" + padded(event.receivedAt.millisecondsSinceEpoch)
            + "|" + event.revision
    }

    private static func padded(_ milliseconds: Int64) -> String {
        let clamped = min(max(milliseconds, 0), 999_999_999_999_999)
        let digits = String(clamped)
        return String(repeating: "0", count: millisecondDigits - digits.count) + digits
    }

    // MARK: - Text forms

    /// RFC 3339 UTC with exactly three fraction digits (`2020-04-05T10:23:32.000Z`).
    ///
    /// Unlike `Timestamp.rfc3339` (which drops a zero fraction), the fixed width makes text order
    /// equal time order, so analysts can sort and range-filter the TEXT columns directly.
    public static func text(_ timestamp: Timestamp) -> String {
        let c = timestamp.utcComponents
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):"
            + "\(pad(c.second, 2)).\(pad(c.millisecond, 3))Z"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// `tags` as a compact JSON array of strings, in the event's order (`["a","b"]`, `[]`).
    public static func jsonArray(_ strings: [String]) -> String {
        "[" + strings.map(jsonString).joined(separator: ",") + "]"
    }

    /// A JSON string literal (shared with the rest of CallFeed: ``jsonStringLiteral(_:)``).
    public static func jsonString(_ string: String) -> String { jsonStringLiteral(string) }
}
