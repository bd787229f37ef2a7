// Replaced by the fuzzer.
enum CallFeedFuzzPlaceholder {}
