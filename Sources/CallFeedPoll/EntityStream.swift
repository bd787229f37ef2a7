import CallFeedCore
import CallFeedVendors
import HTTPClient

/// Where the next page of a list is: a page number, or the full URL the vendor gave for it
/// (CallRail's relative pagination, CTM's `next_page`), or an opaque cursor.
public enum PageRequest: Sendable, Equatable, Codable {
    case number(Int)
    case url(String)
    case cursor(String)
}

/// One page of a vendor's list of non-call objects.
public struct EntityPage: Sendable {
    public var records: [JSONValue]
    /// The page after this one; nil on the last page.
    public var next: PageRequest?
    public init(records: [JSONValue], next: PageRequest?) { self.records = records; self.next = next }
}

/// What an entity record is made of besides its source and kind.
public struct EntityObject: Sendable {
    /// Primary key within (source, entity): the vendor id, or a composite (`<agent_id>/<date>`).
    public var id: String
    /// The normalised object (a JSON object).
    public var data: JSONValue
    /// When the vendor last changed it, if it says.
    public var sourceUpdatedAt: Timestamp?
    public init(id: String, data: JSONValue, sourceUpdatedAt: Timestamp? = nil) {
        self.id = id; self.data = data; self.sourceUpdatedAt = sourceUpdatedAt
    }
}

/// One list of non-call objects at a vendor (CTM accounts, CallRail trackers, JustCall users):
/// how to page through it and how one record becomes an ``EntityObject``.
///
/// A **full-refresh** stream (`isIncremental == false`) is read whole on every run. An
/// **incremental** stream is asked for records created or changed in [`since`, `until`): `since`
/// is the previous run's `until` minus the source's lookback (or the configured start).
public protocol EntityStream: Sendable {
    /// Vendor key (`ctm`, `callrail`, …): the record's `source`.
    var vendor: String { get }
    /// Plural noun (`accounts`, `text_messages`): the record's `entity`, `<vendor>_<entity>` is its table.
    var entity: String { get }
    /// Read once per account (true), or once per source with no account (false).
    var perAccount: Bool { get }
    var isIncremental: Bool { get }
    /// The first page's request.
    func firstPage(account: String?, since: Timestamp?, until: Timestamp) -> PageRequest
    /// Fetches one page.
    func page(_ request: PageRequest, account: String?, since: Timestamp?, until: Timestamp, client: VendorClient) throws(PollError) -> EntityPage
    /// One vendor record as an entity.
    func object(from record: JSONValue, account: String?) throws(MappingError) -> EntityObject
}

extension EntityStream {
    public var isIncremental: Bool { false }
    public func firstPage(account: String?, since: Timestamp?, until: Timestamp) -> PageRequest { .number(1) }
}

extension JSONValue {
    /// The object's `key` as an id (string or integer), for ``EntityObject/id``.
    public func idText(_ key: String = "id") throws(MappingError) -> String {
        guard let text = self[key]?.text, !text.isEmpty else { throw MappingError(reason: "record has no \(key)") }
        return text
    }
}
