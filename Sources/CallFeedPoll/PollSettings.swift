import Foundation
import CallFeedCore

/// How a source is polled.
public struct PollSettings: Sendable, Equatable {
    /// Re-read this far behind the high-water mark on every run: calls change after they end
    /// (recordings, tags, dispositions).
    public var lookback: Duration
    /// Where the first incremental run starts when there is no checkpoint.
    public var initialStart: Timestamp
    /// Backfill and first runs are cut into windows of this length.
    public var chunk: Duration

    public init(lookback: Duration = .seconds(86_400), initialStart: Timestamp = Timestamp.now().adding(seconds: -7 * 86_400),
                chunk: Duration = .seconds(86_400)) {
        self.lookback = lookback; self.initialStart = initialStart; self.chunk = chunk
    }
}

/// Per-run statistics, logged as one structured line and exported as metrics.
public struct RunStatistics: Sendable, Equatable, CustomStringConvertible {
    public var windows = 0
    public var pages = 0
    public var processed = 0
    public var published = 0
    public var rejected = 0
    public var apiCalls = 0
    public var seconds = 0.0
    public init() {}

    public var description: String {
        "windows=\(windows) pages=\(pages) processed=\(processed) published=\(published) rejected=\(rejected) api_calls=\(apiCalls) duration_s=\(String(format: "%.2f", seconds))"
    }
}

/// What a long run reports after every page (`callfeed backfill` draws its progress bar from it).
public struct PollProgress: Sendable {
    public var account: String
    public var windowFrom: Timestamp
    public var windowTo: Timestamp
    /// Fraction of the whole run done, 0...1: accounts in turn, each by time covered.
    public var fraction: Double
    public var statistics: RunStatistics
}
