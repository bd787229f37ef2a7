import CallFeedCore
import CallFeedTestSupport
import Foundation
import GoogleAuth
import HTTPClient
import HTTPServer
import Synchronization
import Testing
@_spi(Testing) import Warehouse
@_spi(Testing) import WarehouseBigQuery
import _CryptoExtras

// MARK: - Without a server: the published schema files, the service-account JWT and token exchange

/// The schema files and the OAuth flow, tested without BigQuery (a local HTTP server plays Google).
@Suite("BigQuery schema files and authentication")
struct BigQuerySchemaAndAuthTests {
    @Test("schemas/bigquery/*.json are exactly what the code generates (set CALLFEED_UPDATE_SCHEMAS=1 to rewrite)")
    func publishedSchemaFilesMatchTheCode() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let files = BigQuerySchema.publishedFiles
        #expect(files.count == 3)
        for (path, generated) in files.sorted(by: { $0.key < $1.key }) {
            let url = root.appendingPathComponent(path)
            if ProcessInfo.processInfo.environment["CALLFEED_UPDATE_SCHEMAS"] == "1" {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try generated.write(to: url, atomically: true, encoding: .utf8)
            }
            let committed = try String(contentsOf: url, encoding: .utf8)
            #expect(committed == generated, "\(path) differs from BigQuerySchema; regenerate it")
            // The file is BigQuery's schema-file format: a JSON array of {name, type, mode}.
            let fields = try #require(try JSONValue.parse(Array(committed.utf8)).arrayValue)
            #expect(fields.allSatisfy { $0["name"]?.text != nil && $0["type"]?.text != nil && $0["mode"]?.text != nil })
        }
        // The calls schema follows CallRow: same columns in order, types by kind, modes by requiredness.
        #expect(BigQuerySchema.calls.map(\.name) == CallRow.columns)
        let byName = Dictionary(uniqueKeysWithValues: BigQuerySchema.calls.map { ($0.name, $0) })
        #expect(byName["tags"]?.type == "STRING" && byName["tags"]?.mode == "REPEATED")
        #expect(byName["started_at"]?.type == "TIMESTAMP" && byName["started_at"]?.mode == "NULLABLE")
        #expect(byName["first_call"]?.type == "BOOL")
        #expect(byName["duration_seconds"]?.type == "INT64")
        #expect(byName["event_id"]?.mode == "REQUIRED" && byName["loaded_at"]?.type == "TIMESTAMP")
        #expect(BigQuerySchema.callRevisions.map(\.name) == CallRow.revisionColumns)
        #expect(BigQuerySchema.entityTable.map(\.name) == EntityRow.columns)
    }

    @Test("the JWT assertion is RS256-signed by the key, with Google's header and claims")
    func serviceAccountJWT() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let account = try GoogleServiceAccount(keyJSON: BigQueryAuthFixtures.keyJSON(key, tokenURI: "https://oauth2.example/token"))
        let issuedAt = Timestamp(secondsSinceEpoch: 1_714_557_600)
        let jwt = try account.assertion(issuedAt: issuedAt, scope: GoogleServiceAccount.bigQueryScope)

        let parts = jwt.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        try #require(parts.count == 3)
        let header = try JSONValue.parse(try #require(BigQueryAuthFixtures.base64URLDecode(parts[0])))
        let claims = try JSONValue.parse(try #require(BigQueryAuthFixtures.base64URLDecode(parts[1])))
        #expect(header == .object(["alg": .string("RS256"), "typ": .string("JWT"), "kid": .string("key-1")]))
        #expect(claims == .object([
            "iss": .string("loader@acme.iam.gserviceaccount.com"),
            "scope": .string("https://www.googleapis.com/auth/bigquery"),
            "aud": .string("https://oauth2.example/token"),
            "iat": .int(1_714_557_600), "exp": .int(1_714_561_200),
        ]))
        // No padding, URL alphabet.
        #expect(!jwt.contains("=") && !jwt.contains("+") && !jwt.contains("/"))

        let signature = _RSA.Signing.RSASignature(rawRepresentation: try #require(BigQueryAuthFixtures.base64URLDecode(parts[2])))
        let signed = Array((parts[0] + "." + parts[1]).utf8)
        #expect(key.publicKey.isValidSignature(signature, for: signed, padding: .insecurePKCS1v1_5))
        // The signature covers the claims: another claim set does not verify, nor does another key.
        let forged = Array((parts[0] + "." + Base64.url(Array(#"{"iss":"someone@else"}"#.utf8))).utf8)
        #expect(!key.publicKey.isValidSignature(signature, for: forged, padding: .insecurePKCS1v1_5))
        let other = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        #expect(!other.publicKey.isValidSignature(signature, for: signed, padding: .insecurePKCS1v1_5))
    }

    @Test("a key file that is not a service-account key is refused without echoing it")
    func invalidKeyRefused() throws {
        let notAKey = Array(#"{"type":"service_account","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n"}"#.utf8)
        let error = try #require(throws: WarehouseError.self) {
            try BigQuerySink(configuration: .init(project: "acme", auth: .serviceAccountKey(notAKey)))
        }
        #expect(!error.isTransient)
        #expect(error.reason.contains("load.bigquery.credentials_file"))
        #expect(!error.reason.contains("c2VjcmV0"))
    }

    @Test("the token is fetched once and sent as Bearer; a refused key names the setting, never the secret")
    func tokenExchangeAgainstALocalEndpoint() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let fake = BigQueryFakeGoogle(publicKey: key.publicKey)
        let server = HTTPServer(configuration: .init(port: 0), handler: fake.handle)
        try server.start()
        defer { server.stop(grace: .seconds(1)) }
        let base = "http://127.0.0.1:\(server.port)"
        let keyJSON = BigQueryAuthFixtures.keyJSON(key, tokenURI: base + "/token")
        let sink = try BigQuerySink(configuration: .init(project: "acme", endpoint: base, auth: .serviceAccountKey(keyJSON)))

        try sink.prepare()
        try sink.prepare()

        let seen = fake.seen.withLock { $0 }
        #expect(seen.tokenRequests == 1, "the token is cached between requests")
        #expect(seen.validAssertions == 1, "the endpoint could verify the assertion with the public key")
        #expect(seen.apiAuthorizations.count == 6, "datasets.get, tables.get and one query per prepare()")
        #expect(seen.apiAuthorizations.allSatisfy { $0 == "Bearer tok-1" })

        // A token endpoint that refuses the key: not transient, names the setting, no secret in it.
        fake.seen.withLock { $0.refuseTokens = true }
        let refused = try BigQuerySink(configuration: .init(project: "acme", endpoint: base, auth: .serviceAccountKey(keyJSON)))
        let error = try #require(throws: WarehouseError.self) { try refused.prepare() }
        #expect(!error.isTransient)
        #expect(error.code == 400)
        #expect(error.reason.contains("load.bigquery.credentials_file") && error.reason.contains("invalid_grant"))
        #expect(!error.reason.contains("PRIVATE KEY") && !error.reason.contains("tok-1"))

        // BigQuery refusing a token: not transient, names the setting and the roles.
        let denied = try BigQuerySink(configuration: .init(project: "denied", endpoint: base, auth: .token("secret-token")))
        let deniedError = try #require(throws: WarehouseError.self) { try denied.prepare() }
        #expect(!deniedError.isTransient && deniedError.code == 403)
        #expect(deniedError.reason.contains("load.bigquery.token") && deniedError.reason.contains("dataEditor"))
        #expect(!deniedError.reason.contains("secret-token"))
    }

    @Test("an unreachable endpoint is a transient error")
    func unreachableEndpointIsTransient() throws {
        let sink = try BigQuerySink(configuration: .init(project: "acme", endpoint: "http://127.0.0.1:1", auth: .none))
        let error = try #require(throws: WarehouseError.self) { try sink.prepare() }
        #expect(error.isTransient)
        #expect(!error.isDataError)
        #expect(error.code == BigQueryErrorCode.transport)
        // apply before a successful prepare is misuse, not a retryable failure.
        let misuse = try #require(throws: WarehouseError.self) { try sink.apply([BigQueryFixtures.awkwardEvent()], loadedAt: .now()) }
        #expect(!misuse.isTransient && misuse.code == BigQueryErrorCode.misuse)
    }
}

// MARK: - Against the emulator

/// ``BigQuerySink`` against the BigQuery emulator that scripts/test-services.sh starts, compared with
/// ``SQLiteSink`` fed the same batches. Each test has its own dataset.
@Suite("BigQuerySink against the emulator", .serialized, .enabled(if: TestServers.shouldRun(TestServers.bigquery)))
struct BigQuerySinkTests {
    static let project = "callfeed-test"

    /// A prepared sink on a new dataset, deleted after `body`.
    func withSink(_ body: (BigQuerySink, BigQueryConfiguration) throws -> Void) throws {
        let endpoint = try #require(TestServers.bigquery)
        let dataset = "callfeed_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let configuration = BigQueryConfiguration(project: Self.project, dataset: dataset, endpoint: endpoint, auth: .none)
        defer {
            _ = try? HTTPClient().request(
                "DELETE", "\(endpoint)/bigquery/v2/projects/\(Self.project)/datasets/\(dataset)?deleteContents=true")
        }
        let sink = try BigQuerySink(configuration: configuration)
        try sink.prepare()
        try body(sink, configuration)
    }

    @Test("prepare twice changes nothing; a schema from a newer build is refused and left alone")
    func prepareIsIdempotentAndRefusesNewerSchemas() throws {
        try withSink { sink, configuration in
            let migrations = try sink._qualified("schema_migrations")
            let history = "SELECT version, name, applied_at FROM \(migrations) ORDER BY version"
            let before = try sink._query(history)
            #expect(before.map { $0["version"] } == [.integer(1), .integer(2)])
            #expect(before.map { $0["name"] } == [.text("create calls and call_revisions"), .text("create entity_tables")])

            try sink.prepare()
            let again = try BigQuerySink(configuration: configuration)
            try again.prepare()
            #expect(try sink._query(history) == before)
            #expect(try sink.count(table: "calls") == 0)

            _ = try sink._query("INSERT INTO \(migrations) (version, name, applied_at) VALUES (3, 'from a newer build', CURRENT_TIMESTAMP())")
            let older = try BigQuerySink(configuration: configuration)
            let error = try #require(throws: WarehouseError.self) { try older.prepare() }
            #expect(!error.isTransient && !error.isDataError)
            #expect(error.reason.contains("newer"))
            #expect(try sink._query(history).count == 3)
            let misuse = try #require(throws: WarehouseError.self) { try older.apply([BigQueryFixtures.awkwardEvent()], loadedAt: .now()) }
            #expect(misuse.code == BigQueryErrorCode.misuse)
        }
    }

    @Test("inserted, updated, unchanged and revisionsAdded match SQLite; a re-send keeps loaded_at; an older revision is ignored")
    func versionRuleCounts() throws {
        try withSink { sink, _ in
            let reference = try SQLiteSink(path: ":memory:")
            try reference.prepare()
            func both(_ batch: [CallEvent], _ loadedAt: Timestamp) throws -> ApplySummary {
                let summary = try sink.apply(batch, loadedAt: loadedAt)
                #expect(summary == (try reference.apply(batch, loadedAt: loadedAt)), "same counts as SQLite")
                return summary
            }
            func may1(_ hour: Int, _ minute: Int = 0) -> Timestamp { BigQueryFixtures.may1(hour, minute) }
            let r1 = BigQueryFixtures.event(callID: "c1", duration: 60, sourceUpdatedAt: may1(10, 0), receivedAt: may1(10, 1))
            let other = BigQueryFixtures.event(callID: "c2", receivedAt: may1(10, 2))
            #expect(try both([r1, other], may1(10, 3)) == ApplySummary(inserted: 2, revisionsAdded: 2))

            let calls = try sink._qualified("calls")
            let loadedAt = "SELECT loaded_at, revision FROM \(calls) WHERE event_id = @id"
            let stored = try sink._query(loadedAt, parameters: [.string("id", r1.eventID)])
            #expect(stored == [["loaded_at": .text("2024-05-01T10:03:00.000Z"), "revision": .text(r1.revision)]])

            // Exact re-send (by another channel, later): unchanged, loaded_at kept, no audit row.
            var resend = r1
            resend.channel = .poll
            #expect(try both([resend], may1(11)) == ApplySummary(unchanged: 1))
            #expect(try sink._query(loadedAt, parameters: [.string("id", r1.eventID)]) == stored)

            // A newer revision replaces; an older one arriving late is recorded but does not win.
            let r2 = BigQueryFixtures.event(callID: "c1", duration: 90, sourceUpdatedAt: may1(10, 5), receivedAt: may1(10, 6))
            #expect(try both([r2], may1(10, 7)) == ApplySummary(updated: 1, revisionsAdded: 1))
            let r0 = BigQueryFixtures.event(callID: "c1", duration: 30, sourceUpdatedAt: may1(9, 0), receivedAt: may1(11, 30))
            #expect(try both([r0, r1], may1(11, 31)) == ApplySummary(unchanged: 2, revisionsAdded: 1))
            #expect(try sink._query(loadedAt, parameters: [.string("id", r1.eventID)])
                == [["loaded_at": .text("2024-05-01T10:07:00.000Z"), "revision": .text(r2.revision)]])

            // Several revisions of one call in one batch: applied in order, the last winner stays.
            let r3 = BigQueryFixtures.event(callID: "c1", duration: 95, sourceUpdatedAt: may1(10, 8), receivedAt: may1(10, 9))
            let r4 = BigQueryFixtures.event(callID: "c1", duration: 99, sourceUpdatedAt: may1(10, 9), receivedAt: may1(10, 10))
            #expect(try both([r4, r3, r2], may1(12)) == ApplySummary(updated: 1, unchanged: 2, revisionsAdded: 2))

            #expect(try sink.count(table: "calls") == reference.count(table: "calls"))
            #expect(try sink.count(table: "call_revisions") == reference.count(table: "call_revisions"))
            #expect(try sink.count(table: "call_revisions") == 6)
            #expect(try sink.canonicalDump() == reference.canonicalDump())
        }
    }

    @Test("the canonical dump equals SQLite's for the same batches (rich text, nulls, tags); replaying changes nothing")
    func canonicalDumpEqualsSQLite() throws {
        try withSink { sink, _ in
            let reference = try SQLiteSink(path: ":memory:")
            try reference.prepare()
            func may1(_ hour: Int, _ minute: Int = 0) -> Timestamp { BigQueryFixtures.may1(hour, minute) }
            let batches: [[CallEvent]] = [
                [BigQueryFixtures.awkwardEvent(), BigQueryFixtures.sparseEvent(),
                 BigQueryFixtures.event(callID: "a", receivedAt: may1(8))],
                [BigQueryFixtures.event(callID: "a", status: .missed, duration: nil, receivedAt: may1(8, 30)),
                 BigQueryFixtures.event(callID: "b", channel: .backfill, receivedAt: may1(7)),
                 BigQueryFixtures.awkwardEvent()],
            ]
            var summaries: [ApplySummary] = []
            for (index, batch) in batches.enumerated() {
                let loadedAt = may1(13, index)
                summaries.append(try sink.apply(batch, loadedAt: loadedAt))
                #expect(summaries.last == (try reference.apply(batch, loadedAt: loadedAt)))
            }
            let dump = try sink.canonicalDump()
            #expect(dump.count == 4)
            #expect(dump == (try reference.canonicalDump()))
            // The rich row kept every odd character.
            let rich = try #require(dump.first { $0.contains(#"source_call_id="CA'123\\x""#) })
            #expect(rich.contains(#"caller_name="Jane \"JJ\" O'Doe\\Smith""#))
            #expect(rich.contains(#"tags="[\"new\",\"vip, gold\",\"quote\\\"d\",\"it's\",\"back\\\\slash\",\"multi\\nline\\ttab\",\"日本語\",\"\"]""#))
            #expect(rich.contains(#"ended_at="2024-05-01T10:02:05.250Z""#) && rich.contains("first_call=1"))

            // Replaying every batch (a crash before the Kafka commit) changes nothing at all.
            let revisions = try sink.count(table: "call_revisions")
            let calls = try sink._qualified("calls")
            let everything = "SELECT event_id, loaded_at FROM \(calls) ORDER BY event_id"
            let before = try sink._query(everything)
            for batch in batches {
                #expect(try sink.apply(batch, loadedAt: may1(23)) == ApplySummary(unchanged: batch.count))
            }
            #expect(try sink._query(everything) == before)
            #expect(try sink.count(table: "call_revisions") == revisions)
            #expect(try sink.canonicalDump() == dump)
        }
    }

    @Test("a batch whose MERGE script fails leaves nothing behind; failures are classified")
    func failedBatchIsRolledBack() throws {
        try withSink { sink, _ in
            func may1(_ hour: Int, _ minute: Int = 0) -> Timestamp { BigQueryFixtures.may1(hour, minute) }
            let first = BigQueryFixtures.event(callID: "kept", receivedAt: may1(8))
            #expect(try sink.apply([first], loadedAt: may1(8, 1)) == ApplySummary(inserted: 1, revisionsAdded: 1))
            let before = try sink.canonicalDump()

            // Without event_json the script's second MERGE fails after its first one ran (the look-up
            // and the staging still work).
            _ = try sink._query("ALTER TABLE \(try sink._qualified("call_revisions")) DROP COLUMN event_json")
            let batch = [BigQueryFixtures.event(callID: "lost", receivedAt: may1(9)),
                         BigQueryFixtures.event(callID: "kept", duration: 61, receivedAt: may1(9, 1))]
            let error = try #require(throws: WarehouseError.self) { try sink.apply(batch, loadedAt: may1(9, 2)) }
            #expect(!error.isTransient)
            #expect(error.reason.contains("merging batch"), "the failure came from the MERGE script")
            #expect(try sink.canonicalDump() == before, "the calls MERGE was rolled back with the failed one")

            // What the sink's own visibility check raises is transient; another ERROR() is not.
            let notVisible = try #require(throws: WarehouseError.self) {
                try sink._query("SELECT ERROR('callfeed: staged rows not all visible (test)')")
            }
            #expect(notVisible.isTransient && !notVisible.isDataError)
            let other = try #require(throws: WarehouseError.self) { try sink._query("SELECT ERROR('boom')") }
            #expect(!other.isTransient)
        }
    }

    @Test("entity records: tables made and registered on first use, the calls rule, clashes refused as data")
    func entityRecords() throws {
        try withSink { sink, _ in
            let reference = try SQLiteSink(path: ":memory:")
            try reference.prepare()
            func both(_ batch: [EntityRecord], _ loadedAt: Timestamp) throws -> ApplySummary {
                let summary = try sink.applyEntities(batch, loadedAt: loadedAt)
                #expect(summary == (try reference.applyEntities(batch, loadedAt: loadedAt)), "same counts as SQLite")
                return summary
            }
            func may1(_ hour: Int, _ minute: Int = 0) -> Timestamp { BigQueryFixtures.may1(hour, minute) }
            let acme = BigQueryFixtures.record(name: "Acme", sourceUpdatedAt: may1(9), receivedAt: may1(9, 30))
            let user = BigQueryFixtures.record(source: "justcall", entity: "users", id: "u1", name: "Sam", receivedAt: may1(9, 31))
            #expect(try both([acme, user], may1(9, 32)) == ApplySummary(inserted: 2))
            #expect(try sink.count(table: "ctm_accounts") == 1)
            let registry = try sink._query("SELECT table_name, source, entity, created_at FROM \(try sink._qualified("entity_tables")) ORDER BY table_name")
            #expect(registry == [
                ["table_name": .text("ctm_accounts"), "source": .text("ctm"), "entity": .text("accounts"),
                 "created_at": .text("2024-05-01T09:32:00.000Z")],
                ["table_name": .text("justcall_users"), "source": .text("justcall"), "entity": .text("users"),
                 "created_at": .text("2024-05-01T09:32:00.000Z")],
            ])
            let row = try sink._query("SELECT * FROM \(try sink._qualified("ctm_accounts"))")
            #expect(row == [[
                "id": .text("42"), "account_id": .text("acct-1"), "data": .text(#"{"id":"42","name":"Acme"}"#),
                "raw": .text(#"{"Id":"42","Name":"Acme"}"#), "revision": .text(acme.revision), "channel": .text("poll"),
                "source_updated_at": .text("2024-05-01T09:00:00.000Z"), "received_at": .text("2024-05-01T09:30:00.000Z"),
                "version_key": .text(acme.versionKey), "loaded_at": .text("2024-05-01T09:32:00.000Z"),
            ]])

            // Re-send, newer, older.
            #expect(try both([acme], may1(12)) == ApplySummary(unchanged: 1))
            #expect(try sink._query("SELECT * FROM \(try sink._qualified("ctm_accounts"))") == row)
            let renamed = BigQueryFixtures.record(name: "Acme Inc", sourceUpdatedAt: may1(10), receivedAt: may1(10, 1))
            let stale = BigQueryFixtures.record(name: "Acme Old", sourceUpdatedAt: may1(8), receivedAt: may1(11))
            #expect(try both([renamed, stale], may1(11, 1)) == ApplySummary(updated: 1, unchanged: 1))
            let name = try sink._query("SELECT JSON_VALUE(data, '$.name') AS name FROM \(try sink._qualified("ctm_accounts"))")
            #expect(name == [["name": .text("Acme Inc")]])

            // ctm_x + accounts would share ctm_x_accounts with ctm + x_accounts: the second is refused.
            #expect(try both([BigQueryFixtures.record(source: "ctm_x", entity: "accounts", id: "1", receivedAt: may1(12))], may1(12))
                == ApplySummary(inserted: 1))
            let clash = try #require(throws: WarehouseError.self) {
                try sink.applyEntities([BigQueryFixtures.record(source: "ctm", entity: "x_accounts", id: "2", receivedAt: may1(12))],
                                       loadedAt: may1(12, 1))
            }
            #expect(clash.isDataError && !clash.isTransient)
            var invalid = BigQueryFixtures.record(id: "", receivedAt: may1(12))
            invalid.id = ""
            let refused = try #require(throws: WarehouseError.self) { try sink.applyEntities([invalid], loadedAt: may1(12)) }
            #expect(refused.isDataError)
            #expect(try sink.count(table: "entity_tables") == 3)
            #expect(try sink.count(table: "ctm_accounts") == reference.count(table: "ctm_accounts"))
        }
    }

    @Test("throughput: 2,000 events in batches of 500 (printed, not asserted)")
    func throughput() throws {
        try withSink { sink, _ in
            let events = (0..<2_000).map { index in
                BigQueryFixtures.event(callID: "load-\(index)", duration: Int64(index % 600),
                                       receivedAt: BigQueryFixtures.may1(14).adding(seconds: Int64(index)))
            }
            let clock = ContinuousClock()
            var total = ApplySummary()
            let elapsed = try clock.measure {
                for start in stride(from: 0, to: events.count, by: 500) {
                    let summary = try sink.apply(Array(events[start..<(start + 500)]), loadedAt: .now())
                    total.inserted += summary.inserted
                    total.revisionsAdded += summary.revisionsAdded
                }
            }
            #expect(total == ApplySummary(inserted: 2_000, revisionsAdded: 2_000))
            #expect(try sink.count(table: "calls") == 2_000)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("BigQuerySink (emulator): 2,000 events in 4 batches of 500: \(String(format: "%.2f", seconds)) s, "
                + "\(Int(Double(events.count) / seconds)) events/s")
        }
    }
}

