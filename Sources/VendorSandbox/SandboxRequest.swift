import CallFeedCore

/// One request the sandbox answered, for assertions such as "never exceeded the limit" or
/// "fetched only the overlap".
public struct SandboxRequest: Sendable, Equatable {
    /// Who decided the answer: the vendor's API, its rate limit, or an injected fault.
    ///
    /// A struct with static members, so that a new kind breaks no caller's `switch`.
    public struct Outcome: Hashable, Sendable, CustomStringConvertible {
        /// The name in the control endpoints' JSON (`served`, `over-budget`, ...).
        public let name: String
        init(_ name: String) { self.name = name }

        /// Answered by the vendor's API: its data, or its own refusal (401, 400, 404, ...).
        public static let served = Outcome("served")
        /// The vendor's 429 because the request exceeded the vendor's budget: the client broke the limit.
        public static let overBudget = Outcome("over-budget")
        /// The vendor's 429 from an injected storm (queued or chaos); the budget was not consulted.
        public static let injectedStorm = Outcome("injected-storm")
        /// A 5xx from an injected failure (queued or chaos).
        public static let injectedFailure = Outcome("injected-failure")

        public var description: String { name }
    }

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
    /// Who decided the answer.
    public var outcome: Outcome = .served
    /// How late the answer was sent (a slow fault), nil when at once.
    public var delay: Duration? = nil
}
