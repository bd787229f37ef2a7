import CallFeedCore
import Foundation

/// Whether a schema is an additive-only evolution of a baseline (docs/call-event.md, "Schema
/// evolution"): every event the baseline accepted still validates, and every field a consumer of
/// the baseline reads is still there with the same type and meaning.
///
/// Allowed: new optional properties, new `$defs`, new enum values, changed `description` /
/// `title` / `$comment` / `examples`. Breaking (each reported with its JSON path): a removed
/// property or definition, a changed `type` / `$ref` / `format` / `pattern` / `const` /
/// `minLength` / `minimum` / `uniqueItems` / `additionalProperties`, a removed enum value, a
/// changed `required` list, a changed `items`.
public enum SchemaCompatibility {
    private static let annotations: Set<String> = ["description", "title", "$comment", "examples", "default", "$id", "$schema"]
    /// Keywords whose value must not change at all.
    private static let exact: Set<String> = ["type", "$ref", "format", "pattern", "const", "minLength", "minimum", "uniqueItems", "required"]

    /// The breaking changes from `baseline` to `current`; empty when `current` is compatible.
    public static func breakingChanges(from baseline: JSONValue, to current: JSONValue) -> [String] {
        var problems: [String] = []
        compare(baseline, current, path: "#", into: &problems)
        return problems
    }

    private static func compare(_ old: JSONValue, _ new: JSONValue, path: String, into problems: inout [String]) {
        guard let oldMembers = old.objectValue else {
            if old != new { problems.append("\(path): changed from \(text(old)) to \(text(new))") }
            return
        }
        guard let newMembers = new.objectValue else {
            problems.append("\(path): is no longer a schema object")
            return
        }
        for (keyword, oldValue) in oldMembers.sorted(by: { $0.key < $1.key }) where !annotations.contains(keyword) {
            let at = "\(path)/\(keyword)"
            let newValue = newMembers[keyword]
            switch keyword {
            case "properties", "$defs":
                let oldChildren = oldValue.objectValue ?? [:]
                let newChildren = newValue?.objectValue ?? [:]
                for (name, child) in oldChildren.sorted(by: { $0.key < $1.key }) {
                    guard let replacement = newChildren[name] else {
                        problems.append("\(at)/\(name): removed")
                        continue
                    }
                    compare(child, replacement, path: "\(at)/\(name)", into: &problems)
                }
            case "enum":
                let kept = Set((newValue?.arrayValue ?? []).map(text))
                for value in oldValue.arrayValue ?? [] where !kept.contains(text(value)) {
                    problems.append("\(at): value \(text(value)) removed")
                }
            case "items", "additionalProperties":
                guard let newValue else {
                    problems.append("\(at): removed")
                    continue
                }
                if oldValue.objectValue != nil {
                    compare(oldValue, newValue, path: at, into: &problems)
                } else if oldValue != newValue {
                    problems.append("\(at): changed from \(text(oldValue)) to \(text(newValue))")
                }
            default:
                if exact.contains(keyword) || newValue == nil || oldValue != newValue {
                    if newValue != oldValue {
                        problems.append("\(at): changed from \(text(oldValue)) to \(newValue.map(text) ?? "(removed)")")
                    }
                }
            }
        }
        // A keyword the baseline did not have constrains more (a new `required`, `pattern`, `maxLength`, …).
        for keyword in newMembers.keys.sorted() where oldMembers[keyword] == nil && !annotations.contains(keyword)
            && !["properties", "$defs", "enum"].contains(keyword) {
            problems.append("\(path)/\(keyword): added (it constrains what the baseline accepted)")
        }
    }

    private static func text(_ value: JSONValue) -> String { String(decoding: value.canonicalJSONBytes, as: UTF8.self) }
}

extension SchemaCompatibility {
    /// `schemas/compat/call_event.v1.baseline.json`: the CallEvent v1 schema as first published.
    public static let callEventV1BaselineURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("schemas/compat/call_event.v1.baseline.json")
}