// MARK: - Fixtures

/// The shared builders (Tests/Support/WarehouseFixtures.swift).
private typealias BigQueryFixtures = WarehouseFixtures

/// Service-account key files and base64url for the JWT tests.
private enum BigQueryAuthFixtures {
    /// A key file as Google writes it, for `key`.
    static func keyJSON(_ key: _RSA.Signing.PrivateKey, tokenURI: String) -> [UInt8] {
        Array(JSONValue.object([
            "type": .string("service_account"), "project_id": .string("acme"), "private_key_id": .string("key-1"),
            "private_key": .string(key.pkcs8PEMRepresentation), "client_email": .string("loader@acme.iam.gserviceaccount.com"),
            "token_uri": .string(tokenURI),
        ]).canonicalJSONBytes)
    }

    static func base64URLDecode(_ text: String) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        return Data(base64Encoded: base64).map { Array($0) }
    }
}

private enum Base64 {
    static func url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

/// Plays Google's token endpoint (`POST /token`, checking the assertion with the account's public key)
/// and a BigQuery whose dataset is up to date; project `denied` answers 403 accessDenied.
private final class BigQueryFakeGoogle: Sendable {
    struct Seen {
        var tokenRequests = 0
        var validAssertions = 0
        var apiAuthorizations: [String] = []
        var refuseTokens = false
    }

