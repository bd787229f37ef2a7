import AWSSigV4
import CallFeedApp
import CallFeedIngest
import CallFeedPoll
import CallFeedVendors
import CallFeedSQLPoll
import Foundation
import Testing

@Suite struct ConfigurationTests {
    static let examplePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/callfeed.yaml").path

    func reason(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let error as ConfigurationError { return error.reason } catch { return "\(error)" }
    }

    @Test func exampleFileLoadsWithSecretsFromTheEnvironment() throws {
        let config = try CallFeedConfiguration.load(path: Self.examplePath, environment: [
            "CALLKEEPER_WEBHOOK_TOKEN": "token-from-env", "CTM_WEBHOOK_SECRET": "a:b#c",
        ])
        #expect(config.sources.callkeeper.first?.token == "token-from-env")
        #expect(config.sources.callkeeper.first?.timezone == "UTC")
        #expect(config.sources.ctm.first?.secrets == ["a:b#c"])  // the unset previous secret is dropped
        #expect(config.kafka.bootstrapServers == "127.0.0.1:9092")
        #expect(config.load.batchSize == 500)
        #expect(!config.redactedSummary.contains("token-from-env"))
        #expect(!config.redactedSummary.contains("a:b#c"))
    }

    /// The commented-out `poll:` blocks of the example stay valid: uncommented, they parse.
    @Test func examplePollBlocksParseWhenUncommented() throws {
        var text = try String(contentsOfFile: Self.examplePath, encoding: .utf8)
        text = text.replacingOccurrences(of: #"(?m)^      # poll:.*$"#, with: "      poll:", options: .regularExpression)
        text = text.replacingOccurrences(of: #"(?m)^      #   "#, with: "        ", options: .regularExpression)
        text = text.replacingOccurrences(of: #"(?m)^  #> "#, with: "  ", options: .regularExpression)
        let config = try CallFeedConfiguration.parse(text, environment: [
            "CALLKEEPER_WEBHOOK_TOKEN": "token-from-env", "CTM_WEBHOOK_SECRET": "s", "CALLKEEPER_API_KEY": "ck-key",
            "CTM_ACCESS_KEY": "a", "CTM_SECRET_KEY": "b", "CALLRAIL_SIGNING_KEY": "cr-sign", "CALLRAIL_API_KEY": "cr-key",
            "JUSTCALL_API_KEY": "jc-key", "JUSTCALL_API_SECRET": "jc-secret", "HUBSPOT_ACCESS_TOKEN": "hs-token",
            "HUBSPOT_CLIENT_SECRET": "hs-client-secret",
            "CLEVERTAP_PASSCODE": "ct-pass", "FIVE9_USERNAME": "f9-user", "FIVE9_PASSWORD": "f9-pass",
            "GENIUS_DATABASE_URL": "postgresql://reader:g-pass@genius-db/genius",
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEY", "AWS_SECRET_ACCESS_KEY": "aws-secret", "LEADCONDUIT_API_KEY": "lc-key",
            "SALESRABBIT_API_TOKEN": "sr-token", "MARKETSHARP_DB_PASSWORD": "ms-pass", "ARRIVY_AUTH_KEY": "ar-key", "ARRIVY_AUTH_TOKEN": "ar-token",
        ])
        #expect(config.sources.salesrabbit.first?.poll?.apiKey == "sr-token")
        #expect(config.sources.salesrabbit.first?.poll?.entities == ["leads", "users", "lead_statuses"])
        #expect(config.sources.arrivy.first?.poll?.authToken == "ar-token")
        #expect(config.sources.arrivy.first?.tasksPastDays == 30)
        let marketsharp = try #require(config.sources.marketsharp.first)
        #expect(marketsharp.tableMap.map(\.entity) == ["appointments", "contacts"])
        #expect(marketsharp.tableMap.last?.key == ["ContactId"])
        #expect(marketsharp.tableMap.last?.modified == "LastUpdate")
        #expect(marketsharp.password == "ms-pass")
        #expect(!config.redactedSummary.contains("ms-pass"))
        #expect(config.redactedSummary.contains("source marketsharp marketsharp-main: server=marketsharp-db.example.com:1433"))
        #expect(reason { _ = try CallFeedConfiguration.parse("sources:\n  marketsharp:\n    - {host: h, database: d, username: u, password: p, poll: {interval_seconds: 60}}\n",
                                                             environment: [:]) }?.hasPrefix("sources.marketsharp[0].tables is required") == true)
        #expect(reason { _ = try CallFeedConfiguration.parse("sources:\n  marketsharp:\n    - {host: h, database: d, username: u, poll: {interval_seconds: 60}}\n",
                                                             environment: [:]) }?.hasPrefix("sources.marketsharp[0].host, database, username and password are required") == true)
        let sheets = try #require(config.sources.googleSheets.first)
        #expect(sheets.sheets.map(\.entity) == ["marketing_leads", "marketing_spend"])
        #expect(sheets.sheets.first?.range == "'Marketing Leads'!A1:H")
        #expect(sheets.sheets.last?.key == ["Date", "Channel", "Campaign"])
        #expect(sheets.poll?.credentialsFile == "/etc/callfeed/google-sheets-key.json")
        #expect(Builders.googleSheetsStreams(sheets, poll: try #require(sheets.poll)).first?.mapping.keyColumns == ["lead_id"])
        for secret in ["sr-token", "ar-key", "ar-token"] { #expect(!config.redactedSummary.contains(secret)) }
        #expect(config.sources.leadconduit.first?.poll?.apiKey == "lc-key")
        #expect(!config.redactedSummary.contains("lc-key"))
        #expect(config.sources.salespro.first?.database == "salespro")
        #expect(!config.redactedSummary.contains("aws-secret"))
        #expect(config.sources.genius.first?.tableMap.first { $0.entity == "contacts" }?.key == ["contact_id"])
        #expect(!config.redactedSummary.contains("g-pass"))
        #expect(config.sources.ctm.first?.poll?.entities == ["accounts"])
        #expect(config.sources.hubspot.first?.poll?.accessToken == "hs-token")
        #expect(config.sources.hubspot.first?.poll?.entities?.contains("genius_users") == true)
        #expect(config.sources.clevertap.first?.poll?.startDate == "20240501")
        #expect(config.sources.clevertap.first?.poll?.region == "in1")
        #expect(config.sources.five9.first?.poll?.runReportLimits == ["16/minute", "120/hour", "800/day"])
        for secret in ["hs-token", "hs-client-secret", "ct-pass", "f9-pass"] { #expect(!config.redactedSummary.contains(secret)) }
        #expect(config.sources.hubspot.first?.webhookURL == "https://ingest.example.com/webhooks/hubspot")
        #expect(config.sources.hubspot.first?.clientSecrets == ["hs-client-secret"])
        #expect(config.sources.callrail.first?.signingKeys == ["cr-sign"])
        #expect(config.sources.callrail.first?.poll?.rateLimits == ["1000/hour", "10000/day"])
        #expect(reason { _ = try CallFeedConfiguration.parse("sources:\n  callrail:\n    - poll: {api_key: k, pagination: cursor}\n", environment: [:]) }
            == "sources.callrail[0].poll.pagination must be numbered or relative")
        #expect(config.sources.justcall.first?.poll?.apiSecret == "jc-secret")
        #expect(config.sources.justcall.first?.webhookURL == "https://ingest.example.com/webhooks/justcall")
        #expect(Builders.makeRoutes(config).map(\.path).sorted() == ["/webhooks/callkeeper", "/webhooks/callrail", "/webhooks/ctm", "/webhooks/hubspot", "/webhooks/justcall"])
        #expect(Builders.pollSources(config).map { "\($0.vendor):\($0.source == nil ? "-" : "calls"):\($0.entityStreams.count)" }
            == ["ctm:calls:1", "callkeeper:calls:0", "callrail:calls:6", "justcall:calls:5", "hubspot:calls:7", "clevertap:-:1", "five9:calls:0", "leadconduit:-:1", "salesrabbit:-:3", "arrivy:-:3", "google_sheets:-:2", "genius:-:7", "marketsharp:-:2", "salespro:-:4"])
        for secret in ["cr-sign", "cr-key", "jc-key", "jc-secret"] { #expect(!config.redactedSummary.contains(secret)) }
        #expect(reason { _ = try CallFeedConfiguration.parse(text.replacingOccurrences(of: "entities: [accounts]", with: "entities: [accounts, trackers]"),
                                                             environment: ["CALLKEEPER_WEBHOOK_TOKEN": "t-0000000", "CTM_WEBHOOK_SECRET": "s",
                                                                           "CALLKEEPER_API_KEY": "k", "CTM_ACCESS_KEY": "a", "CTM_SECRET_KEY": "b",
                                                                           "CALLRAIL_SIGNING_KEY": "x", "CALLRAIL_API_KEY": "y",
                                                                           "JUSTCALL_API_KEY": "z", "JUSTCALL_API_SECRET": "w"]) }?
            .contains("ctm has no entity list trackers") == true)
        #expect(config.sources.callkeeper.first?.poll?.apiKey == "ck-key")
        #expect(config.sources.callkeeper.first?.poll?.rateLimits == ["60/minute"])
        #expect(config.sources.ctm.first?.poll?.dailyAt == "02:00")
        #expect(config.sources.ctm.first?.poll?.start == "2024-01-01")
        #expect(!config.redactedSummary.contains("ck-key"))
        // Without the keys, polling is refused with the key to set.
        #expect(reason { _ = try CallFeedConfiguration.parse(text, environment: [
            "CALLKEEPER_WEBHOOK_TOKEN": "token-from-env", "CTM_WEBHOOK_SECRET": "s", "CALLRAIL_SIGNING_KEY": "x", "CALLRAIL_API_KEY": "y",
            "JUSTCALL_API_KEY": "z", "JUSTCALL_API_SECRET": "w"]) }
            == "sources.callkeeper[0].poll.api_key is required for polling")
        #expect(reason { _ = try CallFeedConfiguration.parse("sources:\n  arrivy:\n    - poll: {auth_key: k}\n", environment: [:]) }?
            .hasPrefix("sources.arrivy[0].poll.auth_key and auth_token are required") == true)
        let sheet = "sources:\n  google_sheets:\n    - poll: {credentials_file: /k.json}\n      sheets:\n"
        #expect(reason { _ = try CallFeedConfiguration.parse("sources:\n  google_sheets:\n    - sheets: []\n      poll: {interval_seconds: 60}\n", environment: [:]) }?
            .hasPrefix("sources.google_sheets[0].poll.credentials_file is required") == true)
        #expect(reason { _ = try CallFeedConfiguration.parse(sheet + "        - {entity: Leads, spreadsheet_id: s, range: A}\n", environment: [:]) }?
            .hasPrefix("sources.google_sheets[0].sheets[0].entity must be a lower-case name") == true)
        #expect(reason { _ = try CallFeedConfiguration.parse(sheet + "        - {entity: leads, spreadsheet_id: s, range: A}\n        - {entity: leads, spreadsheet_id: s, range: B}\n",
                                                             environment: [:]) } == "sources.google_sheets[0].sheets[1].entity leads is used twice")
        #expect(reason { _ = try CallFeedConfiguration.parse(sheet + "        - {entity: leads, spreadsheet_id: s, range: A, time_zone: Mars/Base}\n", environment: [:]) }
            == "sources.google_sheets[0].sheets[0].time_zone Mars/Base is not an IANA time zone")
        #expect(reason { _ = try CallFeedConfiguration.parse("sources:\n  salesrabbit:\n    - poll: {api_key: k, entities: [appointments]}\n", environment: [:]) }?
            .hasPrefix("sources.salesrabbit[0].poll.entities: salesrabbit has no entity list appointments") == true)
    }

    /// HubSpot, CleverTap and Five9 sources: each required key and malformed value is named.
    @Test func moreSourcesAreValidatedWithTheKeyToFix() {
        func check(_ yaml: String) -> String? { reason { _ = try CallFeedConfiguration.parse("sources:\n" + yaml, environment: [:]) } }
        #expect(check("  hubspot:\n    - poll: {access_token: t}\n") == "sources.hubspot[0].portal_id is required (the portal's hub id, the calls' account)")
        #expect(check("  hubspot:\n    - portal_id: '1'\n      poll: {}\n")?.hasPrefix("sources.hubspot[0].poll.access_token is required") == true)
        #expect(check("  hubspot:\n    - portal_id: '1'\n      poll: {access_token: t, rate_limits: ['100/10s', '4/second']}\n") == nil)
        #expect(check("  hubspot:\n    - portal_id: '1'\n      poll: {access_token: t, rate_limits: ['100/10fortnights']}\n")?
            .contains("must look like 1000/hour or 100/10s") == true)
        #expect(check("  hubspot:\n    - portal_id: '1'\n      poll: {access_token: t, api_key: k}\n") != nil)  // not a HubSpot key
        // The optional webhook route: a full http(s) URL and at least one client secret, or neither.
        let hs = "  hubspot:\n    - portal_id: '1'\n      poll: {access_token: t}\n"
        #expect(check(hs + "      webhook_url: https://in.example.com/webhooks/hubspot\n      client_secrets: [s1, s2]\n") == nil)
        #expect(check(hs + "      webhook_url: in.example.com/webhooks/hubspot\n      client_secrets: [s1]\n")
            == "sources.hubspot[0].webhook_url must be the full http(s):// URL registered at HubSpot (it is signed)")
        #expect(check(hs + "      webhook_url: https://in.example.com/webhooks/hubspot\n      client_secrets: ['']\n")
            == "sources.hubspot[0].client_secrets needs at least one secret (the app's client secret signs webhooks)")
        #expect(check(hs + "      client_secrets: [s1]\n")
            == "sources.hubspot[0].client_secrets is set but webhook_url is not (the URL is part of the signature)")
        let ct = "  clevertap:\n    - account_id: A\n      poll: {passcode: p, event_name: Called"
        #expect(check(ct + "}\n") == nil)
        #expect(check(ct + ", region: sk1}\n")?.hasPrefix("sources.clevertap[0]: CleverTap source clevertap: region \"sk1\" is not one of") == true)
        #expect(check(ct + ", start_date: '2024-05-01'}\n")?.hasSuffix("start_date must be a date written YYYYMMDD, not 2024-05-01") == true)
        #expect(check(ct + ", start_date: '20240231'}\n")?.hasSuffix("start_date must be a date written YYYYMMDD, not 20240231") == true)
        #expect(check(ct + ", start_date: '20240502', end_date: '20240501'}\n")?.hasSuffix("start_date 20240502 is after end_date 20240501") == true)
        #expect(check(ct + ", batch_size: 5001}\n")?.hasSuffix("batch_size must be 1 to 5000, not 5001") == true)
        #expect(check("  clevertap:\n    - account_id: A\n      poll: {passcode: p}\n")?.contains("event_name is required") == true)
        let f9 = "  five9:\n    - domain: D\n      poll: {username: u, password: p"
        #expect(check(f9 + "}\n") == nil)
        #expect(check(f9 + ", data_center: mars}\n")?.hasPrefix("sources.five9[0].poll.data_center must be one of ca, eu, uk, us") == true)
        #expect(check(f9 + ", report_time_zone: Pacific}\n") == "sources.five9[0].poll.report_time_zone Pacific is not an IANA time zone")
        #expect(check(f9 + ", run_report_limits: [lots]}\n") == "sources.five9[0].poll.run_report_limits entry lots must look like 16/minute")
        #expect(check("  five9:\n    - poll: {username: u, password: p}\n")?.hasPrefix("sources.five9[0].domain is required") == true)
    }

    /// Genius: the URL from the environment, the table map merged over the defaults, names that
    /// could be SQL refused, and `poll.entities` limited to known or added tables.
    @Test func geniusSourcesMapTablesAndRefuseSQLInNames() throws {
        func parse(_ yaml: String) throws -> CallFeedConfiguration {
            try CallFeedConfiguration.parse("sources:\n  genius:\n" + yaml, environment: ["GENIUS_DATABASE_URL": "host=db dbname=genius"])
        }
        func check(_ yaml: String) -> String? { reason { _ = try parse(yaml) } }
        let base = "    - url: ${GENIUS_DATABASE_URL}\n      poll: {interval_seconds: 300"
        let config = try parse(base + ", entities: [leads, invoices]}\n      time_zone: America/Chicago\n      tables:\n"
            + "        leads: {table: crm.lead, key: [id], modified: updated_at}\n        invoices: {table: invoice, key: [invoice_no], modified: none}\n")
        let genius = try #require(config.sources.genius.first)
        #expect(genius.url == "host=db dbname=genius")
        #expect(genius.tableMap.map(\.entity) == ["leads", "prospects", "appointments", "users", "divisions", "contacts", "division_groups", "invoices"])
        #expect(genius.tableMap[0] == SQLTable(entity: "leads", table: "crm.lead", key: ["id"], modified: "updated_at"))
        #expect(genius.tableMap.last == SQLTable(entity: "invoices", table: "invoice", key: ["invoice_no"], modified: nil))
        let streams = try #require(Builders.pollSources(config).first { $0.vendor == "genius" }).entityStreams
        #expect(streams.map(\.entity) == ["leads", "invoices"])
        #expect(streams.map(\.isIncremental) == [true, false])
        #expect(config.redactedSummary.contains("table leads: crm.lead key=id modified=updated_at"))
        #expect(!config.redactedSummary.contains("dbname=genius"), "the URL (it may hold a password) is not shown")
        #expect(check("    - poll: {interval_seconds: 300}\n")?.hasPrefix("sources.genius[0].url is required") == true)
        #expect(check(base + "}\n      tables:\n        leads: {table: \"leads; DROP TABLE x\"}\n")?
            .hasPrefix("sources.genius[0].tables: leads: table \"leads; DROP TABLE x\" must be a name or schema.name") == true)
        #expect(check(base + ", entities: [invoices]}\n")?.hasPrefix("sources.genius[0].poll.entities: no table invoices") == true)
        #expect(check(base + "}\n      time_zone: Central\n") == "sources.genius[0].time_zone Central is not an IANA time zone")
    }

    /// SalesPro: Athena settings, keys from the environment and never shown, the four default tables.
    @Test func salesProSourcesNeedADatabaseAndKeys() throws {
        let env = ["AWS_ACCESS_KEY_ID": "AKIAEXAMPLE123", "AWS_SECRET_ACCESS_KEY": "very-secret"]
        func parse(_ yaml: String) throws -> CallFeedConfiguration { try CallFeedConfiguration.parse("sources:\n  salespro:\n" + yaml, environment: env) }
        func check(_ yaml: String) -> String? { reason { _ = try parse(yaml) } }
        let keys = "      access_key_id: ${AWS_ACCESS_KEY_ID}\n      secret_access_key: ${AWS_SECRET_ACCESS_KEY}\n"
        let config = try parse("    - database: salespro_prod\n      region: eu-west-1\n" + keys
            + "      tables: {estimates: {table: sp.estimate, key: [estimate_id]}}\n      poll: {interval_seconds: 3600}\n")
        let source = try #require(config.sources.salespro.first)
        #expect(source.tableMap.map(\.entity) == ["credit_applications", "customers", "estimates", "lead_results"])
        #expect(source.tableMap[2] == SQLTable(entity: "estimates", table: "sp.estimate", key: ["estimate_id"], modified: "updated_at"))
        let streams = try #require(Builders.pollSources(config).first { $0.vendor == "salespro" }).entityStreams
        #expect(streams.count == 4)
        let athena = try #require(streams.first as? SalesProAthenaStream).athena
        #expect(athena.endpoint == "https://athena.eu-west-1.amazonaws.com")
        #expect(athena.signer.service == "athena")
        #expect(!config.redactedSummary.contains("very-secret"))
        #expect(!config.redactedSummary.contains("AKIAEXAMPLE123"))
        #expect(check("    - region: us-east-1\n" + keys + "      poll: {}\n")?.hasPrefix("sources.salespro[0].database is required") == true)
        #expect(check("    - database: d\n      poll: {}\n")?.hasPrefix("sources.salespro[0].access_key_id and secret_access_key are required") == true)
        #expect(check("    - database: d\n" + keys + "      page_size: 5000\n      poll: {}\n")?.contains("page_size 1 to 1000") == true)
    }

    @Test func missingVariableIsNamedWithItsKey() {
        let r = reason { _ = try CallFeedConfiguration.load(path: Self.examplePath, environment: ["CTM_WEBHOOK_SECRET": "x"]) }
        #expect(r == "sources.callkeeper[0].token needs environment variable CALLKEEPER_WEBHOOK_TOKEN, which is not set")
    }

    @Test func substitutionForms() throws {
        let yaml = """
        kafka:
          bootstrap_servers: "${HOST:-localhost}:${PORT}"
          topic_prefix: ${EMPTY:-fallback}
        ingest:
          listen_port: ${LISTEN}
        """
        let config = try CallFeedConfiguration.parse(yaml, environment: ["PORT": "9093", "EMPTY": "", "LISTEN": "8181"])
        #expect(config.kafka.bootstrapServers == "localhost:9093")
        #expect(config.kafka.topicPrefix == "fallback")
        #expect(config.ingest.listenPort == 8181)
    }

    @Test func unknownKeysAndWrongKindsAreErrors() {
        #expect(reason { _ = try CallFeedConfiguration.parse("load:\n  batchsize: 5\n", environment: [:]) }?
            .hasPrefix("unknown configuration key load.batchsize") == true)
        #expect(reason { _ = try CallFeedConfiguration.parse("load:\n  batch_size: many\n", environment: [:]) }
            == "load.batch_size must be an integer")
        #expect(reason { _ = try CallFeedConfiguration.parse("kafka: [1, 2]\n", environment: [:]) } == "kafka must be a mapping")
        #expect(reason { _ = try CallFeedConfiguration.parse("kafka: {bootstrap_servers: \"${X\"}\n", environment: [:]) }?
            .contains("unterminated") == true)
    }

    @Test func validationCatchesBadSources() {
        let badZone = """
        sources:
          callkeeper:
            - {account_id: a, token: abcdefgh, timezone: Mars/Olympus}
        """
        #expect(reason { _ = try CallFeedConfiguration.parse(badZone, environment: [:]) }?.contains("not an IANA time zone") == true)
        let shortToken = "sources:\n  callkeeper:\n    - {account_id: a, token: abc}\n"
        #expect(reason { _ = try CallFeedConfiguration.parse(shortToken, environment: [:]) }?.contains("at least 8") == true)
        let noSecret = "sources:\n  ctm:\n    - {account_id: a, secrets: [\"${S:-}\"]}\n"
        #expect(reason { _ = try CallFeedConfiguration.parse(noSecret, environment: [:]) }?.contains("needs at least one secret") == true)
        #expect(reason { _ = try CallFeedConfiguration.parse("load: {sink: oracle}\n", environment: [:]) }?
            .contains("not one of sqlite, postgres, clickhouse, bigquery") == true)
    }

    @Test func warehouseSectionsParseAndTheSummaryHidesPasswords() throws {
        let yaml = """
        load:
          sink: postgres
          postgres: {url: "postgresql://loader:${PGPW}@db:5432/analytics", schema: callfeed}
          clickhouse: {url: "http://ch:8123", database: calls, user: loader, password: "${CHPW}"}
          bigquery: {project: p1, dataset: d1, location: EU, token: "${BQ}"}
        """
        let config = try CallFeedConfiguration.parse(yaml, environment: ["PGPW": "pg-secret-1", "CHPW": "ch-secret-2", "BQ": "bq-token-3"])
        #expect(config.load.postgres.url == "postgresql://loader:pg-secret-1@db:5432/analytics")
        #expect(config.load.postgres.schema == "callfeed")
        #expect(config.load.clickhouse.database == "calls" && config.load.clickhouse.password == "ch-secret-2")
        #expect(config.load.bigquery.location == "EU" && config.load.bigquery.token == "bq-token-3")
        #expect(config.redactedSummary.contains("url=postgresql://loader:***@db:5432/analytics schema=callfeed"))
        for sink in ["postgres", "clickhouse", "bigquery"] {
            var other = config
            other.load.sink = sink
            #expect(!other.redactedSummary.contains("secret") && !other.redactedSummary.contains("bq-token"), "\(sink)")
        }
        #expect(CallFeedConfiguration.redactingPassword("host=db password=s3cret user=x") == "host=db password=*** user=x")
        #expect(reason { _ = try CallFeedConfiguration.parse("load: {sink: postgres, postgres: {schema: \"Bad-Name\"}}\n", environment: [:]) }?
            .contains("load.postgres.schema") == true)
        #expect(reason { _ = try CallFeedConfiguration.parse("load: {sink: bigquery}\n", environment: [:]) }?
            .contains("load.bigquery.project is required") == true)
    }

    @Test func emptyFileGivesDefaults() throws {
        #expect(try CallFeedConfiguration.parse("", environment: [:]) == CallFeedConfiguration())
    }
}
