import CallFeedCore

/// What every sink does first with a batch of entity records.
public enum EntityBatch {
    /// Checks every record with ``EntityRecord/validate()``, before any name reaches SQL (a record's
    /// source and entity become a table name).
    /// - Parameter sink: The sink's name for the error (`PostgresSink`, …).
    /// - Throws: ``WarehouseError`` with code 19 (a data error, so the loader dead-letters that record
    ///   alone) for the first record that fails.
    public static func validate(_ records: [EntityRecord], sink: String) throws(WarehouseError) {
        for record in records {
            do throws(EntityDecodingError) {
                try record.validate()
            } catch {
                throw WarehouseError(code: 19,
                                     reason: "\(sink): entity record \(jsonStringLiteral(record.key)) refused: \(error.reason)",
                                     isTransient: false)
            }
        }
    }

    /// The records by table: tables in the order they first appear, each with its records in batch
    /// order. Applying the version rule table by table then counts exactly as applying the whole batch
    /// one record at a time (records of different tables never share a row).
    public static func byTable(_ records: [EntityRecord]) -> [(table: String, records: [EntityRecord])] {
        var order: [String] = []
        var groups: [String: [EntityRecord]] = [:]
        for record in records {
            if groups[record.tableName] == nil { order.append(record.tableName) }
            groups[record.tableName, default: []].append(record)
        }
        return order.map { ($0, groups[$0]!) }
    }
}
