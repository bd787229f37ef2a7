import CallFeedCore
import CallFeedTestSupport
import Foundation
import Kafka
import Synchronization
import Testing

/// The check every scenario ends with: every call acknowledged to the vendor is in `calls` exactly
/// once with its newest revision, every acknowledged revision is in `call_revisions` once, and
/// nothing else is in either; the loader dead-lettered nothing. Also gathers the scenario's figures.
struct Conservation {
    /// Figures for docs/reliability.md, printed as one `FAULT-FIGURES {json}` line and appended
    /// to the file named by `CALLFEED_FAULT_REPORT` when it is set.
    struct Figures {
        var scenario: String
        var values: [(String, String)] = []
        mutating func add(_ name: String, _ value: some CustomStringConvertible) { values.append((name, "\(value)")) }

        func report() {
            let fields = [("scenario", scenario)] + values
            let json = "{" + fields.map { "\"\($0.0)\":\"\($0.1)\"" }.joined(separator: ",") + "}"
            print("FAULT-FIGURES \(json)")
            if let path = ProcessInfo.processInfo.environment["CALLFEED_FAULT_REPORT"], !path.isEmpty {
                if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
                if let handle = FileHandle(forWritingAtPath: path) {
                    handle.seekToEndOfFile()
                    handle.write(Data((json + "\n").utf8))
                    try? handle.close()
                }
            }
        }
    }

    /// Waits (up to `timeout`) for the warehouse to hold exactly `expectation`, then checks it all.
    /// - Parameter since: When the last fault ended; the time to converge is measured from it.
    static func check(_ stack: FaultStack, _ expectation: Expectation, deliveries: Int, since: ContinuousClock.Instant,
                      timeout: Duration = .seconds(120), figures: inout Figures) throws {
        #expect(expectation.unacknowledged == 0, "\(expectation.unacknowledged) deliveries never got a 2xx")
        #expect(!expectation.latest.isEmpty)
        let converged = waitUntil(timeout) { stack.calls() == expectation.latest }
        let convergeTime = ContinuousClock.now - since
        let calls = stack.calls()
        let missing = expectation.latest.keys.filter { calls[$0] == nil }
        let extra = calls.keys.filter { expectation.latest[$0] == nil }
        let stale = expectation.latest.filter { calls[$0.key] != nil && calls[$0.key] != $0.value }
        #expect(converged, "calls: \(missing.count) missing, \(extra.count) not acknowledged, \(stale.count) not at their newest revision; last read error: \(stack.lastReadError.withLock { $0 } ?? "none"); load log: \(stack.load?.stderr.value.suffix(1500) ?? "")")
        #expect(missing.isEmpty && extra.isEmpty && stale.isEmpty)

        let revisions = stack.revisions()
        let lostRevisions = expectation.acknowledged.subtracting(revisions.keys)
        let unexpectedRevisions = Set(revisions.keys).subtracting(expectation.acknowledged)
        #expect(lostRevisions.count == 0, "acknowledged revisions missing from call_revisions: \(Array(lostRevisions.prefix(5)))")
        #expect(unexpectedRevisions.count == 0, "revisions nobody acknowledged: \(Array(unexpectedRevisions.prefix(5)))")
        #expect(revisions.values.allSatisfy { $0 == 1 })

        let topic = try stack.consumeAll(Topics().calls)
        let copies = FaultStack.copiesByRevision(topic)
        let distinct = Set(copies.keys)
        // Each 2xx means Kafka acknowledged one more copy. Fewer copies than 2xx answers is not a
        // loss of data (the revision is there), but it is an acknowledged record the log lacks:
        // counted, and asserted only for revisions (above), see docs/reliability.md.
        let copiesMissing = expectation.copiesMissing(from: copies)
        let raw = try stack.consumeAll(Topics().raw)
        // Kafka holds at least every acknowledged event (it may hold more: one that was produced
        // but answered 503 because its acknowledgement came too late, which the vendor re-sent).
        let notInTopic = expectation.acknowledged.subtracting(distinct)
        #expect(notInTopic.count == 0, "acknowledged revisions missing from the calls topic: \(Array(notInTopic.prefix(5)))")
        // The raw topic is the replay guarantee: every acknowledged payload must be there too,
        // under its event_id and revision headers (docs/reliability.md).
        let rawRevisions = Set(raw.compactMap { m -> EventRevision? in
            guard let id = m.header(RecordHeader.eventID), let revision = m.header(RecordHeader.revision) else { return nil }
            return EventRevision(eventID: id, revision: revision)
        })
        let notInRaw = expectation.acknowledged.subtracting(rawRevisions)
        #expect(notInRaw.count == 0, "acknowledged payloads missing from the raw topic (a replay could not rebuild them): \(Array(notInRaw.prefix(5)))")
        let loadDeadLetters = try stack.deadLetters(stage: "load")
        #expect(loadDeadLetters.isEmpty, "the loader dead-lettered \(loadDeadLetters.count): \(loadDeadLetters.first?.header("reason") ?? "")")

        figures.add("deliveries", deliveries)
        figures.add("http_attempts", expectation.attempts)
        figures.add("http_statuses", expectation.statusSummary)
        figures.add("acknowledged_revisions", expectation.acknowledged.count)
        figures.add("calls_topic_messages", topic.count)
        figures.add("raw_topic_messages", raw.count)
        figures.add("acknowledged_missing_from_raw_topic", notInRaw.count)
        figures.add("acknowledged_copies_missing_from_calls_topic", copiesMissing)
        figures.add("duplicates_removed", topic.count - distinct.count)
        figures.add("rows_calls", calls.count)
        figures.add("rows_call_revisions", revisions.count)
        figures.add("load_dead_letters", loadDeadLetters.count)
        figures.add("converged_seconds_after_fault", String(format: "%.1f", seconds(convergeTime)))
        figures.report()
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
