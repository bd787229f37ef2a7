/// Why a ``WarehouseSink`` could not do what was asked.
///
/// The loader decides with ``isTransient`` what happens to the batch: a transient error (the database
/// is busy or locked, an I/O error, the disk is full) means "retry the same batch later"; any other error
/// means retrying the same batch would fail the same way.
public struct WarehouseError: Error, Sendable, CustomStringConvertible {
    /// The backend's own numeric code. For ``SQLiteSink`` this is the SQLite *extended* result code
    /// (`code & 0xFF` is the primary code, e.g. `5` = `SQLITE_BUSY`, `2067` = `SQLITE_CONSTRAINT_UNIQUE`).
    public var code: Int32
    /// What failed, in words: the backend's message and what the sink was doing.
    public var reason: String
    /// Whether the same call may succeed if retried unchanged (busy, locked, I/O, disk full).
    public var isTransient: Bool
    /// Where the error was made (`#fileID`).
    public var file: String
    /// Where the error was made (`#line`).
    public var line: UInt

    /// Makes an error.
    /// - Parameters:
    ///   - code: The backend's numeric code.
    ///   - reason: What failed, in words.
    ///   - isTransient: Whether retrying the same call unchanged may succeed.
    public init(code: Int32, reason: String, isTransient: Bool, file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.reason = reason
        self.isTransient = isTransient
        self.file = file
        self.line = line
    }

    public var description: String {
        "\(reason) (code \(code)\(isTransient ? ", transient" : ""); \(file):\(line))"
    }
}

extension WarehouseError {
    /// The data itself was refused (constraint violation, type mismatch, value too big), so
    /// writing the events one by one and dead-lettering those still refused is right. Anything
    /// else that is not transient (a corrupt file, a misconfiguration) is not the events' fault:
    /// the loader keeps retrying and alerts instead of dead-lettering good data. Codes are SQLite's
    /// primary result codes (TOOBIG 18, CONSTRAINT 19, MISMATCH 20); other sinks map to them.
    public var isDataError: Bool { [18, 19, 20].contains(code & 0xFF) }
}
