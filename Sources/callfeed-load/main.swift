import ArgumentParser
import CallFeedApp

@main
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "callfeed-load",
        abstract: "Consume CallEvents from Kafka, drop duplicates and upsert them into the warehouse.",
        discussion: """
        Joins the consumer group load.group_id: run more copies to share the partitions. Each batch is
        written in one warehouse transaction and its offsets are committed only afterwards, so a crash
        re-reads the batch and the idempotent upsert makes the re-write a no-op. Messages that are not
        valid CallEvents go to the dead-letter topic. GET /healthz and /metrics on load.metrics_port.
        The warehouse is load.sink (sqlite, postgres, clickhouse, bigquery) with its load.<sink>
        section; its schema is created or migrated on start (docs/warehouse.md).
        SIGTERM: finish the batch, commit, leave the group, exit 0; if the batch is not
        done within load.shutdown_grace_seconds, exit 75 without committing it (it is read again).
        """)

    @Option(name: .long, help: "YAML config file (see docs/configuration.md).")
    var config = "examples/callfeed.yaml"
    @Option(name: .long, help: "Warehouse to load: sqlite, postgres, clickhouse or bigquery (overrides load.sink).")
    var sink: String?
    @Flag(name: .long, help: "Check the configuration and print what would be loaded, then exit.")
    var dryRun = false

    func run() async throws {
        do {
            try await Commands.runLoad(configPath: config, sink: sink, dryRun: dryRun)
        } catch is ShutdownIncomplete {
            throw ExitCode(ShutdownIncomplete.exitCode)  // already logged
        }
    }
}
