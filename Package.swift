// swift-tools-version:6.0
// CallFeed: vendor call data -> canonical CallEvents -> Kafka -> deduped warehouse rows.
// The folder tree follows the data's path; see docs/architecture.md.
import PackageDescription

let package = Package(
    name: "CallFeed",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "callfeed", targets: ["callfeed"]),
        .executable(name: "callfeed-ingest", targets: ["callfeed-ingest"]),
        .executable(name: "callfeed-load", targets: ["callfeed-load"]),
        .executable(name: "callfeed-sandbox", targets: ["callfeed-sandbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // MARK: C libraries (Debian -dev packages, found by pkg-config)
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // C bodies for what Swift cannot call: variadic functions and cast macros.
        .target(name: "CShims", dependencies: ["CRdKafka", "CCurl", "CMicroHTTPD", "CSQLite"]),
        // FreeTDS DB-Library (Debian freetds-dev) behind a narrow C API: MarketSharp's SQL Server.
        .target(name: "CFreeTDS", linkerSettings: [.linkedLibrary("sybdb")]),

        // MARK: Domain: the canonical CallEvent and vendor payload -> CallEvent mapping
        .target(name: "CallFeedCore", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "CallFeedVendors", dependencies: ["CallFeedCore"]),

        // MARK: C library wrappers (one each, Swift types own the handles)
        .target(name: "Kafka", dependencies: ["CRdKafka", "CShims"]),
        .target(name: "HTTPServer", dependencies: ["CMicroHTTPD", "CShims"]),
        .target(name: "HTTPClient", dependencies: ["CCurl", "CShims"]),
        // AWS Signature Version 4 (SalesPro's Athena), proven against AWS's published test suite.
        .target(name: "AWSSigV4", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // Google service-account auth (RS256 JWT bearer grant): the BigQuery sink and the Sheets poller.
        .target(name: "GoogleAuth", dependencies: [
            "CallFeedCore", .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
        ]),
        .target(name: "Warehouse", dependencies: ["CSQLite", "CShims", "CallFeedCore"]),

        // MARK: Production warehouses: the same WarehouseSink contract over each server's own protocol
        .target(name: "WarehousePostgres", dependencies: ["CLibPQ", "Warehouse", "CallFeedCore"]),
        .target(name: "WarehouseClickHouse", dependencies: ["HTTPClient", "Warehouse", "CallFeedCore"]),
        .target(name: "WarehouseBigQuery", dependencies: [
            "GoogleAuth", "HTTPClient", "Warehouse", "CallFeedCore",
        ]),

        // MARK: The two halves of the pipeline
        .target(name: "CallFeedIngest", dependencies: [
            "CallFeedCore", "CallFeedVendors", "Kafka", "HTTPServer",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .target(name: "CallFeedLoad", dependencies: [
            "CallFeedCore", "Kafka", "Warehouse",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),

        // MARK: Pollers: vendor APIs -> CallEvents, with checkpoints, limits and backfill
        .target(name: "CallFeedPoll", dependencies: [
            "CallFeedCore", "CallFeedVendors", "GoogleAuth", "Kafka", "HTTPClient", "Warehouse",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),

        // MARK: Vendor databases read directly (Genius on PostgreSQL, MarketSharp's SQL Server dialect)
        .target(name: "CallFeedSQLPoll", dependencies: ["AWSSigV4", "CFreeTDS", "CallFeedCore", "CallFeedVendors", "CallFeedPoll", "HTTPClient", "Warehouse", "WarehousePostgres"]),

        // MARK: Operator's repairs: replay the raw topic, redrive dead letters (`callfeed replay`)
        .target(name: "CallFeedReplay", dependencies: [
            "CallFeedCore", "Kafka", .product(name: "Logging", package: "swift-log"),
        ]),

        // MARK: Vendor APIs played by our own server (tests, `callfeed dev --sandbox`)
        .target(name: "VendorSandbox", dependencies: [
            "AWSSigV4", "CallFeedCore", "HTTPServer", "HTTPClient", .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
        ]),

        // MARK: Configuration, lifecycle and the builders the executables call
        .target(name: "CallFeedApp", dependencies: [
            "AWSSigV4", "CallFeedIngest", "CallFeedLoad", "CallFeedPoll", "CallFeedSQLPoll", "CallFeedReplay", "Kafka", "Warehouse", "HTTPServer", "VendorSandbox",
            "WarehousePostgres", "WarehouseClickHouse", "WarehouseBigQuery",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),

        // MARK: Executables (thin: parse arguments, call CallFeedApp)
        .executableTarget(name: "callfeed", dependencies: [
            "CallFeedApp", "CallFeedReplay", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "callfeed-ingest", dependencies: [
            "CallFeedApp", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "callfeed-load", dependencies: [
            "CallFeedApp", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "callfeed-sandbox", dependencies: [
            "VendorSandbox", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Hostile input: a seeded mutation fuzzer over every webhook and vendor page parser.
        .target(name: "CallFeedFuzz", dependencies: [
            "AWSSigV4", "CallFeedCore", "CallFeedVendors", "CallFeedIngest", "CallFeedPoll", "CallFeedSQLPoll", "HTTPServer", "HTTPClient",
        ]),
        .executableTarget(name: "callfeed-fuzz", dependencies: [
            "CallFeedFuzz", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: Tests
        // Helpers shared by the test targets (a JSON Schema validator for schemas/).
        .target(name: "CallFeedTestSupport", dependencies: ["CallFeedCore", "Kafka"], path: "Tests/Support"),
        .testTarget(name: "CallFeedCoreTests", dependencies: ["CallFeedCore", "CallFeedVendors", "CallFeedTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka"]),
        .testTarget(name: "WarehouseTests", dependencies: ["Warehouse", "CallFeedCore", "CallFeedTestSupport"]),
        // Sinks against real servers (PostgreSQL, ClickHouse, a BigQuery emulator) that
        // scripts/test-services.sh starts, and the conformance suite over every sink.
        .testTarget(name: "WarehouseServerTests", dependencies: [
            "Warehouse", "WarehousePostgres", "WarehouseClickHouse", "WarehouseBigQuery", "CallFeedCore", "GoogleAuth",
            "CallFeedTestSupport", "HTTPClient", "HTTPServer",
            .product(name: "_CryptoExtras", package: "swift-crypto"),
        ]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTPServer", "HTTPClient"]),
        .testTarget(name: "AWSSigV4Tests", dependencies: ["AWSSigV4"]),
        .testTarget(name: "VendorSandboxTests", dependencies: ["VendorSandbox", "HTTPClient", "HTTPServer", "CallFeedCore"]),
        .testTarget(name: "CallFeedIntegrationTests", dependencies: [
            "CallFeedApp", "CallFeedIngest", "CallFeedLoad", "CallFeedCore", "Kafka", "Warehouse", "HTTPClient",
            "CallFeedTestSupport", "CallFeedPoll", "CallFeedSQLPoll", "CallFeedReplay", "VendorSandbox", "WarehousePostgres", "AWSSigV4",
        ]),
        // Vendor databases: the keyset SQL text per dialect and the cell types (the Genius poller
        // against a real PostgreSQL is in CallFeedIntegrationTests/GeniusPollerTests).
        .testTarget(name: "SQLSourceTests", dependencies: ["CallFeedSQLPoll", "CallFeedPoll", "CallFeedCore"]),
        // The fault suite: the real executables as processes, a mock Kafka cluster in its own
        // process (`callfeed mock-kafka`), a real PostgreSQL, faults injected while data flows.
        .testTarget(name: "FaultTests", dependencies: [
            "CallFeedApp", "CallFeedCore", "CallFeedVendors", "Kafka", "HTTPClient", "CallFeedTestSupport",
            "VendorSandbox", "Warehouse", "WarehousePostgres",
        ]),
        .testTarget(name: "FuzzTests", dependencies: [
            "CallFeedFuzz", "CallFeedCore", "CallFeedVendors", "CallFeedIngest", "HTTPServer", "CallFeedTestSupport",
        ]),
    ]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    target.swiftSettings = settings
}
