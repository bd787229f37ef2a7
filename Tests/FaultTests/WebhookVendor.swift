import CallFeedCore
import Foundation
import HTTPClient
import Synchronization
import VendorSandbox

/// Plays CallTrackingMetrics delivering call webhooks the way a vendor does: every body signed
/// (`X-CTM-Time` + `X-CTM-Signature`, re-signed on each attempt), many in parallel, and every
/// delivery retried with backoff until it gets a 2xx. It keeps the ledger the conservation checks
/// need: what was acknowledged, how often each delivery was attempted, and what came back.
final class WebhookVendor: Sendable {
    /// One webhook to deliver: version `version` of call `call` (0 = first; each later version
    /// changes the duration and carries a later `updated_at`, so it must win).
    struct Delivery: Sendable {
        var call: Int
        var version: Int
        var body: [UInt8]
    }

    struct Outcome: Sendable {
        var attempts = 0
        var statuses: [Int: Int] = [:]
        /// event_id and revision from the 202 answer.
        var acknowledged: EventRevision?
    }

    let address: String
    private let outcomes: Mutex<[Int: Outcome]> = Mutex([:])
    private let stopped = Atomic<Bool>(false)

    init(address: String) { self.address = address }

    /// `calls` calls, each sent once; the first `resends` of them re-sent (a vendor retrying a
    /// delivery it thinks failed) and the first `updates` of them updated once. A re-send follows
    /// its original 3 deliveries later and an update 5 later, so they race it on parallel senders.
    static func plan(calls: Int, resends: Int, updates: Int, firstCall: Int = 0) -> [Delivery] {
        func delivery(_ n: Int, _ version: Int) -> Delivery {
            Delivery(call: firstCall + n, version: version, body: body(call: firstCall + n, version: version))
        }
        var deliveries: [Delivery] = []
        for n in 0..<(calls + 5) {
            if n < calls { deliveries.append(delivery(n, 0)) }
            if (0..<min(resends, calls)).contains(n - 3) { deliveries.append(delivery(n - 3, 0)) }
            if (0..<min(updates, calls)).contains(n - 5) { deliveries.append(delivery(n - 5, 1)) }
        }
        return deliveries
    }

    /// A CTM call record (the shape of the API's call, which CTM posts as the webhook body).
    static func body(call: Int, version: Int) -> [UInt8] {
        let started = 1_715_711_400 + call * 60
        let json = """
        {"id":\(93_000_000 + call),"account_id":\(FaultStack.ctmAccount),"sid":"CAfault\(call)",\
        "direction":"inbound","duration":\(30 + version * 45 + call % 17),"talk_time":\(20 + version * 40),\
        "ring_time":5,"unix_time":\(started),"called_at":"2024-05-14 02:30 PM -04:00",\
        "caller_number":"+1555\(String(format: "%07d", call))","tracking_number":"+15555550100",\
        "business_number":"+15555550199","status":"answered","dial_status":"completed",\
        "tracking_label":"Fault suite","source":"Google Ads","name":"Caller \(call)",\
        "updated_at":\(started + 600 + version * 600),"tag_list":["fault","v\(version)"]}
        """
        return Array(json.utf8)
    }

    /// Delivers all of `deliveries` with `concurrency` senders, each retrying until a 2xx or until
    /// `deadline` (then it gives up, and the delivery stays unacknowledged: a failure of the test).
    func deliver(_ deliveries: [Delivery], concurrency: Int = 16, deadline: Duration = .seconds(180)) {
        let next = Atomic<Int>(0)
        let end = ContinuousClock.now + deadline
        let group = DispatchGroup()
        for _ in 0..<concurrency {
            group.enter()
            Thread.detachNewThread { [self] in
                defer { group.leave() }
                let client = HTTPClient(connectTimeoutSeconds: 5, totalTimeoutSeconds: 30)
                while true {
                    let index = next.add(1, ordering: .relaxed).oldValue
                    guard index < deliveries.count else { return }
                    send(deliveries[index], index: index, client: client, until: end)
                }
            }
        }
        group.wait()
    }

