/// What a `calls` column holds (``CallRow/kinds``). Each sink picks its own type for a kind and
/// renders it back to the same ``WarehouseValue`` in its dump.
public enum ColumnKind: Sendable, Equatable {
    /// Text (`.text`).
    case text
    /// A 64-bit integer (`.integer`).
    case integer
    /// An instant, dumped as ``CallRow/text(_:)`` (`2020-04-05T10:23:32.000Z`, `.text`).
    case timestamp
    /// A boolean, dumped as `.integer(0)` or `.integer(1)`.
    case flag
    /// A list of strings, dumped as ``CallRow/jsonArray(_:)`` text (`["a","b"]`).
    case stringArray
}

/// A warehouse that can list its `calls` table in the canonical form, so that the same events
/// loaded into two sinks can be compared line by line (the conformance suite does).
public protocol CanonicalDumping {
    /// Every `calls` row as one line (``CanonicalDump/line(_:)``), sorted by `event_id` byte order.
    /// - Throws: ``WarehouseError`` if the table cannot be read.
    func canonicalDump() throws(WarehouseError) -> [String]
}

/// The canonical dump's format, shared by every sink.
public enum CanonicalDump {
    /// `column=value` for every column of ``CallRow/canonicalColumns``, separated by single spaces.
    /// Values: `null`, an integer in decimal, or text as a JSON string literal.
    /// - Parameter values: One value per canonical column, in that order.
    public static func line(_ values: [WarehouseValue]) -> String {
        precondition(values.count == CallRow.canonicalColumns.count, "one value per canonical column")
        return zip(CallRow.canonicalColumns, values).map { "\($0)=\($1)" }.joined(separator: " ")
    }

    /// The lines of `rows` (each aligned with ``CallRow/canonicalColumns``, `event_id` first), ordered
    /// by `event_id` bytes, whatever order or collation the warehouse returned them in.
    public static func lines(_ rows: [[WarehouseValue]]) -> [String] {
        rows.map { (key: eventIDBytes($0.first), line: line($0)) }
            .sorted { $0.key.lexicographicallyPrecedes($1.key) }
            .map(\.line)
    }

    private static func eventIDBytes(_ value: WarehouseValue?) -> [UInt8] {
        if case .text(let text)? = value { return Array(text.utf8) }
        return []
    }
}
