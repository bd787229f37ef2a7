import CallFeedCore

extension VendorSandbox {
    /// A human-readable page for a newcomer: each vendor's base URL, first request, credentials
    /// and accounts. `callfeed-sandbox` prints it on start.
    public func summary() -> String {
        let c = configuration
        var lines = [
            "CallFeed vendor sandbox on port \(port): seed \(c.seed), \(c.accounts) account(s) per vendor, "
                + "\(c.callsPerAccount) calls each, \(CivilTime.date(c.from)) .. \(CivilTime.date(c.to)) (UTC, end exclusive)"
                + (c.oddRecords > 0 ? ", \(c.oddRecords) odd record(s) per account" : ""),
            "",
        ]
        for vendor in SandboxVendor.all {
            let base = baseURL(for: vendor)
            let accounts = accounts(vendor: vendor)
            let first = accounts.first
            lines.append("\(vendor.name)  \(base)")
            switch vendor {
            case .ctm:
                lines.append("  auth      HTTP Basic  access key \(c.ctm.accessKey)  secret \(c.ctm.secretKey) (also signs webhooks)")
                lines.append("  try       curl -u \(c.ctm.accessKey):\(c.ctm.secretKey) '\(base)/api/v1/accounts/\(first?.id ?? "ID")/calls?per_page=150&page=1'")
            case .callkeeper:
                lines.append("  auth      key in the URL  user key \(c.callKeeper.userKey) (get, getWithRole)  role key \(c.callKeeper.roleKey) (getByRole)")
                lines.append("  try       curl '\(base)/api/index.php?json/v3/\(c.callKeeper.userKey)/call/get/0/\(CivilTime.date(c.from))/\(CivilTime.date(c.to))'")
            case .callrail:
                lines.append("  auth      Authorization: Token token=\"\(c.callRail.apiKey)\"  webhook signing key \(c.callRail.signingKey)")
                lines.append("  try       curl -H 'Authorization: Token token=\"\(c.callRail.apiKey)\"' '\(base)/v3/a/\(first?.id ?? "ID")/calls.json?time_zone=Etc/UTC&start_date=\(CivilTime.date(c.from))&end_date=\(CivilTime.date(c.to))'")
            case .hubspot:
                lines.append("  auth      Authorization: Bearer <token> (one private-app token per portal, below)  client secret \(c.hubSpot.clientSecret) (signs webhooks v3)")
                lines.append("  try       curl -H 'Authorization: Bearer \(c.hubSpot.accessToken)' '\(base)/crm/v3/objects/calls?limit=100&properties=hs_timestamp,hs_call_duration'")
            case .clevertap:
                lines.append("  auth      X-CleverTap-Account-Id: <account>  X-CleverTap-Passcode: \(c.cleverTap.passcode)")
                lines.append("  try       curl -X POST -H 'X-CleverTap-Account-Id: \(c.cleverTap.accountID)' -H 'X-CleverTap-Passcode: \(c.cleverTap.passcode)' -H 'Content-Type: application/json' -d '{\"event_name\":\"App Launched\",\"from\":\(String(CivilTime.date(c.from).filter { $0 != "-" })),\"to\":\(String(CivilTime.date(c.to).filter { $0 != "-" }))}' '\(base)/1/profiles.json?batch_size=23'  (then GET ?cursor=…)")
            case .five9:
                lines.append("  auth      HTTP Basic  user \(c.five9.username) (domain 1; \(c.five9.username)-N for domain N)  password \(c.five9.password)")
                lines.append("  try       SOAP POST \(base)/wsadmin/v13/AdminWebService: runReport -> isReportRunning -> getReportResultCsv (docs/sandbox.md)")
            default:
                lines.append("  auth      Authorization: <api_key>:<api_secret>  (per account below; the secret signs webhooks)")
                lines.append("  try       curl -H 'Authorization: \(first?.credential.authorization ?? "KEY:SECRET")' '\(base)/v2.1/calls?per_page=100&sort=datetime&order=asc'")
            }
            let limit = c.rateLimit(for: vendor)
            let windows = limit.windows.map { "\($0.limit)/\($0.period.components.seconds)s" }.joined(separator: " + ")
            lines.append("  limit     \(windows.isEmpty ? "none" : windows)")
            for account in accounts {
                lines.append("  account   \(account.id)  \(account.name)  \(calls(vendor: vendor, account: account.id).count) calls  \(account.credential)")
            }
            lines.append("")
        }
        if c.controlEndpoints { lines.append("control   \(controlURL)  (test-only fault control, docs/sandbox.md)") }
        lines.append("Stop with Ctrl-C. Vendor quirks and the fault-injection API: docs/sandbox.md")
        return lines.joined(separator: "\n")
    }
}

extension VendorSandbox {
    /// The same facts as ``summary()`` as one line of JSON, for a harness that starts
    /// `callfeed-sandbox --print-json` (also `GET /_sandbox/info`): `port`, `control` (the control
    /// endpoints' base URL, or null when they are off), `seed`, and per vendor its `base_url`,
    /// `credentials`, `rate_limit` and `accounts` (id, name, calls, the credential that reads it).
    public func summaryJSON() -> String { JSONWriter.text(summaryValue()) }

    func summaryValue() -> JSONValue {
        let c = configuration
        var vendors: [String: JSONValue] = [:]
        for vendor in SandboxVendor.all {
            let credentials: [String: String] = switch vendor {
            case .ctm: ["access_key": c.ctm.accessKey, "secret_key": c.ctm.secretKey]
            case .callkeeper: ["user_key": c.callKeeper.userKey, "role_key": c.callKeeper.roleKey]
            case .callrail: ["api_key": c.callRail.apiKey, "signing_key": c.callRail.signingKey]
            case .hubspot: ["access_token": c.hubSpot.accessToken, "client_secret": c.hubSpot.clientSecret]
            case .clevertap: ["account_id": c.cleverTap.accountID, "passcode": c.cleverTap.passcode]
            case .five9: ["username": c.five9.username, "password": c.five9.password]
            default: ["api_key": c.justCall.apiKey, "api_secret": c.justCall.apiSecret]
            }
            let limit = c.rateLimit(for: vendor)
            let windows = limit.windows.map { window -> JSONValue in
                .object(["limit": .int(window.limit), "period_seconds": .int(Int64(window.period.components.seconds))])
            }
            let accounts = accounts(vendor: vendor).map { account -> JSONValue in
                .object(["id": .string(account.id), "name": .string(account.name),
                         "calls": .int(calls(vendor: vendor, account: account.id).count),
                         "key": .string(account.credential.key), "secret": .string(orNull: account.credential.secret),
                         "authorization": .string(orNull: account.credential.authorization)])
            }
            vendors[vendor.name] = .object([
                "base_url": .string(baseURL(for: vendor)), "credentials": .object(credentials.mapValues { .string($0) }),
                "rate_limit": .object(["windows": .array(windows), "retry_after": .bool(limit.sendsRetryAfter)]),
                "accounts": .array(accounts),
            ])
        }
        return .object([
            "service": .string("callfeed vendor sandbox"), "port": .int(Int(port)), "seed": Int64(exactly: c.seed).map { .int($0) } ?? .string(String(c.seed)),
            "from": .string(c.from.rfc3339), "to": .string(c.to.rfc3339),
            "control": c.controlEndpoints ? .string(controlURL) : .null, "vendors": .object(vendors),
        ])
    }
}
