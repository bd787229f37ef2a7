import CallFeedCore
import Foundation

/// What a run did to one target.
public struct FuzzStatistics: Sendable {
    public var inputs = 0
    public var accepted = 0
    public var rejected = 0
    public var violations = 0
    /// Page records mapped to events or entities, and refused by their mapper.
    public var recordsMapped = 0
    public var recordsRefused = 0
    /// The first few violations: iteration, reason and the input's start.
    public var violationSamples: [String] = []
    /// Rejection reasons with their digits folded (`at byte #`), and how often each came.
    public var reasons: [String: Int] = [:]

    mutating func add(_ outcome: FuzzOutcome, iteration: Int, input: [UInt8]) {
        inputs += 1
        recordsMapped += outcome.recordsMapped
        recordsRefused += outcome.recordsRefused
        switch outcome.verdict {
        case .accepted: accepted += 1
        case .rejected:
            rejected += 1
            let key = Self.fold(outcome.reason)
            if reasons[key] != nil || reasons.count < 64 { reasons[key, default: 0] += 1 }
        case .violation:
            violations += 1
            if violationSamples.count < 5 {
                violationSamples.append("#\(iteration): \(outcome.reason) <- \(String(decoding: input.prefix(160), as: UTF8.self).debugDescription)")
            }
        }
    }

    /// The reason with digit runs as `#` and at most 90 characters, so "at byte 17" and "at byte 912" count as one.
    static func fold(_ reason: String) -> String {
        var folded = ""
        var lastWasDigit = false
        for character in reason.prefix(90) {
            if character.isASCII, character.isNumber {
                if !lastWasDigit { folded.append("#") }
                lastWasDigit = true
            } else {
                folded.append(character)
                lastWasDigit = false
            }
        }
        return folded
    }
}

/// The result of ``Fuzzer/run(iterations:progressEvery:onInput:progress:)``.
public struct FuzzReport: Sendable, CustomStringConvertible {
    /// Per target, in run order.
    public var targets: [(name: String, statistics: FuzzStatistics)]
    public var seconds: Double

    public var totalInputs: Int { targets.reduce(0) { $0 + $1.statistics.inputs } }
    public var totalViolations: Int { targets.reduce(0) { $0 + $1.statistics.violations } }
    public var inputsPerSecond: Double { seconds > 0 ? Double(totalInputs) / seconds : 0 }

    /// Statistics of the target called `name`.
    public subscript(name: String) -> FuzzStatistics? { targets.first { $0.name == name }?.statistics }

    /// A table: target, inputs, accepted, rejected, violations, page records mapped/refused.
    public var description: String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func num(_ n: Int, _ w: Int = 9) -> String { let s = String(n); return String(repeating: " ", count: max(0, w - s.count)) + s }
        var lines = [pad("target", 34) + "   inputs  accepted  rejected  violations  records ok/refused"]
        for (name, s) in targets {
            lines.append(pad(name, 34) + num(s.inputs) + num(s.accepted, 10) + num(s.rejected, 10) + num(s.violations, 12)
                         + "  \(s.recordsMapped)/\(s.recordsRefused)")
            lines += s.violationSamples.map { "    VIOLATION \($0)" }
        }
        lines.append(String(format: "total: %d inputs over %d targets in %.2f s = %.0f inputs/s; %d crashes, %d violations",
                            totalInputs, targets.count, seconds, inputsPerSecond, 0, totalViolations))
        return lines.joined(separator: "\n")
    }
}

/// A seeded, deterministic mutation fuzzer over every webhook and vendor page parser.
///
/// Inputs go to the targets in turn (round robin), each a mutation of one of the target's seeds
/// (one input in 16 is the seed itself, so the accepting paths stay covered). Everything random
/// comes from ``FuzzRandom`` seeded with `seed`: the same seed and iteration count replay the same
/// inputs. Runs on the calling thread; not thread-safe (one fuzzer per thread).
public final class Fuzzer {
    public let targets: [FuzzTarget]
    private let seeds: [[[UInt8]]]
    /// `seeds`, parsed where they are JSON.
    private let parsedSeeds: [[JSONValue?]]
    private let mutator: Mutator
    private var rng: FuzzRandom
    /// Kept alive for the page targets.
    private let server: PageServer

