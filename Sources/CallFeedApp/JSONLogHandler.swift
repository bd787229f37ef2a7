import Foundation
import CallFeedCore
import Logging
import Synchronization

/// Structured logs: one JSON object per line on stderr (`ts`, `level`, `logger`, `msg`, then the
/// metadata), or `text` for people at a terminal.
public struct StructuredLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    let label: String
    let json: Bool

    public init(label: String, level: Logger.Level, json: Bool) {
        self.label = label
        self.logLevel = level
        self.json = json
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        let ts = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
        let line: String
        if json {
            var fields = ["\"ts\":\(jsonStringLiteral(ts))", "\"level\":\(jsonStringLiteral(event.level.rawValue))",
                          "\"logger\":\(jsonStringLiteral(label))", "\"msg\":\(jsonStringLiteral(event.message.description))"]
            for (k, v) in all.sorted(by: { $0.key < $1.key }) { fields.append("\(jsonStringLiteral(k)):\(jsonStringLiteral(v.description))") }
            line = "{" + fields.joined(separator: ",") + "}\n"
        } else {
            let meta = all.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            line = "\(ts) \(event.level.rawValue.uppercased()) \(label): \(event.message)\(meta.isEmpty ? "" : " " + meta)\n"
        }
        FileHandle.standardError.write(Data(line.utf8))
    }
}

extension CallFeedConfiguration.LogSettings {
    /// Installs the handler process-wide (once per process) and returns a logger.
    public func bootstrap(label: String) -> Logger {
        let level = Logger.Level(rawValue: self.level) ?? .info
        let json = format == "json"
        if !loggingBootstrapped.exchange(true, ordering: .acquiringAndReleasing) {
            LoggingSystem.bootstrap { StructuredLogHandler(label: $0, level: level, json: json) }
        }
        return Logger(label: label)
    }
}

private let loggingBootstrapped = Atomic<Bool>(false)
