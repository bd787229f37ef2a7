import CallFeedCore

/// Generates a vendor's accounts and calls from the configuration's seed. Pure: the same
/// configuration gives the same data.
struct DataGenerator: Sendable {
    let configuration: SandboxConfiguration

    // MARK: - Accounts

    /// The vendor's accounts with their agents and numbers.
    func accounts(for vendor: SandboxVendor) -> [SandboxAccount] {
        (0..<max(0, configuration.accounts)).map { account(vendor, index: $0) }
    }

    private func account(_ vendor: SandboxVendor, index: Int) -> SandboxAccount {
        var random = SeededRandom(configuration.seed, stableHash(vendor.name), UInt64(index), 0xACC)
        let isRussian = vendor == .callkeeper
        let company = Self.companies[index % Self.companies.count] + (index >= Self.companies.count ? " \(index + 1)" : "")
        let agents = (0..<3).map { n -> SandboxAgent in
            let first = random.pick(isRussian ? Self.russianFirstNames : Self.firstNames)
            let last = random.pick(isRussian ? Self.russianLastNames : Self.lastNames)
            let asciiFirst = isRussian ? "manager\(n + 1)" : first.lowercased()
            let asciiLast = isRussian ? "office" : last.lowercased()
            return SandboxAgent(id: 40_000 + index * 100 + n + 1, name: "\(first) \(last)",
                                email: "\(asciiFirst).\(asciiLast)@acct\(index + 1).example.com")
        }
        let tracking = (0..<2).map { _ in phone(&random, russian: isRussian, business: true) }
        let business = phone(&random, russian: isRussian, business: true)
        let id: String
        let credential: SandboxCredential
        let offset: Int
        switch vendor {
        case .ctm:
            id = String(100_001 + index)
            credential = .basic(configuration.ctm.accessKey, configuration.ctm.secretKey)
            offset = [-4, -5, -7][index % 3] * 3600
        case .callkeeper:
            id = String(1001 + index)
            // The first account is the key holder's own; the others are shared with it by role.
            let key = index == 0 ? configuration.callKeeper.userKey : configuration.callKeeper.roleKey
            credential = SandboxCredential(key: key, secret: nil, authorization: nil)
            offset = [3, 5, 7][index % 3] * 3600
        case .callrail:
            id = String(123_456_789 + index)
            let key = configuration.callRail.apiKey
            credential = SandboxCredential(key: key, secret: nil, authorization: "Token token=\"\(key)\"")
            offset = -4 * 3600
        case .hubspot:
            // A portal (hub) id; one private-app token per portal.
            id = String(20_000_001 + index)
            let token = index == 0 ? configuration.hubSpot.accessToken : "\(configuration.hubSpot.accessToken)-\(index + 1)"
            credential = SandboxCredential(key: token, secret: nil, authorization: "Bearer \(token)")
            offset = -5 * 3600
        case .clevertap:
            id = index == 0 ? configuration.cleverTap.accountID : "\(configuration.cleverTap.accountID)-\(index + 1)"
            credential = SandboxCredential(key: id, secret: configuration.cleverTap.passcode, authorization: nil)
            offset = 0
        case .five9:
            // A Five9 domain; its reports speak Pacific time.
            id = "five9-domain-\(index + 1)"
            let user = index == 0 ? configuration.five9.username : "\(configuration.five9.username)-\(index + 1)"
            credential = .basic(user, configuration.five9.password)
            offset = -7 * 3600
        default:
            id = String(5001 + index)
            let key = index == 0 ? configuration.justCall.apiKey : "\(configuration.justCall.apiKey)-\(index + 1)"
            let secret = configuration.justCall.apiSecret
            credential = SandboxCredential(key: key, secret: secret, authorization: "\(key):\(secret)")
            offset = -7 * 3600
        }
        return SandboxAccount(vendor: vendor, id: id, name: company, credential: credential, index: index,
                              utcOffsetSeconds: offset, agents: agents, trackingNumbers: tracking, businessNumber: business)
    }

    // MARK: - Calls

    /// The facts of an account's generated calls, in time order, with serials from `firstSerial`,
    /// and which of them are odd.
    func callFacts(for vendor: SandboxVendor, account: SandboxAccount, firstSerial: Int) -> [(CallFacts, SandboxOddity?)] {
        let count = max(0, configuration.callsPerAccount)
        guard count > 0 else { return [] }
        var random = SeededRandom(configuration.seed, stableHash(vendor.name), UInt64(account.index), 0x71AE)
        let span = max(1, configuration.to.millisecondsSinceEpoch - configuration.from.millisecondsSinceEpoch)
        let times = (0..<count)
            .map { _ in Timestamp(millisecondsSinceEpoch: configuration.from.millisecondsSinceEpoch + random.int64(below: span)) }
            .sorted()
        let oddPositions = oddPositions(count: count)
        return times.enumerated().map { n, time in
            let serial = firstSerial + n
            let facts = self.facts(vendor: vendor, account: account, serial: serial, at: time, salt: UInt64(n))
            return (facts, oddPositions[n])
        }
    }

