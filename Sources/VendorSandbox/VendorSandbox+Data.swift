import CallFeedCore
import Synchronization

extension VendorSandbox {
    // MARK: - Reading the generated data

    /// The vendor's accounts, in order.
    public func accounts(vendor: SandboxVendor) -> [SandboxAccount] {
        data.withLock { $0[vendor]?.accounts ?? [] }
    }

    /// An account's calls in start-time order (oldest first), as currently served.
    public func calls(vendor: SandboxVendor, account: String) -> [SandboxCall] {
        data.withLock { $0[vendor]?.calls[account] ?? [] }
    }

    /// Every call of the vendor, account by account.
    public func calls(vendor: SandboxVendor) -> [SandboxCall] {
        data.withLock { all in
            guard let dataset = all[vendor] else { return [] }
            return dataset.accounts.flatMap { dataset.calls[$0.id] ?? [] }
        }
    }

    /// An account's call records (the vendor's JSON, as the single-call endpoint returns it).
    public func records(vendor: SandboxVendor, account: String) -> [JSONValue] {
        calls(vendor: vendor, account: account).map(\.record)
    }

    /// One call by its vendor id, in any account.
    public func call(vendor: SandboxVendor, id: String) -> SandboxCall? {
        data.withLock { all in all[vendor]?.calls.values.lazy.flatMap { $0 }.first { $0.id == id } }
    }

    // MARK: - Changing it

    /// Adds a call that the vendor "learns about" now, e.g. a late call inside a poller's lookback.
    /// It gets the next id and a record in the vendor's shape, generated from the seed.
    /// - Parameters:
    ///   - vendor: The vendor.
    ///   - account: An id from ``accounts(vendor:)``.
    ///   - startedAt: When the call started (date filters use this).
    ///   - oddity: Makes the record deliberately broken.
    ///   - changes: Applied to the new record before it is served.
    /// - Returns: The call as now served.
    /// - Precondition: `account` is one of the vendor's accounts.
    @discardableResult
    public func addCall(vendor: SandboxVendor, account: String, at startedAt: Timestamp, oddity: SandboxOddity? = nil,
                        changes: [SandboxCallChange] = []) -> SandboxCall {
        guard let api = apis[vendor] else { preconditionFailure("unknown sandbox vendor \(vendor)") }
        let generator = DataGenerator(configuration: configuration)
        return data.withLock { all in
            guard var dataset = all[vendor], let owner = dataset.account(account) else {
                preconditionFailure("\(vendor) has no sandbox account \(account); see accounts(vendor:)")
            }
            let serial = dataset.nextSerial
            let facts = generator.facts(vendor: vendor, account: owner, serial: serial, at: startedAt, salt: UInt64(serial) &+ 0xADD)
            let made = api.makeRecord(facts, account: owner, oddity: oddity, configuration: configuration)
            let record = changes.reduce(made.record) { api.apply($1, to: $0) }
            let call = SandboxCall(vendor: vendor, account: account, id: made.id, startedAt: startedAt, oddity: oddity,
                                   record: record, serial: serial, updatedAt: configuration.now())
            var calls = dataset.calls[account] ?? []
            let position = calls.firstIndex { VendorDataset.chronological(call, $0) } ?? calls.count
            calls.insert(call, at: position)
            dataset.calls[account] = calls
            dataset.nextSerial += 1
            all[vendor] = dataset
            return call
        }
    }

    /// Changes a call the API already serves (a recording that arrived late, new tags, any field);
    /// its ``SandboxCall/version`` goes up by one and ``SandboxCall/updatedAt`` becomes now.
    /// - Returns: The call as now served, or nil when the account has no call with that id.
    @discardableResult
    public func updateCall(vendor: SandboxVendor, account: String, id: String, _ changes: SandboxCallChange...) -> SandboxCall? {
        guard let api = apis[vendor] else { return nil }
        return edit(vendor: vendor, account: account, id: id) { record in
            record = changes.reduce(record) { api.apply($1, to: $0) }
        }
    }

    /// Changes a call's record with a closure (full control over the vendor's JSON).
    /// - Returns: The call as now served, or nil when the account has no call with that id.
    @discardableResult
    public func updateCall(vendor: SandboxVendor, account: String, id: String, edit change: (inout JSONValue) -> Void) -> SandboxCall? {
        edit(vendor: vendor, account: account, id: id, change)
    }

    private func edit(vendor: SandboxVendor, account: String, id: String, _ change: (inout JSONValue) -> Void) -> SandboxCall? {
        data.withLock { all in
            guard var dataset = all[vendor], var calls = dataset.calls[account],
                  let index = calls.firstIndex(where: { $0.id == id }) else { return nil }
            change(&calls[index].record)
            calls[index].version += 1
            calls[index].updatedAt = configuration.now()
            dataset.calls[account] = calls
            all[vendor] = dataset
            return calls[index]
        }
    }
}
