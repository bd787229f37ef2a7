import ArgumentParser
import CallFeedApp
import CallFeedReplay
import Foundation

/// The operator CLI.
@main
struct CallFeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "callfeed",
        abstract: "CallFeed: vendor call data -> canonical CallEvents -> Kafka -> deduplicated warehouse rows.",
        discussion: """
        The pipeline runs as two services, `callfeed-ingest` (webhooks -> Kafka) and `callfeed-load`
        (Kafka -> warehouse), which scale independently. `callfeed dev` runs all of it in one
        process with no external services. Configuration: docs/configuration.md.
        """,
        subcommands: [Dev.self, Poll.self, Backfill.self, Replay.self, Check.self, CheckConfig.self, WarehouseCommand.self, MockKafka.self, BenchCommand.self, ConnectorCommand.self])

    struct Dev: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run everything in one process: a mock Kafka cluster, the webhook receiver and the loader into SQLite.",
            discussion: """
            The Kafka cluster is librdkafka's mock cluster (real Kafka protocol on 127.0.0.1, in memory:
            it lives as long as the process). The warehouse is a SQLite file that persists. Without
            --config, CallFeed serves a CallKeeper source (token printed at start) and a CTM source
            (signing secret printed) for trying it out; sources with a `poll:` section are polled. With
            --sandbox, the vendor sandbox runs in-process: CallFeed polls its seven vendors (calls and entity
            lists) and a new call with its webhook arrives every 10 s. Stop with Ctrl-C or SIGTERM: the receiver stops
            accepting, Kafka is flushed, the loader loads what Kafka holds and commits, exit 0.
            """)

        @Option(name: .long, help: "YAML config (sources, limits); Kafka and the listen address are taken from the flags below.")
        var config: String?
        @Option(name: .long, help: "Address to listen on.")
        var host = "127.0.0.1"
        @Option(name: .long, help: "Webhook port (0 = any free port, printed at start).")
        var port = 8080
        @Option(name: .long, help: "SQLite warehouse file.")
        var db = "./callfeed.db"
        @Option(name: .long, help: "Brokers in the mock Kafka cluster.")
        var brokers: Int32 = 3
        @Flag(name: .long, help: "Check the configuration and print what would run, then exit.")
        var dryRun = false
        @Flag(name: .long, help: "Also run the vendor sandbox (CTM, CallKeeper, CallRail, JustCall, HubSpot, Five9, CleverTap) in-process and poll it: no vendor account needed.")
        var sandbox = false

        func run() async throws {
            var options = DevMode.Options()
            options.configPath = config
            options.host = host
            options.port = port
            options.databasePath = db
            options.brokers = brokers
            options.dryRun = dryRun
            options.sandbox = sandbox
            try await DevMode.run(options)
        }
    }

    struct Poll: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one incremental poll of a source now (callfeed-ingest does this on the configured schedule).",
            discussion: """
            Reads from the source's checkpoint minus its lookback up to now, page by page; each page is
            published to Kafka and acknowledged before the checkpoint moves, so a stopped run resumes
            without gaps. Records that cannot be normalised go to the dead-letter topic with the reason.
            """)
        @Option(name: .long, help: "YAML config file.") var config = "examples/callfeed.yaml"
        @Option(name: .long, help: "The source's `name` in the config.") var source: String
        @Flag(name: .long, help: "Fetch and normalise, but publish nothing and keep the checkpoint.") var dryRun = false
        @Flag(name: .long, help: "Also read the source's entity lists (accounts, users, trackers, ...) once.") var entities = false

        func run() throws { try Commands.runPoll(configPath: config, sourceName: source, dryRun: dryRun, entities: entities) }
    }

    struct Backfill: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay a source's history for a date range, with progress; stop and run again to resume.",
            discussion: """
            Example: callfeed backfill --source ctm-main --from 2024-01-01 --to 2024-12-31
            The range is fetched in day windows; events are published with channel "backfill" and the same
            event_id as webhooks and polls give, so the loader merges them into the same rows.
            """)
        @Option(name: .long, help: "YAML config file.") var config = "examples/callfeed.yaml"
        @Option(name: .long, help: "The source's `name` in the config.") var source: String
        @Option(name: .long, help: "First day (YYYY-MM-DD, UTC) or an RFC 3339 time.") var from: String
        @Option(name: .long, help: "Last day, inclusive (YYYY-MM-DD), or an RFC 3339 time (exclusive).") var to: String
        @Flag(name: .long, help: "Fetch and normalise, but publish nothing and save no cursor.") var dryRun = false

        func run() throws { try Commands.runBackfill(configPath: config, sourceName: source, from: from, to: to, dryRun: dryRun) }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Repair the feed: re-normalise accepted payloads from the raw topic, or redrive dead letters.",
            discussion: "docs/operations.md#replay-and-redrive explains when to use which.",
            subcommands: [Raw.self, DeadLetters.self])

        struct Raw: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Re-normalise raw payloads with the current mapping and republish their CallEvents.",
                discussion: """
                Reads callfeed.raw.v1 from the first record at --since, maps each call's newest copy again
                with the code as it is now and publishes the CallEvent (channel "replay", same event_id) to the
                calls topic, and nothing else. A call accepted again after --until is left alone (superseded),
                so a replay never puts an older vendor state over a newer one. An unchanged revision is not
                republished; an exact re-send is a no-op in the warehouse anyway, so running it twice is safe.
                Example: callfeed replay raw --since 2026-12-01 --source ctm --dry-run
                Exit status: 0 done, 3 done but some records could not be re-normalised (listed), 1 error.
                """)
            @Option(name: .long, help: "YAML config file.") var config = "examples/callfeed.yaml"
            @Option(name: .long, help: "Records accepted at or after: RFC 3339, YYYY-MM-DD (UTC) or an age (30m, 6h, 7d).") var since: String
            @Option(name: .long, help: "…and before (same forms; default: now).") var until: String?
            @Option(name: .long, help: "Only this vendor or configured source (repeatable).") var source: [String] = []
            @Option(name: .long, help: "Only this route, e.g. /webhooks/ctm or poll:ctm-main (repeatable).") var route: [String] = []
            @Option(name: .customLong("event-id"), help: "Only this call (repeatable).") var eventID: [String] = []
            @Flag(name: .long, help: "Map and list what would change; publish nothing.") var dryRun = false
            @Flag(name: .long, help: "Continue an interrupted replay of the same window from its saved position.") var resume = false
            @Option(name: .long, help: "Consumer group holding the replay's position.") var group = "callfeed-replay-raw"
            @Flag(name: .long, help: "One line per selected record.") var verbose = false

            func run() throws {
                var selection = RawSelection(since: try Commands.instant(since, option: "--since"))
                selection.until = try until.map { try Commands.instant($0, option: "--until") }
                selection.sources = Set(source); selection.routes = Set(route); selection.eventIDs = Set(eventID)
                var options = Commands.RawReplayOptions(selection: selection)
                options.dryRun = dryRun; options.resume = resume; options.group = group; options.verbose = verbose
                let status = try Commands.runReplayRaw(configPath: config, options: options)
                if status != 0 { throw ExitCode(status) }
            }
        }

        struct DeadLetters: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "dlq",
                abstract: "Retry dead letters through the path they failed in; a record failing again is dead-lettered with attempt + 1.",
                discussion: """
                ingest/poll letters are mapped again with the current code: those that map are published (CallEvent
                and raw record), the rest go back to the DLQ with attempt + 1. load letters go back to the topic the
                loader read them from. A letter at --max-attempts is never retried, so a poison record cannot loop.
                The position is kept in the consumer group (--group): a second run retries only newer letters.
                Exit status: 0 done, 3 done but some letters failed again, 1 error.
                """)
            @Option(name: .long, help: "YAML config file.") var config = "examples/callfeed.yaml"
            @Option(name: .long, help: "Only letters of this stage: ingest, poll or load (repeatable).") var stage: [String] = []
            @Option(name: .customLong("reason-like"), help: "Only letters whose reason contains this text.") var reasonLike: String?
            @Option(name: .long, help: "Only letters written at or after (RFC 3339, YYYY-MM-DD or an age).") var since: String?
            @Option(name: .customLong("max-attempts"), help: "Letters that failed this many times are not retried.") var maxAttempts = 3
            @Flag(name: .customLong("from-start"), help: "Read the whole topic, not only letters after the group's position.") var fromStart = false
            @Flag(name: .long, help: "Map and list what would happen; publish nothing, keep the position.") var dryRun = false
            @Option(name: .long, help: "Consumer group holding the redrive's position.") var group = "callfeed-redrive"
            @Flag(name: .long, help: "One line per selected letter.") var verbose = false

            func validate() throws {
                for s in stage where !["ingest", "poll", "load"].contains(s) { throw ValidationError("--stage must be ingest, poll or load, not \(s)") }
                guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1") }
            }

            func run() throws {
                let selection = DeadLetterSelection(stages: Set(stage), reasonLike: reasonLike,
                                                    since: try since.map { try Commands.instant($0, option: "--since") })
                var options = Commands.DeadLetterOptions(selection: selection)
                options.dryRun = dryRun; options.fromStart = fromStart; options.maxAttempts = maxAttempts
                options.group = group; options.verbose = verbose
                let status = try Commands.runReplayDeadLetters(configPath: config, options: options)
                if status != 0 { throw ExitCode(status) }
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a polled source's credentials and reachability (lists accounts, reads one page).")
        @Option(name: .long, help: "YAML config file.") var config = "examples/callfeed.yaml"
        @Option(name: .long, help: "The source's `name` in the config.") var source: String

        func run() throws { try Commands.runCheck(configPath: config, sourceName: source) }
    }

    struct CheckConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a config file (environment variables substituted) and print it with secrets hidden.")

        @Option(name: .long, help: "YAML config file.")
        var config = "examples/callfeed.yaml"

        func run() throws {
            let loaded = try CallFeedConfiguration.load(path: config)
            print("configuration OK (\(config))")
            print(loaded.redactedSummary)
        }
    }

    struct WarehouseCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "warehouse",
            abstract: "Work on the configured warehouse (load.sink) directly: migrate its schema, dump it, benchmark it.",
            subcommands: [Migrate.self, Dump.self, Bench.self])

        /// The options every `callfeed warehouse` subcommand takes.
        struct WarehouseOptions: ParsableArguments {
            @Option(name: .long, help: "YAML config file.") var config = "examples/callfeed.yaml"
            @Option(name: .long, help: "sqlite, postgres, clickhouse or bigquery (overrides load.sink).") var sink: String?
        }

        struct Migrate: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create or migrate the warehouse schema, then exit (callfeed-load also does this on start).",
                discussion: "Migrations are versioned and append-only; a schema newer than this build is refused, never changed.")
            @OptionGroup var warehouse: WarehouseOptions
            func run() throws { try Commands.runMigrate(configPath: warehouse.config, sink: warehouse.sink) }
        }

        struct Dump: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Print the canonical dump of `calls`: one line per row, ordered by event_id, comparable between warehouses.",
                discussion: "Example: diff <(callfeed warehouse dump --sink sqlite) <(callfeed warehouse dump --sink postgres)")
            @OptionGroup var warehouse: WarehouseOptions
            func run() throws { try Commands.runDump(configPath: warehouse.config, sink: warehouse.sink) }
        }

        struct Bench: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Load synthetic calls into the warehouse and print events/s: insert, exact replay, update.",
                discussion: """
                Writes rows with source `callfeed-bench` into the configured warehouse: point the config at a \
                scratch database, schema or dataset. bench/sinks.sh runs it against SQLite, PostgreSQL and ClickHouse.
                """)
            @OptionGroup var warehouse: WarehouseOptions
            @Option(name: .long, help: "Calls per pass.") var events = 20_000
            @Option(name: .long, help: "Events per warehouse transaction (the loader's load.batch_size).") var batch = 500
            func run() throws { try Commands.runWarehouseBench(configPath: warehouse.config, sink: warehouse.sink, events: events, batchSize: batch) }
        }
    }

    struct BenchCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench",
            abstract: "Benchmark helpers (bench/run.sh, docs/performance.md).",
            subcommands: [Produce.self, IngestPath.self])

        struct IngestPath: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "ingest-path",
                abstract: "CallFeed's own CPU per webhook, without HTTP or Kafka: authenticate, parse, map, identity, headers, event bytes, answer.",
                discussion: """
                Runs the steps the webhook receiver runs between libmicrohttpd and librdkafka on N distinct bodies \
                (every @@SEQ@@@@@@@ in --body becomes the request's sequence number) and prints one JSON line: \
                process CPU per webhook, and wall time per step. Run it under `valgrind --tool=callgrind` for \
                instruction counts (docs/performance.md). Needs a config whose route accepts --token.
                """)
            @Option(name: .long, help: "YAML config with the webhook route's source (e.g. sources.callkeeper with the token).") var config: String
            @Option(name: .long, help: "Webhook route to run.") var route = "/webhooks/callkeeper"
            @Option(name: .long, help: "Request body template.") var body = "bench/bodies/callkeeper-after-call-finish.json"
            @Option(name: .long, help: "The ?token= the route is called with.") var token: String?
            @Option(name: .long, help: "Webhooks per pass.") var requests = 100_000
            func run() throws {
                let configuration = try CallFeedConfiguration.load(path: config)
                let template = Array(try Data(contentsOf: URL(fileURLWithPath: body)))
                let result = try IngestPathBench.run(config: configuration, routePath: route, query: token.map { ["token": $0] } ?? [:],
                                                     template: template, requests: requests)
                print(IngestPathBench.line(result))
            }
        }

        struct Produce: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Publish N synthetic CallEvents to the calls topic and print events/s (fills a topic for the loader benchmark).",
                discussion: """
                The events are the ones `callfeed warehouse bench` writes (source `callfeed-bench`, one account per \
                run). Uses kafka.* from the config, acks=all; fails if any event is not acknowledged.
                """)
            @Option(name: .long, help: "YAML config (kafka.bootstrap_servers, kafka.topic_prefix).") var config: String
            @Option(name: .long, help: "Events to publish.") var events = 100_000
            @Option(name: .long, help: "Revision of every call (0 = first; publish again with 1 for updates).") var revision = 0
            @Option(name: .customLong("run"), help: "Run number (the calls' account id); random when omitted.") var runNumber: UInt32?
            @Option(name: .long, help: "Messages waiting for acknowledgement at most.") var inflight = 20_000
            @Option(name: .long, help: "Partitions of the calls topic (to check that the topic holds every event).") var partitions: Int32 = 6
            func run() throws {
                try Commands.runBenchProduce(configPath: config, events: events, revision: revision, run: runNumber, inflight: inflight,
                                             partitions: partitions)
            }
        }
    }

    struct MockKafka: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mock-kafka",
            abstract: "Run librdkafka's mock Kafka cluster as a process: separate callfeed-ingest/-load without a Kafka install; fault injection for tests.",
            discussion: """
            Prints one JSON line with bootstrap_servers, then reads commands on stdin, one per line: \
            `down all|<id>`, `up all|<id>`, `errors <api key> <count> <ERROR_NAME>` (e.g. `errors 0 5 \
            NOT_LEADER_FOR_PARTITION`: the next 5 Produce requests fail), `rtt all|<id> <ms>`. Each is \
            answered `ok …` or `error …`. The data is in memory: it is gone when the process stops.
            """)
        @Option(name: .long, help: "Brokers in the cluster.") var brokers: Int32 = 3
        @Option(name: .long, help: "Partitions of each CallFeed topic it creates.") var partitions: Int32 = 6
        @Option(name: .long, help: "Topic prefix (kafka.topic_prefix).") var topicPrefix = "callfeed"

        mutating func validate() throws {
            guard brokers >= 1, partitions >= 1 else { throw ValidationError("--brokers and --partitions must be at least 1") }
        }

        func run() throws { try MockKafkaHost.run(brokers: brokers, partitions: partitions, topicPrefix: topicPrefix) }
    }
}

