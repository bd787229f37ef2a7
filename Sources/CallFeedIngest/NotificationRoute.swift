import CallFeedCore
import CallFeedVendors
import Dispatch
import Synchronization

/// A webhook that only *names* what changed (HubSpot's CRM notifications): its body carries ids,
/// not calls. The receiver authenticates it like any route (``WebhookRoute/authenticate(_:now:)``),
/// asks ``resolve(_:source:)`` for the ids, then — on its ``NotificationWorker``, never on the
/// server's thread — has ``fetch(_:source:)`` read the current records from the vendor's API, maps
/// each with ``WebhookRoute/content(from:source:)`` and publishes them (channel `webhook`).
///
/// `content(from:source:)` of a notification route maps **one fetched record**, not the body.
public protocol NotificationRoute: WebhookRoute {
    /// The distinct ids of the records an authenticated, parsed body names, in order; empty when
    /// nothing in it is worth a fetch (the body is then acknowledged as it is).
    /// - Throws: ``MappingError`` for a body that is not a notification batch (dead-lettered, 400).
    func resolve(_ payload: JSONValue, source: WebhookSource) throws(MappingError) -> [String]
    /// The current records of `ids` from the vendor's API. Blocks; the receiver calls it on its
    /// worker only. Records the vendor no longer has are left out.
    /// - Throws: Anything, when the API cannot answer now (unreachable, 5xx, 429, our credentials
    ///   refused): the receiver answers 503 so that the vendor redelivers.
    func fetch(_ ids: [String], source: WebhookSource) throws -> [JSONValue]
}

/// Where the receiver runs blocking notification work: one serial queue, with at most ``limit``
/// jobs waiting or running. Over the limit ``submit(_:)`` refuses (the receiver answers 503 and
/// the vendor redelivers later), so a burst of deliveries cannot pile up threads or memory.
public final class NotificationWorker: Sendable {
    /// Jobs accepted at once (running plus waiting).
    public let limit: Int
    private let queue: DispatchQueue
    private let pending = Mutex(0)

    /// - Parameters:
    ///   - label: The queue's label (seen in thread dumps).
    ///   - limit: Jobs accepted at once, at least 1.
    public init(label: String = "callfeed.ingest.notifications", limit: Int = 8) {
        self.limit = max(1, limit)
        self.queue = DispatchQueue(label: label)
    }

    /// Queues `job`, or returns false when ``limit`` jobs are already pending.
    public func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        let accepted = pending.withLock { count -> Bool in
            guard count < limit else { return false }
            count += 1
            return true
        }
        guard accepted else { return false }
        queue.async { [self] in
            job()
            pending.withLock { $0 -= 1 }
        }
        return true
    }

    /// Jobs accepted and not yet finished.
    public var pendingCount: Int { pending.withLock { $0 } }
}
