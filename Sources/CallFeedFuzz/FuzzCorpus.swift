import Foundation

/// Where seeds come from: ``FuzzSeeds`` plus, with `--corpus DIR`, every file in a directory
/// (e.g. `Tests/CallFeedCoreTests/Fixtures`).
public enum FuzzCorpus {
    /// Why a corpus or a target selection is unusable.
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// The regular files of `directory` by name (not recursive, hidden files skipped).
    /// - Throws: ``Error`` when the directory cannot be listed or holds no file.
    public static func load(directory: String) throws(Error) -> [String: [UInt8]] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw Error(reason: "cannot list corpus directory \(directory): \(error.localizedDescription)")
        }
        var files: [String: [UInt8]] = [:]
        for name in names.sorted() where !name.hasPrefix(".") {
            if let data = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent(name)) {
                files[name] = Array(data)
            }
        }
        guard !files.isEmpty else { throw Error(reason: "corpus directory \(directory) holds no file") }
        return files
    }

    /// The seeds of a ``FuzzTarget/seedKey``: the embedded ones, plus the corpus files whose name
    /// starts with the key's vendor (`ctm.` for `page.ctm.calls`); a file naming no known vendor,
    /// and the key `json`, take every seed. The keys `xml` and `csv` take the files of that
    /// extension (`five9.calllog.report-result.sample.csv`), whatever their vendor. The key `json`
    /// takes only the JSON seeds (it is also the splice pool of every target).
    static func seeds(for key: String, corpus: [String: [UInt8]]) -> [[UInt8]] {
        let vendors = ["ctm", "callkeeper", "callrail", "justcall", "hubspot", "clevertap", "five9"]
        let nonJSON: Set<String> = ["xml", "csv", "page.five9.calls"]
        let embedded = key == "json"
            ? FuzzSeeds.embedded.keys.sorted().filter { !nonJSON.contains($0) }.flatMap { FuzzSeeds.embedded[$0] ?? [] }
            : FuzzSeeds.embedded[key] ?? []
        if key == "xml" || key == "csv" {
            return embedded.map { Array($0.utf8) } + corpus.keys.sorted().filter { $0.hasSuffix("." + key) }.compactMap { corpus[$0] }
        }
        let vendor = key.split(separator: ".").first { vendors.contains(String($0)) }.map(String.init)
        let files = corpus.keys.sorted().filter { name in
            let fileVendor = vendors.first { name.hasPrefix($0 + ".") }
            return key == "json" || fileVendor == nil || fileVendor == vendor
        }
        return embedded.map { Array($0.utf8) } + files.compactMap { corpus[$0] }
    }
}
