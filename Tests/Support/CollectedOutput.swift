import Foundation
import Synchronization

/// A pipe's text (a child process's stdout or stderr), read on a background thread as it arrives.
public final class CollectedOutput: Sendable {
    private let text = Mutex("")

    public init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            while case let data = handle.availableData, !data.isEmpty {
                let chunk = String(decoding: data, as: UTF8.self)
                text.withLock { $0 += chunk }
            }
        }
    }

    /// Everything read so far.
    public var value: String { text.withLock { $0 } }
    public var lines: [Substring] { value.split(separator: "\n") }
}
