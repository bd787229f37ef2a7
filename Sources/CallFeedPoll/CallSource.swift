import CallFeedCore
import CallFeedVendors
import HTTPClient

/// One page of a vendor's call list.
public struct CallPage: Sendable {
    public var records: [JSONValue]
    /// No page after this one.
    public var isLast: Bool
    /// What the vendor says the whole window holds, when it says (for result-cap detection).
    public var totalRecords: Int?
    /// Cursor-paged APIs (HubSpot's `after`): the opaque cursor of the next page. The poller saves it
    /// with the page number and hands it back for the next page.
    public var nextCursor: String?
    public init(records: [JSONValue], isLast: Bool, totalRecords: Int? = nil, nextCursor: String? = nil) {
        self.records = records; self.isLast = isLast; self.totalRecords = totalRecords; self.nextCursor = nextCursor
    }
}

/// Why a poll could not go on.
public struct PollError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case credentials, vendor, configuration, publish, state, cancelled }
    public var kind: Kind
    public var reason: String
    public init(_ kind: Kind, _ reason: String) { self.kind = kind; self.reason = reason }
    public var description: String { reason }

    /// A vendor HTTP failure, with 401/403 turned into a message naming the credential to check.
    public init(_ error: VendorHTTPError, credential: String) {
        switch error {
        case .unauthorized(let status, _):
            self.init(.credentials, "the vendor refused our credentials (HTTP \(status)): check \(credential)")
        default:
            self.init(.vendor, error.description)
        }
    }
}

/// A vendor's call API as the poller needs it: the pages of calls that started in a time window,
/// and how one record becomes call content. Implementations hold their credentials and base URL.
public protocol CallSource: Sendable {
    /// Vendor key (`ctm`, `callkeeper`, ...): the `source` of the events.
    var vendor: String { get }
    /// The operator's name for this source (config), part of checkpoint keys.
    var name: String { get }
    /// Number of the first page (1 for CTM, 0 for CallKeeper).
    var firstPage: Int { get }
    /// The finest time window the API can filter by (a day for date-only filters).
    var granularity: Duration { get }
    /// Most records the API returns for one window before it silently stops, if it has such a cap.
    var resultCap: Int? { get }

    /// The accounts to poll.
    func accounts(client: VendorClient) throws(PollError) -> [String]
    /// Page `number` of the calls of `account` that started in [`from`, `to`).
    func page(_ number: Int, account: String, from: Timestamp, to: Timestamp, client: VendorClient) throws(PollError) -> CallPage
    /// Page `number` of a cursor-paged API: `cursor` is the previous page's ``CallPage/nextCursor``
    /// (nil on the first page). The default ignores the cursor (numbered pages).
    func page(_ number: Int, cursor: String?, account: String, from: Timestamp, to: Timestamp, client: VendorClient) throws(PollError) -> CallPage
    /// One record's call content.
    func content(of record: JSONValue, account: String) throws(MappingError) -> CallContent
}

extension CallSource {
    public func page(_ number: Int, cursor: String?, account: String, from: Timestamp, to: Timestamp, client: VendorClient) throws(PollError) -> CallPage {
        try page(number, account: account, from: from, to: to, client: client)
    }
}
