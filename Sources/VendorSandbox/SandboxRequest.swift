import CallFeedCore

/// One request the sandbox answered, for assertions such as "never exceeded the limit" or
/// "fetched only the overlap".
public struct SandboxRequest: Sendable, Equatable {
    /// The vendor whose prefix the path starts with; nil for other paths.
    public var vendor: SandboxVendor?
    public var method: String
    /// The full path, prefix included (`/ctm/api/v1/accounts/100001/calls`).
    public var path: String
    /// Query arguments as received. CallKeeper's route (`json/v3/KEY/call/get/0/FROM/TO`) is a
    /// key with an empty value.
    public var query: [String: String]
    /// The status answered (for slow faults: the status sent after the delay).
    public var status: Int
    /// When the request arrived.
    public var time: Timestamp
}
