import CallFeedCore
import Foundation
import Logging
import Synchronization

/// When a source is polled.
public enum PollSchedule: Sendable, Equatable {
    /// Every interval, the first run at start.
    case every(Duration)
    /// Once a day at this many minutes after midnight UTC (seed 000's nightly jobs).
    case dailyAt(minutesUTC: Int)

    /// The next run time after `time`.
    func next(after time: Date) -> Date {
        switch self {
        case .every(let interval):
            return time.addingTimeInterval(Double(interval.components.seconds))
        case .dailyAt(let minutes):
            let day = floor(time.timeIntervalSince1970 / 86_400) * 86_400
            var candidate = Date(timeIntervalSince1970: day + Double(minutes * 60))
            if candidate <= time { candidate.addTimeInterval(86_400) }
            return candidate
        }
    }
}

/// Runs each poller on its own thread on its schedule. A source whose credentials are refused
/// stops (with an error naming the credential); every other failure is logged and retried at the
/// next run; other sources keep running either way.
public final class PollScheduler: Sendable {
    public struct Job: Sendable {
        public var poller: any ScheduledPoll
        public var schedule: PollSchedule
        public init(poller: any ScheduledPoll, schedule: PollSchedule) { self.poller = poller; self.schedule = schedule }
    }

    let jobs: [Job]
    let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    public init(jobs: [Job], logger: Logger) {
        self.jobs = jobs
        self.logger = logger
        for job in jobs {
            job.poller.isCancelled = { [weak self] in self?.stopping.load(ordering: .acquiring) ?? true }
        }
    }

    public func start() {
        for job in jobs {
            let thread = Thread { [self] in
                run(job)
                finished.signal()
            }
            thread.name = "poll-\(job.poller.jobName)"
            thread.start()
        }
    }

    /// Asks every poller to stop after its page in hand (published, acknowledged, cursor saved)
    /// and waits for them, at most until `deadline`.
    ///
    /// A poller still busy at the deadline (a slow vendor request, Kafka not acknowledging) keeps
    /// its thread; its page's cursor is not saved, so the next run reads the page again.
    /// - Parameter deadline: nil waits as long as it takes.
    /// - Returns: true if every poller stopped; false if some were still running at the deadline
    ///   (then keep the producer and the state store open: those threads may still use them).
    @discardableResult
    public func stop(deadline: ContinuousClock.Instant? = nil) -> Bool {
        stopping.store(true, ordering: .releasing)
        for _ in jobs { wake.signal() }
        for _ in jobs {
            guard let deadline else { finished.wait(); continue }
            let left = max(0, Double((deadline - .now) / .milliseconds(1)) / 1000)
            if finished.wait(timeout: .now() + left) == .timedOut { return false }
        }
        return true
    }

    private func run(_ job: Job) {
        let name = job.poller.jobName
        var next = Date()
        while !stopping.load(ordering: .acquiring) {
            let wait = next.timeIntervalSinceNow
            if wait > 0 {
                _ = wake.wait(timeout: .now() + wait)
                continue
            }
            do {
                try job.poller.runScheduled()
            } catch where error.kind == .credentials {
                logger.error("source stopped: credentials refused", metadata: ["source": "\(name)", "error": "\(error.reason)"])
                return
            } catch where error.kind == .cancelled {
                return
            } catch {
                logger.error("poll run failed; will retry at the next run", metadata: ["source": "\(name)", "error": "\(error.reason)"])
            }
            next = job.schedule.next(after: Date())
        }
    }
}

/// A poller the scheduler can run: one run per call, stopping between pages when cancelled.
public protocol ScheduledPoll: AnyObject, Sendable {
    /// Names the job in logs and thread names (`<source>` or `<source>:entities`).
    var jobName: String { get }
    var isCancelled: @Sendable () -> Bool { get set }
    func runScheduled() throws(PollError)
}

extension CallPoller: ScheduledPoll {
    public var jobName: String { source.name }
    public func runScheduled() throws(PollError) { try sync() }
}

extension EntityPoller: ScheduledPoll {
    public var jobName: String { name + ":entities" }
    public func runScheduled() throws(PollError) { try sync() }
}
