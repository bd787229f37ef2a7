import CallFeedCore
import Foundation
import Logging
import Synchronization
import VendorSandbox

/// `callfeed dev --sandbox`: the vendor sandbox in-process, and a configuration whose sources poll
/// it (CTM, CallKeeper, CallRail, JustCall, HubSpot, Five9: calls and entity lists; CleverTap:
/// profiles; SalesPro, LeadConduit, SalesRabbit, Arrivy, Google Sheets: entity lists on their own ports) and accept its signed webhooks (the first four, and HubSpot's notifications),
/// so the whole pipeline runs without any vendor account. While it runs, a "live" thread adds a
/// call at one vendor every few seconds and fires that vendor's webhook at the receiver: the call
/// reaches the warehouse by webhook at once and again by the next poll, as one row.
public final class DevSandbox: Sendable {
    public let sandbox: VendorSandbox
    /// SalesPro's tables behind Athena's API (its own loopback port: Athena is one POST endpoint).
    public let athena: AthenaSandbox
    /// LeadConduit's events API (its own loopback port).
    public let leadConduit: LeadConduitSandbox
    /// SalesRabbit's REST API (its own loopback port).
    public let salesRabbit: SalesRabbitSandbox
    /// Arrivy's REST API (its own loopback port).
    public let arrivy: ArrivySandbox
    /// Google's token endpoint and the Sheets API (its own loopback port), and the service-account
    /// key file that trusts it (a temporary file, removed by ``stop()``).
    public let googleSheets: GoogleSheetsSandbox
    let googleKeyFile: String
    let stopping = Atomic<Bool>(false)
    let wake = DispatchSemaphore(value: 0)
    let finished = DispatchSemaphore(value: 0)

    /// Where the sandbox listens; vendors under `/ctm`, `/callkeeper`, `/callrail`, `/justcall`,
    /// `/hubspot`, `/clevertap`, `/five9`.
    public var url: String { "http://127.0.0.1:\(sandbox.port)" }

    /// Webhook token of the sandbox's CallKeeper source (loopback only).
    static let callKeeperToken = "dev-sandbox-callkeeper-token"

    /// Starts a sandbox with two accounts per vendor and 40 calls each over the last 3 days.
    public init(seed: UInt64 = 1) throws {
        let now = Timestamp.now()
        sandbox = VendorSandbox(configuration: SandboxConfiguration(seed: seed, accounts: 2, callsPerAccount: 40,
                                                                    from: now.adding(seconds: -3 * 86_400), to: now))
        athena = AthenaSandbox(tables: AthenaSandbox.salesProTables(now: now))
        leadConduit = LeadConduitSandbox(events: LeadConduitSandbox.events(count: 60, end: now))
        salesRabbit = SalesRabbitSandbox(leads: SalesRabbitSandbox.leads(count: 48, end: now))
        arrivy = ArrivySandbox(tasks: ArrivySandbox.tasks(count: 40, first: now.adding(seconds: -10 * 86_400), unscheduledEvery: 8))
        googleSheets = try GoogleSheetsSandbox(spreadsheets: GoogleSheetsSandbox.marketing(now: now))
        googleKeyFile = FileManager.default.temporaryDirectory.appendingPathComponent("callfeed-sandbox-google-key-\(UUID().uuidString).json").path
        do {
            try sandbox.start()
            try athena.start()
            try leadConduit.start()
            try salesRabbit.start()
            try arrivy.start()
            try googleSheets.start()
            try googleSheets.writeKeyFile(to: googleKeyFile)
        } catch {
            sandbox.stop()
            athena.stop()
            leadConduit.stop()
            salesRabbit.stop()
            arrivy.stop()
            googleSheets.stop()
            throw ConfigurationError("cannot start the vendor sandbox: \(error)")
        }
    }

