import CallFeedCore
import CallFeedIngest
import CallFeedPoll
import CallFeedReplay
import CallFeedVendors
import Kafka

/// The current mapping of every configured route and poll source, for `callfeed replay`: a raw or
/// dead-lettered record is mapped by the code that would map it if it arrived now.
///
/// The mapping context (which configured source, which account) comes from the record's
/// `source_name` and `account` headers. Records written before those headers existed are mapped
/// with each configured source of their route; when the record names its event_id, the source whose
/// mapping gives that event_id is the one, otherwise only a route with a single source can be replayed.
struct ConfiguredRenormaliser: Renormalising {
    let routes: [String: any WebhookRoute]
    /// Poll sources by configured name (the `poll:<name>` route).
    let pollSources: [String: any CallSource]

    init(_ config: CallFeedConfiguration) {
        routes = Dictionary(Builders.makeRoutes(config).map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        var sources: [String: any CallSource] = [:]
        for configured in Builders.pollSources(config) {
            if let source = configured.source { sources[configured.name] = source }
        }
        pollSources = sources
    }

    func content(of record: ReplayRecord) -> Result<CallContent, ReplayFailure> {
        let payload: JSONValue
        do {
            payload = try JSONValue.parse(record.message.value)
        } catch {
            return .failure(ReplayFailure("body is not JSON: \(error)"))
        }
        if record.route.hasPrefix("poll:") { return polled(payload, record) }
        guard let route = routes[record.route] else {
            return .failure(ReplayFailure("no configured source serves the route \(record.route)"))
        }
        var candidates = route.configuredSources
        if let name = record.sourceName {
            candidates = candidates.filter { $0.name == name }
            guard !candidates.isEmpty else {
                return .failure(ReplayFailure("source \(name) of \(record.route) is no longer configured"))
            }
        }
        var firstError: String?
        var matches: [CallContent] = []
        for source in candidates {
            do {
                let content = try route.content(from: payload, source: source)
                if let id = record.eventID, Self.eventID(content) != id { continue }
                matches.append(content)
            } catch {
                firstError = firstError ?? error.reason
            }
        }
        if matches.count == 1 || (matches.count > 1 && record.eventID != nil) { return .success(matches[0]) }
        if matches.count > 1 {
            return .failure(ReplayFailure("\(matches.count) configured sources of \(record.route) map the record and it names none (no source_name header)"))
        }
        if let firstError { return .failure(ReplayFailure(firstError)) }
        return .failure(ReplayFailure("no configured source of \(record.route) gives event_id \(record.eventID ?? "?")"))
    }

    private func polled(_ payload: JSONValue, _ record: ReplayRecord) -> Result<CallContent, ReplayFailure> {
        let name = String(record.route.dropFirst("poll:".count))
        guard let source = pollSources[name] else {
            return .failure(ReplayFailure("no configured poll source named \(name)"))
        }
        guard let account = record.account else {
            return .failure(ReplayFailure("polled before CallFeed recorded the account header: re-read it with `callfeed backfill --source \(name)`"))
        }
        do {
            return .success(try source.content(of: payload, account: account))
        } catch {
            return .failure(ReplayFailure(error.reason))
        }
    }

    static func eventID(_ content: CallContent) -> String {
        EventIdentity.eventID(source: content.source, accountID: content.sourceAccountID, callID: content.sourceCallID)
    }
}

extension Builders {
    /// The current mapping of the configured routes and poll sources, for a replay or redrive.
    public static func makeRenormaliser(_ config: CallFeedConfiguration) -> any Renormalising {
        ConfiguredRenormaliser(config)
    }
}
