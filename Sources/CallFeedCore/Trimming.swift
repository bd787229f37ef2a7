import Foundation

extension String {
    /// `trimmingCharacters(in: set)` with a fast path: when the first and last bytes are printable
    /// ASCII (`!`…`~`, which no whitespace or newline set contains) there is nothing to trim and
    /// Foundation is not called. Foundation's trimming costs about a microsecond per call, which
    /// the mappings make several times per webhook (docs/performance.md, "Ingest path").
    public func trimming(_ set: CharacterSet) -> String {
        let bytes = utf8
        guard let first = bytes.first, let last = bytes.last else { return "" }
        if (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) { return self }
        return trimmingCharacters(in: set)
    }
}
