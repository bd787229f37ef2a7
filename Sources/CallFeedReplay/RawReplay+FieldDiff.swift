import CallFeedCore
import Kafka

/// What `replay raw --dry-run` says would change: for each call it would republish, the fields of
/// the CallEvent that differ from the revision the warehouse holds now.
public struct ReplayFieldDiff: Sendable, CustomStringConvertible {
    /// Calls whose changed fields are known, with those fields (`caller_number`, `tracking.campaign`).
    public var fieldsByEvent: [String: [String]] = [:]
    /// How many calls each field would change in.
    public var counts: [String: Int] = [:]
    /// Calls whose current revision is no longer on the calls topic (retention): their diff is unknown.
    public var notFound: [String] = []

    public var description: String {
        let fields = counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \($0.value)" }
        var text = "fields that would change: " + (fields.isEmpty ? "none" : fields.joined(separator: ", "))
        if !notFound.isEmpty { text += "; \(notFound.count) calls' current revision is no longer on the calls topic (no diff)" }
        return text
    }

    /// The top-level fields (and one level into objects such as `tracking`) that differ between two
    /// CallEvents' JSON, except those every replay changes (`received_at`, `channel`, `revision`).
    public static func changedFields(old: JSONValue, new: JSONValue) -> [String] {
        let skip: Set<String> = ["received_at", "channel", "revision"]
        let a = old.objectValue ?? [:]
        let b = new.objectValue ?? [:]
        var changed: [String] = []
        for key in Set(a.keys).union(b.keys).sorted() where !skip.contains(key) && a[key] != b[key] {
            if let x = a[key]?.objectValue, let y = b[key]?.objectValue {
                changed += Set(x.keys).union(y.keys).sorted().filter { x[$0] != y[$0] }.map { "\(key).\($0)" }
            } else {
                changed.append(key)
            }
        }
        return changed
    }
}

extension RawReplay {
    /// Compares each would-be republished event with the revision it replaces, found on the calls
    /// topic by `(event_id, revision)` from `since` (minus the seek margin) to the topic's end.
    /// - Parameters:
    ///   - replacing: event_id → the revision the raw record was accepted with, and the new event.
    public func fieldDiff(replacing: [String: (revision: String, event: CallEvent)], since: Timestamp) throws(ReplayError) -> ReplayFieldDiff {
        var diff = ReplayFieldDiff()
        guard !replacing.isEmpty else { return diff }
        let topic = topics.calls
        let (start, end) = try range(topic, since: since)
        var found: Set<String> = []
        try TopicScan(consumer: consumer, topic: topic).read(from: start, to: end) { message throws(ReplayError) in
            guard let key = message.key, let id = String(validating: key, as: UTF8.self), let wanted = replacing[id], !found.contains(id),
                  let old = try? JSONValue.parse(message.value), old["revision"]?.text == wanted.revision,
                  let new = try? JSONValue.parse(wanted.event.jsonBytes()) else { return }
            found.insert(id)
            let fields = ReplayFieldDiff.changedFields(old: old, new: new)
            diff.fieldsByEvent[id] = fields
            for field in fields { diff.counts[field, default: 0] += 1 }
        }
        diff.notFound = replacing.keys.filter { !found.contains($0) }.sorted()
        return diff
    }
}
