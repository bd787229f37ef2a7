import CallFeedCore

/// Everything that shapes a sandbox: the data (seed, sizes, date range, odd records), the
/// credentials, the vendors' limits and the quirks that can be switched.
///
/// The same configuration always generates the same accounts and calls.
public struct SandboxConfiguration: Sendable {
    /// Seed of every generated value.
    public var seed: UInt64
    /// Accounts per vendor.
    public var accounts: Int
    /// Calls generated per account, spread over [`from`, `to`).
    public var callsPerAccount: Int
    /// Start of the generated calls' range (UTC).
    public var from: Timestamp
    /// End (exclusive) of the generated calls' range (UTC).
    public var to: Timestamp
    /// Deliberately broken records per account, spread evenly over its calls.
    public var oddRecords: Int
    /// The kinds of odd records, used in turn.
    public var oddKinds: [SandboxOddity]

    public var ctm: CTMCredentials
    public var callKeeper: CallKeeperCredentials
    public var callRail: CallRailCredentials
    public var justCall: JustCallCredentials
    public var hubSpot: HubSpotCredentials
    public var cleverTap: CleverTapCredentials
    public var five9: Five9Credentials

    /// Request budgets by vendor; a vendor not listed uses ``SandboxRateLimit/vendorDefault(for:)``.
    public var rateLimits: [SandboxVendor: SandboxRateLimit]
    /// Per-operation budgets counted on top of the vendor's, by `<vendor>/<operation>`
    /// (`hubspot/search`, `five9/runReport`); an operation not listed uses the vendor API's default.
    public var operationRateLimits: [String: SandboxRateLimit]

    /// CallKeeper v3 page size: undocumented, v1 used 1000 (`callkeeper.md` §3).
    public var callKeeperPageSize: Int
    /// The CallRail user's time zone: dates without `time_zone=` are read in it and `start_time` is
    /// written in it (`callrail.md` §2).
    public var callRailUserTimeZone: String
    /// CallRail deletes calls older than 25 months and refuses dates before that (`callrail.md` §2);
    /// nil turns the check off.
    public var callRailRetentionDays: Int?
    /// The JustCall user's time zone: `from_datetime`/`to_datetime` are read in it and
    /// `call_user_date`/`call_user_time` written in it (`justcall.md` §2, §6).
    public var justCallUserTimeZone: String
    /// JustCall's `call_time` with an unpadded hour (`8:25:43`, `justcall.md` §6).
    public var justCallUnpaddedHours: Bool
    /// How long a Five9 report runs: `isReportRunning` answers true until this long after its
    /// `runReport` (`five9.md` §2). Not an init parameter; set it on the value.
    public var five9ReportDelay: Duration = .milliseconds(200)
    /// Most results one HubSpot search query pages through: an `after` at or past it is a 400
    /// (`hubspot.md` §3: 10,000). Lower it to test window splitting with little data.
    public var hubSpotSearchCap = 10_000
    /// CleverTap's "not ready" quirk (`clevertap.md` §5): the first GET of each cursor fresh from step 1
    /// answers `{"status":"fail","error":"Cursor is still processing, try again","code":2}` once; on by default.
    public var cleverTapCursorNotReadyOnce: Bool = true

    /// How long the server waits for a (slow-fault) answer before answering 503 itself.
    public var responseDeadline: Duration
    /// Serves the test-only control endpoints under `/_sandbox/` (faults, chaos, request log and
    /// stats, calls) on the sandbox's port; off by default (`callfeed-sandbox --control`).
    public var controlEndpoints: Bool
    /// The sandbox's clock: rate-limit windows, CallRail's `date_range` and retention, CallKeeper's
    /// default `to`.
    public var now: @Sendable () -> Timestamp

    /// - Parameters:
    ///   - from: Defaults to seven days before the start of the current UTC day.
    ///   - to: Defaults to the start of the current UTC day.
    public init(seed: UInt64 = 1, accounts: Int = 2, callsPerAccount: Int = 50,
                from: Timestamp? = nil, to: Timestamp? = nil,
                oddRecords: Int = 0, oddKinds: [SandboxOddity] = [.unparseableTime, .garbagePhone],
                ctm: CTMCredentials = CTMCredentials(), callKeeper: CallKeeperCredentials = CallKeeperCredentials(),
                callRail: CallRailCredentials = CallRailCredentials(), justCall: JustCallCredentials = JustCallCredentials(),
                hubSpot: HubSpotCredentials = HubSpotCredentials(), cleverTap: CleverTapCredentials = CleverTapCredentials(),
                five9: Five9Credentials = Five9Credentials(),
                rateLimits: [SandboxVendor: SandboxRateLimit] = [:], operationRateLimits: [String: SandboxRateLimit] = [:],
                callKeeperPageSize: Int = 1000,
                callRailUserTimeZone: String = "America/New_York", callRailRetentionDays: Int? = 760,
                justCallUserTimeZone: String = "America/Los_Angeles", justCallUnpaddedHours: Bool = true,
                responseDeadline: Duration = .seconds(120), controlEndpoints: Bool = false,
                now: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) {
        let today = CivilTime.utcDayStart(now())
        self.seed = seed
        self.accounts = accounts
        self.callsPerAccount = callsPerAccount
        self.from = from ?? today.adding(seconds: -7 * 86_400)
        self.to = to ?? today
        self.oddRecords = oddRecords
        self.oddKinds = oddKinds
        self.ctm = ctm; self.callKeeper = callKeeper; self.callRail = callRail; self.justCall = justCall
        self.hubSpot = hubSpot; self.cleverTap = cleverTap; self.five9 = five9
        self.rateLimits = rateLimits
        self.operationRateLimits = operationRateLimits
        self.callKeeperPageSize = callKeeperPageSize
        self.callRailUserTimeZone = callRailUserTimeZone
        self.callRailRetentionDays = callRailRetentionDays
        self.justCallUserTimeZone = justCallUserTimeZone
        self.justCallUnpaddedHours = justCallUnpaddedHours
        self.responseDeadline = responseDeadline
        self.controlEndpoints = controlEndpoints
        self.now = now
    }

    /// The budget `vendor` enforces.
    public func rateLimit(for vendor: SandboxVendor) -> SandboxRateLimit {
        rateLimits[vendor] ?? .vendorDefault(for: vendor)
    }
}
