import CallFeedCore

/// Tag normalisation shared by all vendors.
enum TagList {
    /// Tags as a sorted, de-duplicated list of trimmed, non-empty strings, so that the same set of
    /// tags always gives the same revision whatever order the vendor lists them in.
    /// - Parameter value: A JSON array of strings (or numbers), or one string of comma-separated
    ///   tags (how form-style webhooks send them); anything else is no tags.
    static func normalize(_ value: JSONValue?) -> [String] {
        let raw: [String]
        switch value {
        case .array(let items)?:
            raw = items.compactMap(\.text)
        case .string(let text)?:
            raw = text.split(separator: ",").compactMap { JSONValue.string(String($0)).text }
        default:
            raw = []
        }
        return Array(Set(raw)).sorted()
    }
}
