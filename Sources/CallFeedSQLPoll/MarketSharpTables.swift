/// MarketSharp (seed 001: a CRM on Microsoft SQL Server, read directly through ``FreeTDSReader``).
///
/// The seed names no MarketSharp tables or columns, and MarketSharp publishes no schema, so none
/// are defaulted: every table is configured under `sources.marketsharp[].tables`
/// (docs/pollers-genius.md), e.g. `contacts: {table: dbo.Contact, key: [ContactId], modified: LastUpdate}`.
public enum MarketSharpTables {
    public static let vendor = "marketsharp"
    public static let defaults: [SQLTable] = []
}
