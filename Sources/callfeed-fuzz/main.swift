// callfeed-fuzz: the seeded mutation fuzzer over every webhook and vendor page parser (docs/fuzzing.md).
#if !CALLFEED_LIBFUZZER
import ArgumentParser
import CallFeedFuzz
import Foundation

/// `callfeed-fuzz --iterations N --seed S [--target NAME]... [--corpus DIR]`.
struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "callfeed-fuzz",
        abstract: "Fuzz every webhook parser, route authentication and vendor page parser with seeded mutations.",
        discussion: """
            Inputs are mutations (bit flips, inserted/deleted/duplicated ranges, splices, truncation, and \
            JSON-aware edits: other types, huge numbers, 10,000-level nesting, long and invalid-UTF-8 \
            strings, NUL, lone surrogates, duplicate keys) of vendor sample payloads, spread evenly over \
            the targets. Every input must be accepted or refused with a typed error; a crash ends the \
            process (rerun with --trace to name the input), a broken property is a violation (exit 1). \
            The same --seed and --iterations replay the same inputs. See docs/fuzzing.md.
            """)

    @Option(help: "Inputs to run in all, spread evenly over the selected targets.")
    var iterations = 100_000

    @Option(help: "Random seed: the same seed replays the same inputs.")
    var seed: UInt64 = 1

    @Option(name: .customLong("target"), help: "Run only targets whose name is or starts with NAME (repeatable), e.g. json, webhook., auth.ctm, page.callrail.")
    var targets: [String] = []

    @Option(help: "A directory of extra seed files (e.g. Tests/CallFeedCoreTests/Fixtures); a file goes to the targets of the vendor its name starts with.")
    var corpus: String?

    @Option(help: "Print progress after every so many inputs (0: only the summary).")
    var progressEvery = 50_000

    @Flag(help: "Print each input's number and target to stderr before running it (to find the one that crashes).")
    var trace = false

    @Flag(help: "List the targets and exit.")
    var listTargets = false

    @Flag(help: "Also print the most frequent rejection reasons per target.")
    var reasons = false

    func run() throws {
        let corpusFiles = try corpus.map { directory throws in try FuzzCorpus.load(directory: directory) } ?? [:]
        let fuzzer = try Fuzzer(seed: seed, only: targets, corpus: corpusFiles)
        if listTargets {
            print(fuzzer.targetNames.joined(separator: "\n"))
            return
        }
        print("callfeed-fuzz: \(iterations) inputs, seed \(seed), \(fuzzer.targets.count) targets\(corpus.map { ", corpus \($0) (\(corpusFiles.count) files)" } ?? "")")
        let report = fuzzer.run(iterations: iterations, progressEvery: progressEvery, onInput: trace ? { iteration, target in
            FileHandle.standardError.write(Data("#\(iteration) \(target)\n".utf8))
        } : nil) { partial in
            print(String(format: "  %d inputs, %.1f s, %.0f inputs/s, %d violations", partial.totalInputs, partial.seconds,
                         partial.inputsPerSecond, partial.totalViolations))
        }
        print(report)
        if reasons {
            for (name, statistics) in report.targets {
                print("\(name):")
                for (reason, count) in statistics.reasons.sorted(by: { $0.value > $1.value }).prefix(8) { print("  \(count)\t\(reason)") }
            }
        }
        if report.totalViolations > 0 { throw ExitCode(1) }
    }
}

FuzzCommand.main()
#endif

#if CALLFEED_LIBFUZZER
import Foundation

/// libFuzzer's driver (`FuzzerInterface.h`: `int LLVMFuzzerRunDriver(int *argc, char ***argv,
/// int (*UserCb)(const uint8_t *Data, size_t Size))`). SwiftPM links its own `main`, which calls
/// this file's code, so libFuzzer's `main` never runs: this hands control to libFuzzer instead.
@_silgen_name("LLVMFuzzerRunDriver")
func runLibFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

var libFuzzerArgc = CommandLine.argc
var libFuzzerArgv = CommandLine.unsafeArgv
exit(runLibFuzzerDriver(&libFuzzerArgc, &libFuzzerArgv, fuzzOneInput))
#endif
