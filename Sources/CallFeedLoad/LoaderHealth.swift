import Synchronization

/// What `callfeed-load`'s `/readyz` answers: whether this loader has lost data, which partitions
/// it owns and when it last committed. Written by the loader thread, read by the HTTP server's.
public final class LoaderHealth: Sendable {
    private struct State {
        var gaps: [OffsetGap] = []
        var assignedPartitions = 0
        var lastCommitMilliseconds: Int64?
    }
    private let state = Mutex(State())
    /// Most gaps listed in `/readyz` (all are counted and logged).
    static let listedGaps = 20

    public init() {}

    func lost(_ gap: OffsetGap) {
        state.withLock { if $0.gaps.count < Self.listedGaps { $0.gaps.append(gap) } }
    }

    func committed(assignedPartitions: Int, atMilliseconds now: Int64) {
        state.withLock { $0.assignedPartitions = assignedPartitions; $0.lastCommitMilliseconds = now }
    }

    func assigned(_ count: Int) {
        state.withLock { $0.assignedPartitions = count }
    }

    /// The gaps found since the process started (at most ``listedGaps``).
    public var gaps: [OffsetGap] { state.withLock { $0.gaps } }

    /// `/readyz`: ready (200) unless offsets were lost since the process started; then 503 with
    /// the gaps, until an operator has backfilled their window and restarted the loader
    /// (docs/operations.md, "Offsets lost"). The body is JSON either way.
    public func readiness() -> (ready: Bool, body: String) {
        let snapshot = state.withLock { $0 }
        let gaps = snapshot.gaps.map { gap in
            #"{"topic":"\#(gap.topic)","partition":\#(gap.partition),"first_offset":\#(gap.first),"# +
                #""last_offset":\#(gap.next - 1),"messages":\#(gap.count)}"#
        }
        let commit = snapshot.lastCommitMilliseconds.map(String.init) ?? "null"
        let status = snapshot.gaps.isEmpty ? "ok" : "offsets_lost"
        return (snapshot.gaps.isEmpty,
                #"{"status":"\#(status)","assigned_partitions":\#(snapshot.assignedPartitions),"# +
                #""last_commit_ms":\#(commit),"offset_gaps":[\#(gaps.joined(separator: ","))]}"#)
    }
}
