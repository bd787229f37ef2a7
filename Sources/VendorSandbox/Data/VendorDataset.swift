import CallFeedCore

/// One vendor's accounts and calls. A value: the server takes a snapshot per request (arrays are
/// copy-on-write, so a snapshot costs nothing until a test changes the data).
struct VendorDataset: Sendable {
    var accounts: [SandboxAccount]
    /// Calls by account id, in start-time order.
    var calls: [String: [SandboxCall]]
    /// The serial the next added call gets.
    var nextSerial: Int

    func account(_ id: String) -> SandboxAccount? { accounts.first { $0.id == id } }

    /// The calls of `accountIDs`, merged in start-time order (ties by serial).
    func calls(of accountIDs: [String]) -> [SandboxCall] {
        let merged = accountIDs.flatMap { calls[$0] ?? [] }
        return accountIDs.count > 1 ? merged.sorted(by: VendorDataset.chronological) : merged
    }

    static func chronological(_ a: SandboxCall, _ b: SandboxCall) -> Bool {
        a.startedAt != b.startedAt ? a.startedAt < b.startedAt : a.serial < b.serial
    }

    /// Builds a vendor's data from the configuration.
    static func generate(for api: any VendorAPI, configuration: SandboxConfiguration) -> VendorDataset {
        let generator = DataGenerator(configuration: configuration)
        let accounts = generator.accounts(for: api.vendor)
        var calls: [String: [SandboxCall]] = [:]
        var serial = 1
        for account in accounts {
            let facts = generator.callFacts(for: api.vendor, account: account, firstSerial: serial)
            calls[account.id] = facts.map { facts, oddity in
                let made = api.makeRecord(facts, account: account, oddity: oddity, configuration: configuration)
                return SandboxCall(vendor: api.vendor, account: account.id, id: made.id, startedAt: facts.startedAt,
                                   oddity: oddity, record: made.record, serial: facts.serial)
            }
            serial += facts.count
        }
        return VendorDataset(accounts: accounts, calls: calls, nextSerial: serial)
    }
}
