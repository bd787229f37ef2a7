import CallFeedCore
import CallFeedVendors
import HTTPClient

/// CallRail's non-call lists (../shared/vendors/callrail.md §2), all per account, same auth and
/// numbered pages as calls (`page` from 1, `per_page` ≤ 250, `total_pages`):
///
/// | Kind | Path | Collection key | Table | Refresh |
/// |---|---|---|---|---|
/// | `companies` | `/v3/a/{account}/companies.json` | `companies` | `callrail_companies` | full |
/// | `trackers` | `/v3/a/{account}/trackers.json` | `trackers` | `callrail_trackers` | full |
/// | `users` | `/v3/a/{account}/users.json` | `users` | `callrail_users` | full |
/// | `tags` | `/v3/a/{account}/tags.json` | `tags` | `callrail_tags` | full |
/// | `text_messages` | `/v3/a/{account}/text-messages.json` (the seed's `text_messages.json` is wrong) | `conversations` | `callrail_text_messages` | incremental |
/// | `form_submissions` | `/v3/a/{account}/form_submissions.json` | `form_submissions` | `callrail_form_submissions` | incremental |
///
/// The two incremental lists take the same date filter as calls (`start_date`/`end_date`,
/// inclusive, `time_zone=Etc/UTC`; without dates CallRail answers only the last 7 days): [since,
/// until) of the run. Which time CallRail filters them on is not documented [I]: the sandbox uses
/// a conversation's `last_message_at` and a submission's `submitted_at`. An incremental run with
/// no `since` asks for `date_range=all_time`.
///
/// Records are stored as CallRail sends them; the id is the record's `id` (masked string, or the
/// tag's integer as text); the source time is `updated_at`, `last_message_at`, `submitted_at` or
/// `created_at`, the first present with a UTC offset.
public struct CallRailEntityStream: EntityStream {
    public enum Kind: String, Sendable, CaseIterable {
        case companies, trackers, users, tags
        case textMessages = "text_messages"
        case formSubmissions = "form_submissions"

        /// The path segment before `.json`.
        public var path: String { self == .textMessages ? "text-messages" : rawValue }
        /// The envelope's list key.
        public var collectionKey: String { self == .textMessages ? "conversations" : rawValue }
    }

    public let calls: CallRailCallSource
    public let kind: Kind
    public var vendor: String { calls.vendor }
    public var entity: String { kind.rawValue }
    public var perAccount: Bool { true }
    public var isIncremental: Bool { kind == .textMessages || kind == .formSubmissions }

    public init(calls: CallRailCallSource, kind: Kind) { self.calls = calls; self.kind = kind }

    public func page(_ request: PageRequest, account: String?, since: Timestamp?, until: Timestamp, client: VendorClient) throws(PollError) -> EntityPage {
        guard case .number(let number) = request else { throw PollError(.state, "CallRail lists are paged by number, not \(request)") }
        guard let account, !account.isEmpty else { throw PollError(.configuration, "CallRail \(kind.rawValue) are read per account") }
        var query: [(String, String)] = []
        if isIncremental {
            if let since {
                query += CallRailCallSource.dateQuery(from: since, to: until)
            } else {
                query += [("time_zone", "Etc/UTC"), ("date_range", "all_time")]
            }
            query.append(("order", "asc"))
        }
        query += [("page", String(number)), ("per_page", String(calls.perPage))]
        let path = "/v3/a/\(VendorRequests.encode(account))/\(kind.path).json"
        let body = try calls.getJSON(calls.url(path, query), client: client)
        guard let records = body[kind.collectionKey]?.arrayValue else {
            throw PollError(.vendor, "CallRail answered without a `\(kind.collectionKey)` list: \(body.excerpt())")
        }
        let totalPages = body["total_pages"]?.integer
        let last = records.isEmpty || totalPages.map { Int64(number) >= $0 } ?? (records.count < calls.perPage)
        return EntityPage(records: records, next: last ? nil : .number(number + 1))
    }

    public func object(from record: JSONValue, account: String?) throws(MappingError) -> EntityObject {
        guard record.objectValue != nil else { throw MappingError(reason: "CallRail \(kind.rawValue) item is not an object") }
        let id = try record.idText()
        let updated = ["updated_at", "last_message_at", "submitted_at", "created_at"].lazy
            .compactMap { record[$0]?.text.flatMap { Timestamp.parseISO8601($0) } }.first
        return EntityObject(id: id, data: record, sourceUpdatedAt: updated)
    }
}