    /// ``deliver(_:concurrency:deadline:)`` on a thread of its own; wait on the group for the end.
    func deliverInBackground(_ deliveries: [Delivery], concurrency: Int) -> DispatchGroup {
        let group = DispatchGroup()
        group.enter()
        Thread.detachNewThread { [self] in
            deliver(deliveries, concurrency: concurrency)
            group.leave()
        }
        return group
    }

    private func send(_ delivery: Delivery, index: Int, client: HTTPClient, until end: ContinuousClock.Instant) {
        var backoff = 0.1
        while ContinuousClock.now < end && !stopped.load(ordering: .relaxed) {
            let time = String(Int(Date().timeIntervalSince1970))
            let signature = WebhookSignature.ctm(secret: FaultStack.ctmSecret, time: time, body: delivery.body)
            let status: Int
            var acknowledged: EventRevision?
            do {
                let response = try client.request("POST", "http://\(address)/webhooks/ctm",
                                                  headers: [("Content-Type", "application/json"), ("X-CTM-Time", time),
                                                            ("X-CTM-Signature", signature)],
                                                  body: delivery.body)
                status = response.status
                if (200..<300).contains(status), let answer = try? JSONValue.parse(response.body),
                   let id = answer["event_id"]?.text, let revision = answer["revision"]?.text {
                    acknowledged = EventRevision(eventID: id, revision: revision)
                }
            } catch {
                status = 0  // connection refused or reset: the receiver is down or restarting
            }
            outcomes.withLock {
                $0[index, default: Outcome()].attempts += 1
                $0[index, default: Outcome()].statuses[status, default: 0] += 1
                if let acknowledged { $0[index, default: Outcome()].acknowledged = acknowledged }
            }
            if (200..<300).contains(status) { return }
            Thread.sleep(forTimeInterval: backoff)
            backoff = min(backoff * 2, 2)
        }
    }

    /// Makes senders give up at their next retry.
    func stop() { stopped.store(true, ordering: .relaxed) }

    var results: [Int: Outcome] { outcomes.withLock { $0 } }
    var acknowledgedCount: Int { results.values.count { $0.acknowledged != nil } }
}

/// What a set of deliveries should leave in the warehouse.
struct Expectation {
    /// The newest acknowledged version's revision of each call, by event_id.
    var latest: [String: String] = [:]
    /// Every acknowledged (event_id, revision).
    var acknowledged: Set<EventRevision> = []
    /// How many 2xx answers each acknowledged revision got (a re-send is acknowledged again).
    var acknowledgements: [EventRevision: Int] = [:]
    var unacknowledged = 0
    var attempts = 0
    var statuses: [Int: Int] = [:]

    init(_ deliveries: [WebhookVendor.Delivery], _ outcomes: [Int: WebhookVendor.Outcome]) {
        var newest: [String: Int] = [:]
        for (index, delivery) in deliveries.enumerated() {
            let outcome = outcomes[index] ?? WebhookVendor.Outcome()
            attempts += outcome.attempts
            for (status, count) in outcome.statuses { statuses[status, default: 0] += count }
            guard let ack = outcome.acknowledged else { unacknowledged += 1; continue }
            acknowledged.insert(ack)
            acknowledgements[ack, default: 0] += 1
            if delivery.version >= newest[ack.eventID, default: -1] {
                newest[ack.eventID] = delivery.version
                latest[ack.eventID] = ack.revision
            }
        }
    }

    /// Acknowledged copies the topic lacks: each 2xx is one more copy Kafka confirmed.
    func copiesMissing(from copies: [EventRevision: Int]) -> Int {
        acknowledgements.reduce(0) { $0 + max(0, $1.value - copies[$1.key, default: 0]) }
    }

    /// Compact status counts for the figures: `202:900 503:120 0:4`.
    var statusSummary: String {
        statuses.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " ")
    }
}
