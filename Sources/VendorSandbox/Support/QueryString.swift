/// Builds query strings for the URLs the sandbox hands out (`next_page`, `Link`).
enum QueryString {
    /// Percent-encodes everything but RFC 3986 unreserved characters and those in `kept`.
    static func encode(_ text: String, keeping kept: Set<UInt8> = []) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case _ where kept.contains(byte):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0x0F)])
            }
        }
        return out
    }

    /// `a=1&b=2`, parameters in the order given.
    static func make(_ parameters: [(String, String)]) -> String {
        parameters.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }

    /// The request's parameters with `overrides` applied (a nil value removes the key), sorted by
    /// name so the URL is the same for the same request.
    static func merging(_ query: [String: String], _ overrides: [String: String?]) -> [(String, String)] {
        var merged = query
        for (key, value) in overrides { merged[key] = value }
        return merged.keys.sorted().compactMap { key in merged[key].map { (key, $0) } }
    }

    /// A received query written back for reading (sorted keys; `/`, `:` and `,` left as they are,
    /// so CallKeeper's route stays legible; a key with an empty value is written alone).
    static func display(_ query: [String: String]) -> String {
        let kept = Set("/:,".utf8)
        return query.keys.sorted().map { key in
            let value = query[key] ?? ""
            return value.isEmpty ? encode(key, keeping: kept) : encode(key, keeping: kept) + "=" + encode(value, keeping: kept)
        }.joined(separator: "&")
    }
}