    let seen = Mutex(Seen())
    private let publicKey: _RSA.Signing.PublicKey

    init(publicKey: _RSA.Signing.PublicKey) { self.publicKey = publicKey }

    var handle: HTTPHandler {
        { [self] request, responder in responder.respond(answer(request)) }
    }

    private func answer(_ request: HTTPRequest) -> HTTPResponse {
        if request.path == "/token" {
            let form = String(decoding: request.body, as: UTF8.self)
            let assertion = form.split(separator: "&").first { $0.hasPrefix("assertion=") }.map { String($0.dropFirst(10)) } ?? ""
            let parts = assertion.split(separator: ".").map(String.init)
            let isValid = parts.count == 3
                && form.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer")
                && BigQueryAuthFixtures.base64URLDecode(parts[2]).map { signature in
                    publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature),
                                               for: Array((parts[0] + "." + parts[1]).utf8), padding: .insecurePKCS1v1_5)
                } == true
            let refuse = seen.withLock { seen in
                seen.tokenRequests += 1
                if isValid { seen.validAssertions += 1 }
                return seen.refuseTokens
            }
            if refuse || !isValid {
                return .json(400, #"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#)
            }
            return .json(200, #"{"access_token":"tok-1","expires_in":3599,"token_type":"Bearer"}"#)
        }
        seen.withLock { $0.apiAuthorizations.append(request.header("Authorization") ?? "") }
        if request.path.hasPrefix("/bigquery/v2/projects/denied/") {
            return .json(403, #"{"error":{"code":403,"message":"Access Denied: Dataset denied:callfeed","errors":[{"reason":"accessDenied","message":"Access Denied"}],"status":"PERMISSION_DENIED"}}"#)
        }
        if request.method == "POST", request.path.hasSuffix("/queries") {
            // schema_migrations of an up-to-date dataset.
            return .json(200, """
                {"kind":"bigquery#queryResponse","jobComplete":true,"jobReference":{"projectId":"acme","jobId":"j1","location":"US"},
                 "schema":{"fields":[{"name":"version","type":"INTEGER","mode":"NULLABLE"},{"name":"name","type":"STRING","mode":"NULLABLE"}]},
                 "rows":[{"f":[{"v":"1"},{"v":"create calls and call_revisions"}]},{"f":[{"v":"2"},{"v":"create entity_tables"}]}],
                 "totalRows":"2"}
                """)
        }
        // datasets.get, tables.get: the resources exist.
        return .json(200, #"{"kind":"bigquery#resource"}"#)
    }
}