    /// Which call positions are odd, and how: `oddRecords` positions spread evenly.
    private func oddPositions(count: Int) -> [Int: SandboxOddity] {
        let odd = min(count, max(0, configuration.oddRecords))
        guard odd > 0, !configuration.oddKinds.isEmpty else { return [:] }
        var positions: [Int: SandboxOddity] = [:]
        for k in 0..<odd {
            positions[(k * count) / odd + (count / odd) / 2] = configuration.oddKinds[k % configuration.oddKinds.count]
        }
        return positions
    }

    /// The facts of one call. `salt` separates calls of the same account (a call added later
    /// passes its serial).
    func facts(vendor: SandboxVendor, account: SandboxAccount, serial: Int, at time: Timestamp, salt: UInt64) -> CallFacts {
        var random = SeededRandom(configuration.seed, stableHash(vendor.name), UInt64(account.index), salt, UInt64(serial))
        let isRussian = vendor == .callkeeper
        let isInbound = random.chance(85)
        let roll = random.int(0...99)
        let outcome: CallFacts.Outcome = roll < 65 ? .answered : roll < 85 ? .missed : roll < 95 ? .voicemail : .busy
        let ring = random.int(3...30)
        let talk: Int
        switch outcome {
        case .answered: talk = random.int(20...900)
        case .voicemail: talk = random.int(10...60)
        case .missed, .busy: talk = 0
        }
        let hold = outcome == .answered && random.chance(20) ? random.int(5...120) : 0
        let first = random.pick(isRussian ? Self.russianFirstNames : Self.firstNames)
        let last = random.pick(isRussian ? Self.russianLastNames : Self.lastNames)
        let place = random.pick(isRussian ? Self.russianCities : Self.cities)
        let channel = random.pick(Self.channels)
        let tagCount = random.int(0...2)
        var tags: [String] = []
        for _ in 0..<tagCount {
            let tag = random.pick(Self.tags)
            if !tags.contains(tag) { tags.append(tag) }
        }
        return CallFacts(
            serial: serial, startedAt: time, isInbound: isInbound, outcome: outcome,
            ringSeconds: ring, talkSeconds: talk, holdSeconds: hold,
            customerNumber: phone(&random, russian: isRussian, business: false),
            customerName: random.chance(70) ? "\(first) \(last)" : nil,
            customerFirstName: first, customerLastName: last,
            city: place.0, region: place.1, country: isRussian ? "Россия" : "US",
            trackingNumber: random.pick(account.trackingNumbers), businessNumber: account.businessNumber,
            agent: outcome == .answered ? random.pick(account.agents) : nil,
            source: channel.0, medium: channel.1, campaign: random.pick(Self.campaigns),
            keyword: random.pick(Self.keywords),
            gclid: channel.1 == "cpc" ? "EAIaIQobChMI-sandbox-\(random.hex(12))" : nil,
            tags: tags, hasRecording: outcome == .voicemail || (outcome == .answered && random.chance(80)),
            entropy: random.hex(32))
    }

    /// A fictional number in E.164: US `+1 AAA 555 01XX` or Russian `+7 9XX ...` / `+7 495 ...`.
    private func phone(_ random: inout SeededRandom, russian: Bool, business: Bool) -> String {
        if russian { return business ? "+7495" + random.digits(7) : "+79" + random.digits(9) }
        return "+1" + random.pick(Self.areaCodes) + "55501" + random.digits(2)
    }

    // MARK: - Word lists

    static let companies = ["Example Plumbing", "Acme HVAC", "Bright Dental", "Summit Roofing", "Harbor Law",
                            "Green Lawn Care", "Metro Auto Repair", "Blue Sky Realty"]
    static let firstNames = ["Jane", "Alex", "Sam", "Pat", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie"]
    static let lastNames = ["Example", "Rivera", "Nguyen", "Smith", "Okafor", "Kowalski", "Garcia", "Chen", "Patel", "Brown"]
    static let russianFirstNames = ["Иван", "Анна", "Сергей", "Мария", "Олег", "Елена"]
    static let russianLastNames = ["Петров", "Иванова", "Смирнов", "Кузнецова", "Попов", "Соколова"]
    static let cities: [(String, String)] = [("Baltimore", "MD"), ("Towson", "MD"), ("Austin", "TX"), ("Denver", "CO"),
                                             ("Portland", "OR"), ("Columbus", "OH"), ("Tampa", "FL")]
    static let russianCities: [(String, String)] = [("Москва", "Москва"), ("Санкт-Петербург", "Санкт-Петербург"),
                                                    ("Казань", "Татарстан"), ("Новосибирск", "Новосибирская область")]
    static let areaCodes = ["410", "443", "512", "303", "503", "614", "813"]
    static let channels: [(String, String)] = [("Google Ads", "cpc"), ("Google Organic", "organic"), ("Bing Ads", "cpc"),
                                               ("Facebook", "social"), ("Direct", "direct"), ("Yelp", "referral")]
    static let campaigns = ["Spring Promo", "Brand", "Emergency Service", "Retargeting"]
    static let keywords = ["plumber near me", "emergency repair", "best dentist", "roof leak", ""]
    static let tags = ["new-lead", "quote", "existing-customer", "follow-up", "spam"]
}
