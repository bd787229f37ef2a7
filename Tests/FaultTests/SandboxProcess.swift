import CallFeedCore
import CallFeedTestSupport
import Foundation
import HTTPClient
import Testing

/// `callfeed-sandbox --control` as a child process: the vendor APIs a poller in `callfeed-ingest`
/// pages through, with faults the test turns on over its `/_sandbox/` control endpoints, and a
/// request log that shows what the poller asked for.
final class SandboxProcess: Sendable {
    let child: ChildProcess
    /// The `--print-json` line: base URLs, credentials, accounts.
    let info: JSONValue
    let control: String

    init(arguments: [String]) throws {
        let child = try ChildProcess("callfeed-sandbox", arguments: ["--port", "0", "--control", "--print-json"] + arguments)
        self.child = child
        #expect(waitUntil(.seconds(20)) { child.stdout.value.contains("\n") }, "callfeed-sandbox did not start: \(child.stderr.value)")
        let line = try #require(child.stdout.lines.first)
        info = try JSONValue.parse(Array(line.utf8))
        control = try #require(info["control"]?.text)
    }

    func vendor(_ name: String) -> JSONValue? { info["vendors"]?[name] }

    /// GET, POST or DELETE a control endpoint (`stats`, `requests?vendor=ctm`, `calls?vendor=ctm&records=0`, ...).
    @discardableResult
    func call(_ method: String = "GET", _ path: String, body: String? = nil) throws -> JSONValue {
        let response = try HTTPClient().request(method, "\(control)/\(path)", headers: [("Content-Type", "application/json")],
                                                body: body.map { Array($0.utf8) } ?? [])
        #expect(response.status == 200, "\(method) \(path): \(response.status) \(response.bodyText)")
        return try JSONValue.parse(response.body)
    }

    /// The ids of the calls the sandbox holds for `vendor`.
    func callIDs(_ vendor: String) throws -> [String] {
        guard case .array(let calls)? = try call("GET", "calls?vendor=\(vendor)&records=0")["calls"] else { return [] }
        return calls.compactMap { $0["id"]?.text }
    }

    /// The logged requests for `vendor` (each with `target`, `status`, `outcome`).
    func requests(_ vendor: String) throws -> [JSONValue] {
        guard case .array(let requests)? = try call("GET", "requests?vendor=\(vendor)")["requests"] else { return [] }
        return requests
    }

    func stop() { child.killHard() }
}
