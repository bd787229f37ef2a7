import CallFeedCore
import Foundation
import Kafka
import Synchronization

extension Commands {
    /// `callfeed bench produce`: publishes N synthetic CallEvents (the same ones `callfeed warehouse
    /// bench` writes, source `callfeed-bench`) to the configured calls topic, so that the loader
    /// benchmark (bench/run.sh) can time `callfeed-load` draining a full topic. Prints events/s.
    ///
    /// At most `inflight` messages wait for their acknowledgements at once (librdkafka's queue is
    /// bounded); every delivery error is counted and makes the command fail.
    public static func runBenchProduce(configPath: String, events count: Int, revision: Int, run: UInt32?, inflight: Int,
                                       partitions: Int32) throws {
        let config = try CallFeedConfiguration.load(path: configPath)
        guard count > 0, inflight > 0 else { throw ConfigurationError("--events and --inflight must be positive") }
        let producer = try Builders.makeProducer(config, clientID: "callfeed-bench-produce")
        defer { producer.close() }
        let topic = Topics(prefix: config.kafka.topicPrefix).calls
        let run = run ?? UInt32.random(in: 0..<UInt32.max)
        let partitionList = Array(0..<partitions)
        let before = try producer.watermarks(topic: topic, partitions: partitionList)
        let slots = DispatchSemaphore(value: inflight)
        let failures = Atomic<Int>(0)
        let started = ContinuousClock.now
        for n in 0..<count {
            let event = BenchEvents.event(n, run: run, revision: revision)
            slots.wait()
            do {
                try producer.produce(topic: topic, key: Array(event.eventID.utf8), value: event.jsonBytes(),
                                     headers: [(RecordHeader.source, event.content.source)]) { result in
                    if case .failure = result { failures.add(1, ordering: .relaxed) }
                    slots.signal()
                }
            } catch {
                slots.signal()
                throw error
            }
        }
        for _ in 0..<inflight { slots.wait() }  // every delivery report is in
        for _ in 0..<inflight { slots.signal() }  // libdispatch traps on disposing a semaphore below its initial value
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        let failed = failures.load(ordering: .relaxed)
        print("{\"events\":\(count),\"run\":\(run),\"topic\":\"\(topic)\",\"failed\":\(failed),"
              + "\"seconds\":\(String(format: "%.3f", seconds)),\"events_per_s\":\(Int(Double(count) / max(seconds, 1e-9)))}")
        guard failed == 0 else { throw BenchProduceError.notAcknowledged(failed: failed, of: count) }
        // A broker may drop old messages (retention; librdkafka's mock cluster keeps about 5 MB per
        // partition): a benchmark that reads fewer events than it asked for would measure nothing.
        // The new messages sit between each partition's old and new high watermark; all are kept if
        // no low watermark moved past the old high one.
        let after = try producer.watermarks(topic: topic, partitions: partitionList)
        let appended = zip(before, after).reduce(Int64(0)) { $0 + $1.1.high - $1.0.high }
        let dropped = zip(before, after).reduce(Int64(0)) { $0 + max(0, $1.1.low - $1.0.high) }
        guard appended == Int64(count), dropped == 0 else { throw BenchProduceError.notRetained(held: appended - dropped, of: count) }
    }
}

/// The topic does not hold every benchmark event.
enum BenchProduceError: Error, CustomStringConvertible {
    case notAcknowledged(failed: Int, of: Int)
    case notRetained(held: Int64, of: Int)

    var description: String {
        switch self {
        case .notAcknowledged(let failed, let of): "\(failed) of \(of) events were not acknowledged by Kafka"
        case .notRetained(let held, let of):
            "the topic holds \(held) of the \(of) messages just published: the broker dropped some (librdkafka's mock "
                + "cluster keeps about 5 MB per partition; publish fewer at a time or give it more partitions)"
        }
    }
}
