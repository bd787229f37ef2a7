/// A vendor the sandbox plays. Each is served under its own path prefix (`/ctm`, `/callkeeper`,
/// `/callrail`, `/justcall`) so one port serves them all.
///
/// A struct with static members rather than an enum, so that adding a vendor breaks no caller's
/// `switch` (STYLE: Naming 6).
public struct SandboxVendor: Hashable, Sendable, CustomStringConvertible {
    /// The path prefix and the name in logs (`ctm`).
    public let name: String

    init(_ name: String) { self.name = name }

    /// CallTrackingMetrics REST v1 (`vendors/ctm.md`).
    public static let ctm = SandboxVendor("ctm")
    /// CallKeeper call export v3 (`vendors/callkeeper.md`, seed 003).
    public static let callkeeper = SandboxVendor("callkeeper")
    /// CallRail API v3 (`vendors/callrail.md`).
    public static let callrail = SandboxVendor("callrail")
    /// JustCall API v2.1 (`vendors/justcall.md`, seed 004).
    public static let justcall = SandboxVendor("justcall")

    /// HubSpot CRM v3 calls and CRM objects (`vendors/hubspot.md`).
    public static let hubspot = SandboxVendor("hubspot")
    /// CleverTap profiles API (`vendors/clevertap.md`, seed 002): profiles, not calls.
    public static let clevertap = SandboxVendor("clevertap")
    /// Five9 Configuration Web Services, SOAP report API (`vendors/five9.md`).
    public static let five9 = SandboxVendor("five9")

    /// Every vendor the sandbox serves, in a fixed order.
    public static let all: [SandboxVendor] = [.ctm, .callkeeper, .callrail, .justcall, .hubspot, .clevertap, .five9]

    /// The vendor served under `name` (the first path segment), if any.
    public init?(name: String) {
        guard let known = Self.all.first(where: { $0.name == name }) else { return nil }
        self = known
    }

    /// The path prefix, e.g. `/ctm`.
    public var pathPrefix: String { "/" + name }

    public var description: String { name }
}
