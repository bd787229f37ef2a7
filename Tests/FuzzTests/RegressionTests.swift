import CallFeedCore
import CallFeedFuzz
import CallFeedIngest
import HTTPServer
import Testing

/// Inputs the fuzzer found or was built to throw, pinned: each once trapped or must keep failing
/// with a typed error.
@Suite struct RegressionTests {
    /// `X-CTM-Time` near Int64.min/max made `abs(now - time)` overflow: one unauthenticated request
    /// crashed callfeed-ingest. Now a 401.
    @Test(arguments: ["-9223372036854775808", "9223372036854775807", "-9223372036854775807"])
    func ctmTimeAtTheInt64EdgesIsRefused(time: String) {
        let route = WebhookFixtures.route(.ctm)
        var request = WebhookFixtures.signedRequest(.ctm, body: Array("{}".utf8), time: time)
        request.headers["x-ctm-time"] = time
        #expect(throws: AuthenticationFailure.self) { try route.authenticate(request, now: FuzzClock.now).get() }
    }

    /// A JustCall timestamp of seconds far below the epoch overflowed as milliseconds.
    @Test(arguments: ["-9223372036854775808", "-9223372036854776", "9223372036854775807"])
    func justCallTimestampAtTheInt64EdgesIsRefused(timestamp: String) {
        let route = WebhookFixtures.route(.justcall)
        let request = WebhookFixtures.signedRequest(.justcall, body: Array(#"{"type":"call.completed","data":{}}"#.utf8), time: timestamp)
        #expect(throws: AuthenticationFailure.self) { try route.authenticate(request, now: FuzzClock.now).get() }
    }

    /// 10,000 levels of nesting are refused at the parser's limit, not by overflowing the stack.
    @Test(arguments: ["[", "{\"a\":"])
    func deepNestingIsATypedError(open: String) {
        let bytes = Array((String(repeating: open, count: 10_000) + "1").utf8)
        #expect {
            _ = try JSONValue.parse(bytes)
        } throws: { error in
            "\(error)".contains("nesting deeper than 512 levels")
        }
    }
}
