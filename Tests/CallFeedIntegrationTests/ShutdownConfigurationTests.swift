import CallFeedApp
import Testing

/// `ingest.shutdown_grace_seconds` and `load.shutdown_grace_seconds`: defaults, range, `--dry-run`.
@Suite struct ShutdownConfigurationTests {
    @Test func defaultsAreTenAndThirtySeconds() throws {
        let config = try CallFeedConfiguration.parse("", environment: [:])
        #expect(config.ingest.shutdownGraceSeconds == 10)
        #expect(config.load.shutdownGraceSeconds == 30)
    }

    @Test func bothKeysAreReadAndShownByDryRun() throws {
        let config = try CallFeedConfiguration.parse("""
        ingest: {shutdown_grace_seconds: 25}
        load: {shutdown_grace_seconds: 120}
        """, environment: [:])
        #expect(config.ingest.shutdownGraceSeconds == 25)
        #expect(config.load.shutdownGraceSeconds == 120)
        #expect(config.redactedSummary.contains("shutdown_grace_seconds=25"))
        #expect(config.redactedSummary.contains("shutdown_grace_seconds=120"))
    }

    @Test(arguments: ["ingest: {shutdown_grace_seconds: 0}", "load: {shutdown_grace_seconds: -5}",
                      "load: {shutdown_grace_seconds: 601}", "ingest: {shutdown_grace_seconds: soon}"])
    func outOfRangeOrNotANumberIsRefused(_ yaml: String) {
        #expect(throws: ConfigurationError.self) { try CallFeedConfiguration.parse(yaml, environment: [:]) }
    }
}
