import CallFeedCore

extension CleverTapAPI {
    /// The events every generated profile may carry; each profile has `App Launched`.
    static let launched = "App Launched"

    /// One **profile** per generated customer, in the shape of `clevertap.profiles.page.sample.json`
    /// (§6): the "calls" of the CleverTap dataset are profiles. `objectId` is `__` + 32 hex (the
    /// sandbox call's id), `identity` `crm-<serial>`, `phone` the customer's number in `+E.164`,
    /// `events` `{name: {count, first_seen, last_seen}}` in epoch seconds, where `App Launched`'s
    /// `last_seen` is the call's start; every third profile also has `Quote Requested`, every fifth
    /// `Charged`. Any oddity drops `objectId` (the profile cannot be keyed); `.garbagePhone` also
    /// makes the phone garbage.
    func makeRecord(_ facts: CallFacts, account: SandboxAccount, oddity: SandboxOddity?,
                    configuration: SandboxConfiguration) -> (id: String, record: JSONValue) {
        let objectID = "__" + facts.entropy
        let last = facts.startedAt.secondsSinceEpoch
        let daysActive = Int64(facts.serial % 10)
        var events: [String: JSONValue] = [
            Self.launched: .object(["count": .int(1 + facts.serial % 40), "first_seen": .int(last - daysActive * 86_400),
                                    "last_seen": .int(last)]),
        ]
        if facts.serial % 3 == 0 {
            events["Quote Requested"] = .object(["count": .int(1 + facts.serial % 3), "first_seen": .int(last - 3600),
                                                 "last_seen": .int(last - 600)])
        }
        if facts.serial % 5 == 0 {
            events["Charged"] = .object(["count": .int(1), "first_seen": .int(last - 1800), "last_seen": .int(last - 1800)])
        }
        let named = facts.customerName != nil
        let identity = "crm-" + CivilTime.pad(facts.serial, 6)
        let email = named ? "\(facts.customerFirstName.lowercased()).\(facts.customerLastName.lowercased())@example.com" : ""
        let platforms = ["Android", "iOS", "Web"]
        let platform = platforms[facts.serial % platforms.count]
        var device: [String: JSONValue] = ["platform": .string(platform), "objectId": .string(objectID)]
        if platform != "Web" {
            device["os_version"] = .string(platform == "Android" ? "14" : "17.4")
            device["app_version"] = .string("3.8.\(facts.serial % 4)")
            device["make"] = .string(platform == "Android" ? "Google" : "Apple")
            device["model"] = .string(platform == "Android" ? "Pixel 8" : "iPhone15,2")
            device["push_token"] = .string((platform == "Android" ? "fcm:" : "apns:") + String(facts.entropy.prefix(16)))
        }
        var record: [String: JSONValue] = [
            "identity": .string(named ? identity : ""),
            "all_identities": .array(named ? [.string(identity), .string(email)] : []),
            "name": .string(facts.customerName ?? ""),
            "email": .string(email),
            "phone": .string(oddity == .garbagePhone ? "call-me-maybe" : facts.customerNumber),
            "profileData": .object([
                "customer_type": .string(facts.isAnswered ? "homeowner" : "prospect"),
                "city": .string(facts.city),
                "region": .string(facts.region),
                "preferred_contact": .string(facts.serial % 2 == 0 ? "phone" : "email"),
                "last_quote_amount": .int(facts.serial % 3 == 0 ? 500 + facts.serial * 25 % 4000 : 0),
                "MSG-sms": .bool(facts.serial % 4 != 0),
            ]),
            "platformInfo": .array([.object(device)]),
            "events": .object(events),
        ]
        if oddity == nil { record["objectId"] = .string(objectID) }
        return (objectID, .object(record))
    }

    /// CleverTap profiles hold no recording or tags: `.recording` sets `profileData.last_recording`
    /// (removed by nil), `.tags` sets `profileData.tags`; `.field` sets any dotted path.
    func apply(_ change: SandboxCallChange, to record: JSONValue) -> JSONValue {
        var record = record
        switch change.kind {
        case .recording(let url): record.set(["profileData", "last_recording"], to: url.map { .string($0) } ?? .null)
        case .tags(let tags): record.set(["profileData", "tags"], to: .array(tags.map { .string($0) }))
        case .field(let path, let value): record.set(dotted: path, to: value)
        }
        return record
    }

    /// CleverTap's webhooks are campaign channels with operator-chosen auth and no documented
    /// signature (§7): the profile as JSON, no signature headers.
    func webhook(for call: SandboxCall, account: SandboxAccount, url: String,
                 configuration: SandboxConfiguration, now: Timestamp) -> WebhookDelivery {
        WebhookDelivery(headers: [("Content-Type", "application/json")],
                        body: JSONWriter.bytes(.object(["profiles": .array([call.record])])))
    }
}
