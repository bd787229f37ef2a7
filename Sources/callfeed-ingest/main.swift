import ArgumentParser
import CallFeedApp

@main
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "callfeed-ingest",
        abstract: "Receive vendor webhooks and publish them to Kafka as CallEvents.",
        discussion: """
        Routes: POST /webhooks/callkeeper?token=..., POST /webhooks/ctm (X-CTM-Signature), GET /healthz,
        GET /readyz (Kafka reachable), GET /metrics (Prometheus). A webhook is answered 202 only after
        Kafka acknowledged its event (acks=all); 401 bad credentials, 400 unreadable body (kept in the
        dead-letter topic), 413 too large, 503 Kafka did not acknowledge in time (the vendor retries).
        Secrets come from the environment through ${VAR} in the config file. SIGTERM: new requests get 503,
        in-flight ones finish, pollers finish their page, the producer is flushed, exit 0; all within
        ingest.shutdown_grace_seconds, else the rest gets 503 and the exit code is 75.
        """)

    @Option(name: .long, help: "YAML config file (see docs/configuration.md).")
    var config = "examples/callfeed.yaml"
    @Flag(name: .long, help: "Check the configuration and print what would be served, then exit.")
    var dryRun = false

    func run() async throws {
        do {
            try await Commands.runIngest(configPath: config, dryRun: dryRun)
        } catch is ShutdownIncomplete {
            throw ExitCode(ShutdownIncomplete.exitCode)  // already logged
        }
    }
}
