import CallFeedCore
import Warehouse

/// A named query parameter (`@ids`, `@version`) in the REST form of `jobs.query`: values travel
/// beside the SQL text, never inside it.
public struct BigQueryQueryParameter: Sendable, Equatable {
    /// The name, without `@`.
    public var name: String
    /// The `parameterType` object (`{"type": "STRING"}`, `{"type": "ARRAY", "arrayType": …}`).
    var type: JSONValue
    /// The `parameterValue` object (`{"value": "…"}`, `{"arrayValues": […]}`).
    var value: JSONValue

    /// A `STRING` parameter.
    public static func string(_ name: String, _ value: String) -> BigQueryQueryParameter {
        BigQueryQueryParameter(name: name, type: .object(["type": .string("STRING")]),
                               value: .object(["value": .string(value)]))
    }

    /// An `INT64` parameter (sent as decimal text, as the API wants).
    public static func int64(_ name: String, _ value: Int64) -> BigQueryQueryParameter {
        BigQueryQueryParameter(name: name, type: .object(["type": .string("INT64")]),
                               value: .object(["value": .string(String(value))]))
    }

    /// A `TIMESTAMP` parameter, in ``Warehouse/CallRow/text(_:)``'s form (`2024-05-01T10:02:05.250Z`).
    public static func timestamp(_ name: String, _ value: Timestamp) -> BigQueryQueryParameter {
        BigQueryQueryParameter(name: name, type: .object(["type": .string("TIMESTAMP")]),
                               value: .object(["value": .string(CallRow.text(value))]))
    }

    /// An `ARRAY<STRING>` parameter, for `x IN UNNEST(@name)`.
    public static func stringArray(_ name: String, _ values: [String]) -> BigQueryQueryParameter {
        BigQueryQueryParameter(
            name: name,
            type: .object(["type": .string("ARRAY"), "arrayType": .object(["type": .string("STRING")])]),
            value: .object(["arrayValues": .array(values.map { .object(["value": .string($0)]) })]))
    }

    /// The REST object: `{"name": …, "parameterType": …, "parameterValue": …}`.
    var json: JSONValue {
        .object(["name": .string(name), "parameterType": type, "parameterValue": value])
    }
}
