import CallFeedCore

/// What one input did to a target.
public struct FuzzOutcome: Sendable {
    /// How the input ended.
    public enum Verdict: String, Sendable {
        /// Parsed (and authenticated, and mapped) as production would accept it.
        case accepted
        /// Refused with a typed error: the 400/401/dead-letter path.
        case rejected
        /// Returned, but broke a property the pipeline relies on (a forged body accepted, an
        /// event the loader would refuse). A crash is not an outcome: it ends the process.
        case violation
    }

    public var verdict: Verdict
    /// The error text for `rejected`, what was broken for `violation`.
    public var reason: String
    /// Records of a page mapped into events or entities.
    public var recordsMapped: Int
    /// Records of a page refused by their mapper (they would go to the dead-letter topic).
    public var recordsRefused: Int

    public init(_ verdict: Verdict, _ reason: String = "", recordsMapped: Int = 0, recordsRefused: Int = 0) {
        self.verdict = verdict; self.reason = reason
        self.recordsMapped = recordsMapped; self.recordsRefused = recordsRefused
    }

    static let accepted = FuzzOutcome(.accepted)
    static func rejected(_ reason: String) -> FuzzOutcome { FuzzOutcome(.rejected, reason) }
    static func violation(_ reason: String) -> FuzzOutcome { FuzzOutcome(.violation, reason) }
}

/// One parser under test: a name (`webhook.ctm`, `page.callrail.trackers`), the seeds its inputs
/// are mutated from, and the code production runs on such bytes.
///
/// `run` gets the input bytes and a random source for what is not bytes (headers, clock skew);
/// it must return for every input. A trap (overflow, out-of-range index, stack overflow) kills the
/// process and is the failure the fuzzer looks for.
public struct FuzzTarget: Sendable {
    /// Unique name; `--target` selects by prefix.
    public let name: String
    /// The ``FuzzSeeds`` key (and `--corpus` file prefix) the seeds come from.
    public let seedKey: String
    /// The tokens the byte mutator inserts for this target (a dictionary, as libFuzzer's `-dict`):
    /// nil for JSON's (``Mutator/tokens``); XML and CSV targets name their own.
    public let tokens: [String]?
    /// Runs one input.
    public let run: @Sendable (_ input: [UInt8], _ rng: inout FuzzRandom) -> FuzzOutcome

    public init(name: String, seedKey: String, tokens: [String]? = nil,
                run: @escaping @Sendable (_ input: [UInt8], _ rng: inout FuzzRandom) -> FuzzOutcome) {
        self.name = name; self.seedKey = seedKey; self.tokens = tokens; self.run = run
    }
}

// MARK: - Properties checked on every accepted call and entity

extension FuzzOutcome {
    /// The loader's view of an event ingest would publish: it must decode and verify (`event_id`
    /// and `revision` match the content), or the event would be dead-lettered after a 202.
    static func checkPublishable(_ content: CallContent, channel: CallEvent.Channel) -> String? {
        let event = CallEvent(content: content, channel: channel, receivedAt: FuzzClock.now)
        do {
            let decoded = try CallEvent.decode(event.jsonBytes())
            return decoded.revision == event.revision ? nil : "event round trip changed its revision"
        } catch {
            return "the loader would refuse a published event: \(error.reason)"
        }
    }

    /// The same for an entity record a poller would publish after `validate()` passed.
    static func checkPublishable(_ record: EntityRecord) -> String? {
        do {
            let decoded = try EntityRecord.decode(record.jsonBytes())
            return decoded.revision == record.revision ? nil : "entity round trip changed its revision"
        } catch {
            return "the loader would refuse a published entity: \(error.reason)"
        }
    }
}

/// The fixed "now" of every run (2024-05-14T18:31:07Z, just after the sample calls), so
/// signatures, tolerances and round trips do not depend on the wall clock.
public enum FuzzClock {
    public static let now = Timestamp(secondsSinceEpoch: 1_715_711_467)
}
