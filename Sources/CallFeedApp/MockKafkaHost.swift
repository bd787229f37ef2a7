import CallFeedCore
import Foundation
import Kafka

/// `callfeed mock-kafka`: librdkafka's mock cluster in a process of its own, so that
/// `callfeed-ingest` and `callfeed-load` can run as separate processes without a Kafka install,
/// and so that a test can stop and start brokers or inject request errors while they run.
///
/// Protocol: one JSON line on stdout once the cluster is up
/// (`{"bootstrap_servers":"127.0.0.1:…","brokers":3,"topics":[…]}`), then one command per stdin
/// line, each answered by one stdout line, `ok <command>` or `error <reason>`:
///
/// | command | effect |
/// |---|---|
/// | `down all` / `down <id>` | broker(s) down: connections closed, requests refused |
/// | `up all` / `up <id>` | broker(s) back |
/// | `errors <api-key> <count> <ERROR_NAME>` | the next `count` requests of that Kafka API (0 = Produce) fail with that error |
/// | `rtt <id>\|all <ms>` | answers delayed by `ms` |
///
/// End of stdin, SIGTERM or SIGINT stop it (the data is in memory and goes with it).
public enum MockKafkaHost {
    public static func run(brokers: Int32, partitions: Int32, topicPrefix: String) throws {
        let cluster = try KafkaMockCluster(brokers: brokers)
        let topics = Topics(prefix: topicPrefix).all
        for topic in topics { try cluster.createTopic(topic, partitions: partitions) }
        let ready: [String: Any] = ["bootstrap_servers": cluster.bootstrapServers, "brokers": Int(brokers), "topics": topics]
        emit(String(decoding: try JSONSerialization.data(withJSONObject: ready, options: [.sortedKeys]), as: UTF8.self))

        // The cluster lives in memory: nothing to flush, so exit at once (`_exit` is async-signal-safe).
        for signalNumber in [SIGTERM, SIGINT] { signal(signalNumber, { _ in _exit(0) }) }
        while let line = readLine() {
            let command = line.trimmingCharacters(in: .whitespaces)
            guard !command.isEmpty else { continue }
            switch execute(command, on: cluster) {
            case .success: emit("ok \(command)")
            case .failure(let failure): emit("error \(failure.reason)")
            }
        }
        withExtendedLifetime(cluster) {}
    }

    struct CommandError: Error { var reason: String }

    /// Applies one command line to the cluster.
    static func execute(_ command: String, on cluster: KafkaMockCluster) -> Result<Void, CommandError> {
        let words = command.split(separator: " ").map(String.init)
        func brokers(_ word: String) -> [Int32]? {
            if word == "all" { return Array(1...cluster.brokerCount) }
            guard let id = Int32(word), (1...cluster.brokerCount).contains(id) else { return nil }
            return [id]
        }
        switch words.first {
        case "down", "up":
            guard words.count == 2, let ids = brokers(words[1]) else {
                return .failure(CommandError(reason: "usage: \(words[0]) all|<broker id 1…\(cluster.brokerCount)>"))
            }
            for id in ids { cluster.setBroker(id, up: words[0] == "up") }
        case "errors":
            guard words.count == 4, let apiKey = Int16(words[1]), let count = Int(words[2]), count > 0 else {
                return .failure(CommandError(reason: "usage: errors <api key> <count> <ERROR_NAME>"))
            }
            guard let code = KafkaMockCluster.errorCode(named: words[3]) else {
                return .failure(CommandError(reason: "unknown Kafka error name \(words[3])"))
            }
            cluster.pushRequestErrors(apiKey: apiKey, Array(repeating: code, count: count))
        case "rtt":
            guard words.count == 3, let ids = brokers(words[1]), let ms = Int32(words[2]), ms >= 0 else {
                return .failure(CommandError(reason: "usage: rtt all|<broker id> <milliseconds>"))
            }
            for id in ids { cluster.setBrokerRTT(id, milliseconds: ms) }
        default:
            return .failure(CommandError(reason: "unknown command \(words.first ?? ""); use down, up, errors or rtt"))
        }
        return .success(())
    }

    /// One line on stdout, unbuffered (a harness reads the pipe line by line).
    private static func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
