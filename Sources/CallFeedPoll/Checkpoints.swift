import CallFeedCore
import Foundation
import Warehouse

/// Durable poll state of one (source, account, stream), in the ``StateStore``:
/// - the **high-water mark**: the end of the newest completed incremental window. Inclusive: the
///   next run re-reads from it minus the lookback, so calls sharing a timestamp across a page
///   boundary, calls that appear at the vendor late, and calls changed after they ended are all
///   read again (duplicates are the loader's to drop);
/// - the **cursor** of a window in progress (window bounds + next page), saved after every page
///   Kafka acknowledged, so a poller killed mid-pagination resumes at that page, no gap.
struct Checkpoints: Sendable {
    struct Cursor: Codable, Equatable, Sendable {
        var from: Int64
        var to: Int64
        var nextPage: Int
        /// Backfill range end, if this cursor belongs to a backfill (then `to` is a chunk end).
        var rangeEnd: Int64?
        /// The vendor's cursor for `nextPage`, for cursor-paged APIs.
        var after: String? = nil
    }

    let store: StateStore
    let prefix: String

    init(store: StateStore, vendor: String, source: String, account: String, stream: String) {
        self.store = store
        self.prefix = "poll/\(vendor)/\(source)/\(account)/\(stream)"
    }

    func highWaterMark() throws(PollError) -> Timestamp? {
        do {
            return try store.value(for: prefix + "/hwm").flatMap(Int64.init).map { Timestamp(millisecondsSinceEpoch: $0) }
        } catch {
            throw PollError(.state, "cannot read checkpoint \(prefix): \(error)")
        }
    }

    /// The saved cursor of `kind` (call windows use ``Cursor``; entity lists their own type).
    func cursor<C: Decodable>(_ kind: String, as type: C.Type = Cursor.self) throws(PollError) -> C? {
        do {
            guard let text = try store.value(for: "\(prefix)/\(kind)-cursor") else { return nil }
            return try? JSONDecoder().decode(C.self, from: Data(text.utf8))
        } catch {
            throw PollError(.state, "cannot read cursor \(prefix): \(error)")
        }
    }

    func save<C: Encodable>(_ cursor: C, kind: String) throws(PollError) {
        let text = String(decoding: (try? JSONEncoder().encode(cursor)) ?? Data(), as: UTF8.self)
        do { try store.set(text, for: "\(prefix)/\(kind)-cursor") } catch { throw PollError(.state, "cannot save cursor: \(error)") }
    }

    /// Advances the high-water mark (never backwards).
    func advance(to mark: Timestamp) throws(PollError) {
        let current = try highWaterMark()
        guard current.map({ mark > $0 }) ?? true else { return }
        do { try store.set(String(mark.millisecondsSinceEpoch), for: prefix + "/hwm") } catch {
            throw PollError(.state, "cannot save checkpoint \(prefix): \(error)")
        }
    }

    func clearCursor(_ kind: String) throws(PollError) {
        do { try store.remove(["\(prefix)/\(kind)-cursor"]) } catch { throw PollError(.state, "cannot clear cursor \(prefix): \(error)") }
    }
}
