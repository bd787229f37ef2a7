import CallFeedCore

/// A deliberately broken record, so tests can check it goes to the dead-letter topic while the rest
/// of its page loads.
public struct SandboxOddity: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    init(_ name: String) { self.name = name }

    /// The start time field does not parse (`"unix_time": "not-a-time"`, `"callTime": "2024-02-30 25:61:00"`, ...).
    public static let unparseableTime = SandboxOddity("unparseable-time")
    /// No start time at all: the time fields are null or a placeholder (CTM `"unix_time": null,
    /// "called_at": "Invalid date"`, seen from a CTM-compatible API; issue 20). Only the CTM sandbox
    /// makes this kind; the other vendors' placeholder forms are covered by their mapping tests.
    public static let missingTime = SandboxOddity("missing-time")
    /// The customer's number is garbage (`"call-me-maybe"`).
    public static let garbagePhone = SandboxOddity("garbage-phone")

    public var description: String { name }
}

/// One generated (or added) call, as the sandbox serves it.
public struct SandboxCall: Sendable, Equatable {
    public var vendor: SandboxVendor
    /// The sandbox account id it belongs to (see ``SandboxAccount``).
    public var account: String
    /// The vendor's primary key: CTM `id`, CallKeeper `universalId`, CallRail `id` (`CAL…`), JustCall `id`.
    public var id: String
    /// When the call started. Date filters use this, also for records whose time field is made odd.
    public var startedAt: Timestamp
    /// Set on deliberately broken records.
    public var oddity: SandboxOddity?
    /// The full record in the vendor's shape, as the single-call endpoint returns it.
    public var record: JSONValue
    /// Per-vendor sequence number (legacy numeric ids are derived from it).
    let serial: Int
    /// How many times a test changed it (``VendorSandbox/updateCall(vendor:account:id:_:)``); 0 as generated or added.
    public var version = 0
    /// When it was added or last changed, on the sandbox's clock; nil for a generated call never
    /// changed. The vendors' records carry no such time, so this is the sandbox's own bookkeeping.
    public var updatedAt: Timestamp? = nil
}

/// A change a test makes to a call after it was generated (a late recording, new tags, any field).
public struct SandboxCallChange: Sendable {
    enum Kind: Sendable {
        case recording(String?)
        case tags([String])
        case field(String, JSONValue)
    }

    let kind: Kind

    /// Sets the recording URL in the vendor's field(s) (CTM `audio`, CallKeeper `recordUrl`, CallRail
    /// `recording`, JustCall `call_info.recording`); nil removes it in the vendor's way.
    public static func recording(_ url: String?) -> SandboxCallChange { SandboxCallChange(kind: .recording(url)) }
    /// Replaces the tags (CTM `tag_list`, CallKeeper and CallRail `tags`, JustCall `call_info.call_traits`).
    public static func tags(_ tags: [String]) -> SandboxCallChange { SandboxCallChange(kind: .tags(tags)) }
    /// Sets any field by its vendor name; a dotted path reaches into objects (`"call_info.notes"`).
    public static func field(_ path: String, _ value: JSONValue) -> SandboxCallChange { SandboxCallChange(kind: .field(path, value)) }
}

/// One sandbox account of a vendor (CTM account, CallKeeper user, CallRail account, JustCall team).
public struct SandboxAccount: Sendable, Equatable {
    public var vendor: SandboxVendor
    /// The id in the vendor's URLs and records.
    public var id: String
    public var name: String
    /// What a client sends to read this account.
    public var credential: SandboxCredential
    /// 0-based position among the vendor's accounts.
    let index: Int
    /// Fixed offset of the account's clock (CTM `called_at`, CallKeeper `localDate`).
    let utcOffsetSeconds: Int
    /// Users who answer calls.
    let agents: [SandboxAgent]
    /// Tracking numbers (E.164) and the business line calls ring at.
    let trackingNumbers: [String]
    let businessNumber: String
}

/// A generated user of an account.
struct SandboxAgent: Sendable, Equatable {
    var id: Int
    var name: String
    var email: String
}