/// `callfeed connector`: a source behind the Airbyte protocol (``Connector``), one JSON message per
/// line on stdout.
struct ConnectorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connector",
        abstract: "Run a source as an Airbyte source connector: spec, check, discover, read (messages as JSON lines on stdout).",
        discussion: """
        Example: callfeed connector read --config clevertap.json --catalog configured_catalog.json [--state state.json]
        The config is the JSON object `spec` describes; CleverTap's passcode may come from CLEVERTAP_PASSCODE instead.
        Protocol: https://docs.airbyte.com/understanding-airbyte/airbyte-protocol
        """,
        subcommands: [Spec.self, Check.self, Discover.self, Read.self])

    /// The `--source` option every subcommand takes.
    struct SourceOption: ParsableArguments {
        @Option(name: .long, help: "The source to expose (\(Connector.sources.keys.sorted().joined(separator: ", "))).")
        var source = "clevertap"

        func connector() throws -> Connector {
            let source: any ConnectorSource
            do { source = try Connector.source(named: self.source) } catch { throw ValidationError(error.reason) }
            return Connector(source: source, output: { print($0) })
        }
    }

    struct Spec: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the SPEC message: the config's JSON Schema.")
        @OptionGroup var source: SourceOption
        func run() throws { try finish(source.connector().spec()) }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Try the config against the vendor; print CONNECTION_STATUS SUCCEEDED or FAILED.")
        @OptionGroup var source: SourceOption
        @Option(name: .long, help: "Config JSON file.") var config: String
        func run() throws { try finish(source.connector().check(configPath: config)) }
    }

    struct Discover: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the CATALOG message: streams, schemas, sync modes, primary keys.")
        @OptionGroup var source: SourceOption
        @Option(name: .long, help: "Config JSON file.") var config: String
        func run() throws { try finish(source.connector().discover(configPath: config)) }
    }

    struct Read: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a RECORD message per object of the configured streams, then a STATE per stream.")
        @OptionGroup var source: SourceOption
        @Option(name: .long, help: "Config JSON file.") var config: String
        @Option(name: .long, help: "Configured catalog JSON file.") var catalog: String
        @Option(name: .long, help: "State JSON file from an earlier read (incremental streams continue from it).") var state: String?
        func run() throws { try finish(source.connector().read(configPath: config, catalogPath: catalog, statePath: state)) }
    }
}

/// Ends the command with the connector's exit code (0 returns normally).
private func finish(_ code: Int32) throws {
    if code != 0 { throw ExitCode(code) }
}