    /// Adds the sandbox's sources to `config`: every vendor polled every `interval` seconds,
    /// entity lists every 10 minutes, webhooks verified with the sandbox's keys.
    public func configure(_ config: inout CallFeedConfiguration, webhookBase: String, interval: Int = 60) {
        func poll(_ vendor: SandboxVendor?, _ edit: (inout CallFeedConfiguration.PollSource) -> Void) -> CallFeedConfiguration.PollSource {
            var p = CallFeedConfiguration.PollSource()
            p.baseURL = vendor.map(sandbox.baseURL(for:))
            p.intervalSeconds = interval
            p.entitiesIntervalSeconds = 600
            p.lookbackHours = 1
            p.start = String(Timestamp.now().adding(seconds: -3 * 86_400).rfc3339.prefix(10))
            p.rateLimits = ["600/minute"]
            p.maxRetries = 3
            edit(&p)
            return p
        }
        let c = sandbox.configuration
        var ctm = CallFeedConfiguration.CTMSource(name: "ctm-sandbox", accountID: "", secrets: [c.ctm.secretKey])
        ctm.poll = poll(.ctm) { $0.accessKey = c.ctm.accessKey; $0.secretKey = c.ctm.secretKey; $0.entities = ["accounts", "users", "numbers"] }
        let ckAccount = sandbox.accounts(vendor: .callkeeper).first?.id ?? "1001"
        var ck = CallFeedConfiguration.CallKeeperSource(name: "callkeeper-sandbox", accountID: ckAccount, token: Self.callKeeperToken,
                                                        timezone: "UTC", defaultCountry: "RU")
        ck.poll = poll(.callkeeper) { $0.apiKey = c.callKeeper.userKey; $0.method = "get" }
        var callrail = CallFeedConfiguration.CallRailSource()
        callrail.name = "callrail-sandbox"
        callrail.signingKeys = [c.callRail.signingKey]
        // CallRail payloads name no account: the webhook source says which one it is.
        callrail.accountID = sandbox.accounts(vendor: .callrail).first?.id ?? ""
        callrail.poll = poll(.callrail) { $0.apiKey = c.callRail.apiKey }
        var justcall = CallFeedConfiguration.JustCallSource()
        justcall.name = "justcall-sandbox"
        justcall.accountID = sandbox.accounts(vendor: .justcall).first?.id ?? "5001"
        justcall.secrets = [c.justCall.apiSecret]
        justcall.webhookURL = webhookBase + "/webhooks/justcall"
        justcall.poll = poll(.justcall) { $0.apiKey = c.justCall.apiKey; $0.apiSecret = c.justCall.apiSecret }
        config.sources.ctm.append(ctm)
        config.sources.callkeeper.append(ck)
        config.sources.callrail.append(callrail)
        config.sources.justcall.append(justcall)
        var hubspot = CallFeedConfiguration.HubSpotSource()
        hubspot.name = "hubspot-sandbox"
        hubspot.portalID = sandbox.accounts(vendor: .hubspot).first?.id ?? "20000001"
        hubspot.poll = poll(.hubspot) { $0.accessToken = c.hubSpot.accessToken; $0.rateLimits = ["100/10s"] }
        // HubSpot's webhooks only name calls: its route re-reads them from the sandbox's API.
        hubspot.webhookURL = webhookBase + "/webhooks/hubspot"
        hubspot.clientSecrets = [c.hubSpot.clientSecret]
        var clevertap = CallFeedConfiguration.CleverTapSource()
        clevertap.name = "clevertap-sandbox"
        clevertap.accountID = c.cleverTap.accountID
        clevertap.poll = poll(.clevertap) { $0.passcode = c.cleverTap.passcode; $0.eventName = "App Launched"; $0.batchSize = 23 }
        var five9 = CallFeedConfiguration.Five9Source()
        five9.name = "five9-sandbox"
        five9.domain = sandbox.accounts(vendor: .five9).first?.id ?? "five9-domain-1"
        five9.poll = poll(.five9) { $0.username = c.five9.username; $0.password = c.five9.password }
        config.sources.hubspot.append(hubspot)
        config.sources.clevertap.append(clevertap)
        config.sources.five9.append(five9)
        var salespro = CallFeedConfiguration.SalesProSource()
        salespro.name = "salespro-sandbox"
        salespro.region = athena.region
        salespro.endpoint = athena.endpoint
        salespro.database = "salespro"
        salespro.accessKeyID = athena.accessKeyID
        salespro.secretAccessKey = athena.secretAccessKey
        salespro.queryTimeoutSeconds = 60
        salespro.poll = poll(nil) { $0.rateLimits = ["300/minute"] }
        config.sources.salespro.append(salespro)
        var leadconduit = CallFeedConfiguration.LeadConduitSource()
        leadconduit.name = "leadconduit-sandbox"
        leadconduit.poll = poll(nil) { $0.baseURL = leadConduit.baseURL; $0.apiKey = leadConduit.apiKey }
        config.sources.leadconduit.append(leadconduit)
        var salesrabbit = CallFeedConfiguration.SalesRabbitSource()
        salesrabbit.name = "salesrabbit-sandbox"
        salesrabbit.poll = poll(nil) { $0.baseURL = salesRabbit.baseURL; $0.apiKey = salesRabbit.apiToken }
        config.sources.salesrabbit.append(salesrabbit)
        var arrivySource = CallFeedConfiguration.ArrivySource()
        arrivySource.name = "arrivy-sandbox"
        arrivySource.poll = poll(nil) { $0.baseURL = arrivy.baseURL; $0.authKey = arrivy.authKey; $0.authToken = arrivy.authToken }
        config.sources.arrivy.append(arrivySource)
        var sheets = CallFeedConfiguration.GoogleSheetsSource()
        sheets.name = "google-sheets-sandbox"
        var leads = CallFeedConfiguration.GoogleSheetsSource.Sheet()
        leads.entity = "marketing_leads"
        leads.spreadsheetID = GoogleSheetsSandbox.marketingSpreadsheetID
        leads.range = "'Marketing Leads'!A1:G"
        leads.key = ["Lead ID"]
        leads.dateColumns = ["Created"]
        var spend = CallFeedConfiguration.GoogleSheetsSource.Sheet()
        spend.entity = "marketing_spend"
        spend.spreadsheetID = GoogleSheetsSandbox.marketingSpreadsheetID
        spend.range = "Spend"
        spend.key = ["Date", "Channel", "Campaign"]
        spend.dateColumns = ["Date"]
        sheets.sheets = [leads, spend]
        sheets.poll = poll(nil) { $0.baseURL = googleSheets.baseURL; $0.credentialsFile = googleKeyFile }
        config.sources.googleSheets.append(sheets)
    }

