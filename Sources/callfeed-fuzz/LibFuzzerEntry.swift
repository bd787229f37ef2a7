// libFuzzer's entry point, compiled only for the coverage-guided build (docs/fuzzing.md):
// swift build -c release --product callfeed-fuzz --scratch-path /tmp/fuzzbuild \
//   -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DCALLFEED_LIBFUZZER
#if CALLFEED_LIBFUZZER
import CallFeedFuzz

/// The process's fuzzer. `nonisolated(unsafe)`: libFuzzer calls the entry point from one thread,
/// one input at a time, so the (non-thread-safe) fuzzer is never used concurrently.
nonisolated(unsafe) private let fuzzer: Fuzzer = {
    do { return try Fuzzer(seed: 0) } catch { fatalError("callfeed-fuzz: cannot start: \(error)") }
}()

/// Runs one libFuzzer input: the first byte picks the target, the rest is its input. A violation
/// traps, so libFuzzer saves the input as a crash like any other.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let outcome = fuzzer.runOne(Array(bytes.dropFirst()), selector: bytes[0])
    if outcome.verdict == .violation { fatalError("callfeed-fuzz violation: \(outcome.reason)") }
    return 0
}
#endif
