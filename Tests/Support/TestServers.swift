import Foundation

/// Where the real servers the warehouse tests use are listening. `scripts/test.sh` starts them
/// (scripts/test-services.sh) and exports these variables; `swift test` run by hand without them
/// skips those tests, unless `CALLFEED_TEST_SERVERS_REQUIRED=1` (set by scripts/test.sh), which makes
/// a missing server a failure: CI can never pass by silently skipping them.
public enum TestServers {
    /// libpq connection string of a PostgreSQL server whose user may create databases
    /// (`CALLFEED_TEST_POSTGRES`, e.g. `host=127.0.0.1 port=55432 user=postgres dbname=postgres`).
    public static var postgres: String? { value("CALLFEED_TEST_POSTGRES") }
    /// Base URL of a ClickHouse HTTP interface (`CALLFEED_TEST_CLICKHOUSE`, e.g. `http://127.0.0.1:18123`).
    public static var clickhouse: String? { value("CALLFEED_TEST_CLICKHOUSE") }
    /// Base URL of a BigQuery REST emulator (`CALLFEED_TEST_BIGQUERY`, e.g. `http://127.0.0.1:19050`).
    public static var bigquery: String? { value("CALLFEED_TEST_BIGQUERY") }

    /// libpq connection string of a second PostgreSQL server that the fault suite may stop and start
    /// (`CALLFEED_TEST_POSTGRES_RESTARTABLE`); ``postgresRestartableControl`` is its `ctl stop|start` script.
    public static var postgresRestartable: String? { value("CALLFEED_TEST_POSTGRES_RESTARTABLE") }
    public static var postgresRestartableControl: String? { value("CALLFEED_TEST_POSTGRES_RESTARTABLE_CTL") }

    /// The tansu binary scripts/services/tansu.sh installed (`CALLFEED_TEST_TANSU_BIN`), and the S3
    /// server its brokers store their logs in (`CALLFEED_TEST_TANSU_S3`, e.g. `http://127.0.0.1:19570`).
    public static var tansuBinary: String? { value("CALLFEED_TEST_TANSU_BIN") }
    public static var tansuS3: String? { value("CALLFEED_TEST_TANSU_S3") }

    /// Whether a missing server must fail the tests instead of skipping them.
    public static var required: Bool { value("CALLFEED_TEST_SERVERS_REQUIRED") == "1" }

    /// Whether tests needing a server at `address` should run: it is set, or it is required (and the
    /// test then fails on the missing address).
    public static func shouldRun(_ address: String?) -> Bool { address != nil || required }

    private static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }
}