    /// Every `every`, a new call at the next vendor (round robin), and its webhook fired at the receiver.
    public func startLiveCalls(webhookBase: String, every: Duration = .seconds(10), logger: Logger) {
        let targets: [(SandboxVendor, String, String)] = [
            (.ctm, sandbox.accounts(vendor: .ctm).first?.id ?? "", webhookBase + "/webhooks/ctm"),
            (.callkeeper, sandbox.accounts(vendor: .callkeeper).first?.id ?? "", webhookBase + "/webhooks/callkeeper?token=\(Self.callKeeperToken)"),
            (.callrail, sandbox.accounts(vendor: .callrail).first?.id ?? "", webhookBase + "/webhooks/callrail"),
            (.justcall, sandbox.accounts(vendor: .justcall).first?.id ?? "", webhookBase + "/webhooks/justcall"),
            (.hubspot, sandbox.accounts(vendor: .hubspot).first?.id ?? "", webhookBase + "/webhooks/hubspot"),
        ]
        Thread.detachNewThread { [self] in
            var turn = 0
            while !stopping.load(ordering: .acquiring) {
                if wake.wait(timeout: .now() + Double(every.components.seconds)) == .success { break }
                let (vendor, account, url) = targets[turn % targets.count]
                turn += 1
                // CallKeeper hooks carry an id only for callback calls: keep adding until one is.
                var call = sandbox.addCall(vendor: vendor, account: account, at: Timestamp.now().adding(seconds: -120))
                while vendor == .callkeeper, call.record["serviceType"]?.text != "callback" {
                    call = sandbox.addCall(vendor: vendor, account: account, at: Timestamp.now().adding(seconds: -120))
                }
                let status = (try? sandbox.fireWebhooks(vendor: vendor, to: url, calls: [call]))?.first
                logger.info("sandbox: new call, webhook sent", metadata: [
                    "vendor": "\(vendor)", "call": "\(call.id)", "status": "\(status.map(String.init) ?? "not delivered")"])
            }
            finished.signal()
        }
    }

    public func stop() {
        if !stopping.exchange(true, ordering: .acquiringAndReleasing) {
            wake.signal()
            _ = finished.wait(timeout: .now() + 5)
        }
        sandbox.stop()
        athena.stop()
        leadConduit.stop()
        salesRabbit.stop()
        arrivy.stop()
        googleSheets.stop()
        try? FileManager.default.removeItem(atPath: googleKeyFile)
    }
}
