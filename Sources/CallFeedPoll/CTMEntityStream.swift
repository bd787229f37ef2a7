import CallFeedCore
import CallFeedVendors
import HTTPClient

/// CTM's non-call lists (../shared/vendors/ctm.md §2): the accounts a key sees (`ctm_accounts`),
/// and per account its users (`ctm_users`) and tracking numbers (`ctm_numbers`). Full refresh,
/// will_paginate envelope (pages from 1, `next_page` absent on the last page), same auth as calls.
public struct CTMEntityStream: EntityStream {
    public enum Kind: String, Sendable, CaseIterable { case accounts, users, numbers }

    public let calls: CTMCallSource
    public let kind: Kind
    public var vendor: String { calls.vendor }
    public var entity: String { kind.rawValue }
    public var perAccount: Bool { kind != .accounts }

    public init(calls: CTMCallSource, kind: Kind) { self.calls = calls; self.kind = kind }

    public func page(_ request: PageRequest, account: String?, since: Timestamp?, until: Timestamp, client: VendorClient) throws(PollError) -> EntityPage {
        guard case .number(let number) = request else { throw PollError(.state, "CTM lists are paged by number, not \(request)") }
        let path = kind == .accounts ? "accounts" : "accounts/\(account ?? "")/\(kind.rawValue)"
        let body = try calls.getJSON("\(calls.baseURL)/api/v1/\(path)?page=\(number)&per_page=\(calls.perPage)", client: client)
        guard let records = body[kind.rawValue]?.arrayValue else {
            throw PollError(.vendor, "CTM answered without a `\(kind.rawValue)` list: \(body.excerpt())")
        }
        let last = body["next_page"]?.text == nil || (body["total_pages"]?.integer).map { Int64(number) >= $0 } ?? false
        return EntityPage(records: records, next: last ? nil : .number(number + 1))
    }

    public func object(from record: JSONValue, account: String?) throws(MappingError) -> EntityObject {
        guard record.objectValue != nil else { throw MappingError(reason: "CTM \(kind.rawValue) item is not an object") }
        let updated = (record["updated_at"]?.text).flatMap { Timestamp.parseISO8601($0, defaultUTCOffsetSeconds: 0) }
        return EntityObject(id: try record.idText(), data: record, sourceUpdatedAt: updated)
    }
}
