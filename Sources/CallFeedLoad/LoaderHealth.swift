import CallFeedCore
import Synchronization

/// What `callfeed-load`'s `/readyz` answers: whether this loader has lost data, which partitions
/// it owns and when it last committed. Written by the loader thread, read by the HTTP server's.
public final class LoaderHealth: Sendable {
    private struct State {
        var gaps: [OffsetGap] = []
        var assignedPartitions = 0
        var lastCommitMilliseconds: Int64?
        /// The warehouse error the loader is retrying, and since when (nil: the last write worked).
        var warehouseError: String?
        var warehouseFailingSince: Int64?
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

    /// The outcome of the latest warehouse write: `failing` is the error being retried, nil on success.
    func warehouse(failing error: String?, atMilliseconds now: Int64) {
        state.withLock { s in
            if let error {
                s.warehouseError = error
                s.warehouseFailingSince = s.warehouseFailingSince ?? now
            } else if s.warehouseError != nil {
                s.warehouseError = nil
                s.warehouseFailingSince = nil
            }
        }
    }

    func assigned(_ count: Int) {
        state.withLock { $0.assignedPartitions = count }
    }

    /// The gaps found since the process started (at most ``listedGaps``).
    public var gaps: [OffsetGap] { state.withLock { $0.gaps } }

    /// `/readyz`: ready (200) unless offsets were lost since the process started (503 with the
    /// gaps, until an operator has backfilled their window and restarted the loader: docs/operations.md,
    /// "Offsets lost"), or the warehouse write in hand is failing and being retried (503
    /// `warehouse_unavailable` with the error, until a write succeeds). The body is JSON either way
    /// and names the partitions this member owns.
    public func readiness() -> (ready: Bool, body: String) {
        let snapshot = state.withLock { $0 }
        let gaps = snapshot.gaps.map { gap in
            #"{"topic":"\#(gap.topic)","partition":\#(gap.partition),"first_offset":\#(gap.first),"# +
                #""last_offset":\#(gap.next - 1),"messages":\#(gap.count)}"#
        }
        let commit = snapshot.lastCommitMilliseconds.map(String.init) ?? "null"
        let warehouse = snapshot.warehouseError.map { error in
            #""warehouse_error":\#(jsonStringLiteral(error)),"warehouse_failing_since_ms":\#(snapshot.warehouseFailingSince ?? 0),"#
        } ?? ""
        let status = !snapshot.gaps.isEmpty ? "offsets_lost" : snapshot.warehouseError != nil ? "warehouse_unavailable" : "ok"
        return (status == "ok",
                #"{"status":"\#(status)","assigned_partitions":\#(snapshot.assignedPartitions),"# +
                #""last_commit_ms":\#(commit),\#(warehouse)"offset_gaps":[\#(gaps.joined(separator: ","))]}"#)
    }
}
