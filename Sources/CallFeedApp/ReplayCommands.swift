import CallFeedCore
import CallFeedReplay
import Foundation
import Kafka
import Logging

/// `callfeed replay raw` and `callfeed replay dlq`: the operator's repairs (docs/operations.md#replay).
extension Commands {
    /// An instant given on the command line: RFC 3339, a date (midnight UTC) or an age before
    /// `now` (`90s`, `30m`, `6h`, `7d`).
    public static func instant(_ text: String, option: String, now: Timestamp = .now()) throws -> Timestamp {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
        if let unit = text.last, let seconds = units[unit], let count = Int64(text.dropLast()), count >= 0 {
            return now.adding(seconds: -count * seconds)
        }
        if let t = Timestamp.parseISO8601(text.count == 10 ? text + "T00:00:00Z" : text, defaultUTCOffsetSeconds: 0) { return t }
        throw ConfigurationError("\(option) must be RFC 3339, YYYY-MM-DD or an age like 30m, 6h, 7d (got \(text))")
    }

    /// Exit status of a replay that ran to its end but could not re-normalise or redrive some records.
    public static let someRecordsFailed: Int32 = 3

    public struct RawReplayOptions: Sendable {
        public var selection: RawSelection
        public var dryRun = false
        public var resume = false
        public var group = "callfeed-replay-raw"
        /// Print one line per selected record (always on in a dry run).
        public var verbose = false
        public init(selection: RawSelection) { self.selection = selection }
    }

    /// Returns the exit status: 0, or ``someRecordsFailed``.
    public static func runReplayRaw(configPath: String, options: RawReplayOptions) throws -> Int32 {
        let config = try CallFeedConfiguration.load(path: configPath)
        let logger = config.bootstrapLogging(label: "callfeed-replay")
        let (consumer, producer) = try replayClients(config, group: options.group, dryRun: options.dryRun)
        defer { consumer.close(); producer?.close() }
        let replay = RawReplay(consumer: consumer, producer: producer, topics: Topics(prefix: config.kafka.topicPrefix),
                               renormaliser: ConfiguredRenormaliser(config), logger: logger)
        let display = ReplayDisplay()
        let listing = options.verbose || options.dryRun
        var replacing: [String: (revision: String, event: CallEvent)] = [:]
        let summary = try replay.run(options.selection, resume: options.resume, progress: display.draw) { outcome in
            if options.dryRun, case .republished(let record, let event) = outcome, let revision = record.revision {
                replacing[event.eventID] = (revision, event)
            }
            guard listing else { return }
            display.line(Self.describe(outcome))
        }
        display.finish()
        if options.dryRun {
            // What each republished event would change, against the revision on the calls topic.
            let diff = try replay.fieldDiff(replacing: replacing, since: options.selection.since)
            for (id, fields) in diff.fieldsByEvent.sorted(by: { $0.key < $1.key }) {
                print("would change  \(id)  \(fields.isEmpty ? "(no field: only the identity of the bytes)" : fields.joined(separator: ", "))")
            }
            print(diff)
        }
        print("\(options.dryRun ? "dry run (nothing published): " : "")replay raw: \(summary)")
        return summary.failed > 0 ? someRecordsFailed : 0
    }

    public struct DeadLetterOptions: Sendable {
        public var selection: DeadLetterSelection
        public var dryRun = false
        public var fromStart = false
        public var maxAttempts = 3
        public var group = "callfeed-redrive"
        public var verbose = false
        public init(selection: DeadLetterSelection) { self.selection = selection }
    }

    public static func runReplayDeadLetters(configPath: String, options: DeadLetterOptions) throws -> Int32 {
        let config = try CallFeedConfiguration.load(path: configPath)
        let logger = config.bootstrapLogging(label: "callfeed-redrive")
        let (consumer, producer) = try replayClients(config, group: options.group, dryRun: options.dryRun)
        defer { consumer.close(); producer?.close() }
        let redrive = DeadLetterRedrive(consumer: consumer, producer: producer, topics: Topics(prefix: config.kafka.topicPrefix),
                                        renormaliser: ConfiguredRenormaliser(config), logger: logger)
        redrive.maxAttempts = options.maxAttempts
        let display = ReplayDisplay()
        let listing = options.verbose || options.dryRun
        let summary = try redrive.run(options.selection, fromStart: options.fromStart, progress: display.draw) { outcome in
            guard listing else { return }
            display.line(Self.describe(outcome))
        }
        display.finish()
        print("\(options.dryRun ? "dry run (nothing published): " : "")replay dlq: \(summary)")
        return summary.failedAgain > 0 ? someRecordsFailed : 0
    }

    /// A consumer of the replay's own group (positions assigned, partition ends reported) and,
    /// unless a dry run, an idempotent producer.
    static func replayClients(_ config: CallFeedConfiguration, group: String, dryRun: Bool) throws -> (KafkaConsumer, KafkaProducer?) {
        var properties = Builders.kafkaProperties(config, clientID: "callfeed-replay")
        properties["enable.partition.eof"] = "true"
        let consumer = try KafkaConsumer(groupID: group, properties: properties)
        let producer = dryRun ? nil : try Builders.makeProducer(config, clientID: "callfeed-replay")
        return (consumer, producer)
    }

    static func describe(_ outcome: RawReplayOutcome) -> String {
        switch outcome {
        case .republished(let r, let e):
            "republish  \(e.eventID)  \(r.route)  revision \(r.revision?.prefix(12) ?? "?") -> \(e.revision.prefix(12))"
        case .unchanged(let r, let e): "unchanged  \(e.eventID)  \(r.route)"
        case .superseded(let r): "superseded \(r.eventID ?? "?")  \(r.route)  (a newer copy was accepted later)"
        case .failed(let r, let reason): "failed     \(r.eventID ?? "?")  \(r.route)  \(reason)"
        }
    }

    static func describe(_ outcome: RedriveOutcome) -> String {
        func at(_ r: ReplayRecord) -> String { "\(r.message.partition)/\(r.message.offset)  \(r.stage ?? "?")  \(r.route)  attempt \(r.attempt)" }
        return switch outcome {
        case .redriven(let r, let what): "redrive    \(at(r))  \(what)"
        case .failedAgain(let r, let reason): "failed     \(at(r))  \(reason)"
        case .exhausted(let r): "exhausted  \(at(r))  (max attempts reached; not retried)"
        case .skipped(let r, let why): "skipped    \(at(r))  \(why)"
        }
    }
}

/// Progress of a replay on stderr: redrawn in place on a terminal, one plain line every 5 s otherwise.
final class ReplayDisplay: @unchecked Sendable {
    private let started = Date()
    private let terminal = isatty(STDERR_FILENO) != 0
    private var drawn = false
    private var lastPlain = Date.distantPast

    func draw(_ p: ReplayProgress) {
        let elapsed = Date().timeIntervalSince(started)
        let rate = elapsed > 0 ? Double(p.done) / elapsed : 0
        let eta = rate > 0 ? Double(max(0, p.total - p.done)) / rate : 0
        let text = String(format: "%@ %d/%d records (%d%%)  %.0f/s  ETA %d:%02d", p.phase, p.done, p.total,
                          Int(p.fraction * 100), rate, Int(eta) / 60, Int(eta) % 60)
        if terminal {
            FileHandle.standardError.write(Data(("\r" + text + "   ").utf8))
            drawn = true
        } else if Date().timeIntervalSince(lastPlain) >= 5 || p.fraction >= 1 {
            lastPlain = Date()
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    /// A listing line (above the progress line on a terminal).
    func line(_ text: String) {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        print(text)
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