    /// Every target's name, in run order.
    public var targetNames: [String] { targets.map(\.name) }

    /// Makes a fuzzer.
    /// - Parameters:
    ///   - seed: The random seed.
    ///   - only: Target names or name prefixes (`page.`, `auth.ctm`) to run; empty runs all.
    ///   - corpus: Extra seeds (``FuzzCorpus/load(directory:)``), by file name.
    /// - Throws: `HTTPServerError` when the loopback page server cannot start; `FuzzCorpus.Error`
    ///   when `only` selects nothing.
    public init(seed: UInt64, only: [String] = [], corpus: [String: [UInt8]] = [:]) throws {
        server = try PageServer()
        let all = WebhookTargets.all() + ParserTargets.all() + PageTargets.all(server: server)
        targets = only.isEmpty ? all : all.filter { target in only.contains { target.name == $0 || target.name.hasPrefix($0) } }
        guard !targets.isEmpty else {
            throw FuzzCorpus.Error(reason: "no target matches \(only); targets: \(all.map(\.name).joined(separator: ", "))")
        }
        seeds = targets.map { FuzzCorpus.seeds(for: $0.seedKey, corpus: corpus) }
        parsedSeeds = seeds.map { $0.map { try? JSONValue.parse($0) } }
        mutator = Mutator(pool: FuzzCorpus.seeds(for: "json", corpus: corpus))
        rng = FuzzRandom(seed: seed)
    }

    /// Runs `iterations` inputs.
    /// - Parameters:
    ///   - iterations: Inputs in all, spread evenly over the targets.
    ///   - progressEvery: Calls `progress` after every so many inputs (0: never).
    ///   - onInput: Called before each input with its iteration and target (for finding the input
    ///     that crashed: a trap ends the process, the last call names the culprit).
    ///   - progress: Receives the report so far.
    /// - Returns: Per-target statistics and the inputs per second.
    public func run(iterations: Int, progressEvery: Int = 0, onInput: ((Int, String) -> Void)? = nil,
                    progress: (FuzzReport) -> Void = { _ in }) -> FuzzReport {
        var statistics = Array(repeating: FuzzStatistics(), count: targets.count)
        let started = ContinuousClock.now
        func report() -> FuzzReport {
            let elapsed = ContinuousClock.now - started
            return FuzzReport(targets: zip(targets, statistics).map { ($0.name, $1) },
                              seconds: elapsed.timeInterval)
        }
        for iteration in 0..<iterations {
            let index = iteration % targets.count
            let pick = rng.index(seeds[index].count)
            let seed = seeds[index][pick]
            let input = rng.oneIn(16) ? seed : mutator.mutate(seed, parsed: parsedSeeds[index][pick], tokens: targets[index].tokens, using: &rng)
            var inputRandom = FuzzRandom(seed: rng.next())
            onInput?(iteration, targets[index].name)
            let outcome = targets[index].run(input, &inputRandom)
            statistics[index].add(outcome, iteration: iteration, input: input)
            if progressEvery > 0, (iteration + 1) % progressEvery == 0 { progress(report()) }
        }
        return report()
    }

    /// Runs one input on the target `selector` picks (`selector % targets.count`): libFuzzer's
    /// entry point, where libFuzzer does the mutating. Random choices inside the target (headers,
    /// clock) come from a hash of the input, so a crash file replays.
    public func runOne(_ input: [UInt8], selector: UInt8) -> FuzzOutcome {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in input { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        var inputRandom = FuzzRandom(seed: hash)
        return targets[Int(selector) % targets.count].run(input, &inputRandom)
    }
}
