import CallFeedCore
import Foundation

/// A validator for the subset of JSON Schema (draft 2020-12) that `schemas/call_event.v1.json` uses.
///
/// Supported keywords: `type` (a name or an array of names, `"null"` included), `enum`, `const`,
/// `required`, `properties`, `additionalProperties` (`false` or a schema), `items`, `uniqueItems`,
/// `minLength`, `minimum`, `pattern` (unanchored, `NSRegularExpression`), `format: "date-time"`
/// (asserted: RFC 3339 that names a real instant) and local `$ref` (`#/$defs/...`). Annotations
/// (`$schema`, `$id`, `$defs`, `title`, `description`, `$comment`, `examples`, `default`) are
/// ignored. Any other keyword or format is reported as an error, so a schema can never claim more
/// than this validator checks.
///
/// Shared by the test targets (target `CallFeedTestSupport`, in Tests/Support).
public struct SchemaValidator: Sendable {
    /// The whole schema document, for resolving `$ref`.
    public let root: JSONValue

    private static let annotations: Set<String> = [
        "$schema", "$id", "$defs", "title", "description", "$comment", "examples", "default",
    ]
    private static let rfc3339 =
        #"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"#

    public init(schema: JSONValue) {
        self.root = schema
    }

    /// Loads a schema file.
    public init(contentsOf url: URL) throws {
        self.root = try JSONValue.parse(Array(try Data(contentsOf: url)))
    }

    /// Every way `instance` breaks the schema, each as `"<JSON pointer>: <problem>"`, sorted; empty when valid.
    public func validate(_ instance: JSONValue) -> [String] {
        var errors: [String] = []
        check(instance, against: root, at: "", errors: &errors)
        return errors.sorted()
    }

    /// Validates JSON bytes (as published) against the schema.
    public func validate(bytes: some Collection<UInt8>) -> [String] {
        do {
            return validate(try JSONValue.parse(bytes))
        } catch {
            return ["(document): \(error)"]
        }
    }

    // MARK: - Keywords

    private func check(_ instance: JSONValue, against schema: JSONValue, at path: String, errors: inout [String]) {
        func fail(_ message: String) { errors.append("\(path.isEmpty ? "/" : path): \(message)") }

        if case .bool(let allowed) = schema {
            if !allowed { fail("no value is allowed here") }
            return
        }
        guard let keywords = schema.objectValue else {
            fail("schema is not an object or boolean")
            return
        }
        for (keyword, value) in keywords.sorted(by: { $0.key < $1.key }) {
            switch keyword {
            case "$ref":
                guard let target = value.text.flatMap(resolve) else {
                    fail("unresolvable $ref \(value.text ?? "?")")
                    continue
                }
                check(instance, against: target, at: path, errors: &errors)
            case "type":
                let names = value.arrayValue?.compactMap(\.text) ?? value.text.map { [$0] } ?? []
                if !names.contains(where: { Self.instance(instance, hasType: $0) }) {
                    fail("expected type \(names.joined(separator: " or ")), got \(Self.typeName(of: instance))")
                }
            case "enum":
                let options = value.arrayValue ?? []
                if !options.contains(where: { Self.equal($0, instance) }) {
                    fail("\(Self.show(instance)) is not one of \(options.map(Self.show).joined(separator: ", "))")
                }
            case "const":
                if !Self.equal(value, instance) { fail("\(Self.show(instance)) is not \(Self.show(value))") }
            case "required":
                guard let members = instance.objectValue else { continue }
                for name in value.arrayValue?.compactMap(\.text) ?? [] where members[name] == nil {
                    fail("missing required property \"\(name)\"")
                }
            case "properties":
                guard let members = instance.objectValue, let properties = value.objectValue else { continue }
                for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                    if let propertySchema = properties[name] {
                        check(member, against: propertySchema, at: "\(path)/\(name)", errors: &errors)
                    }
                }
            case "additionalProperties":
                guard let members = instance.objectValue else { continue }
                let declared = Set(keywords["properties"]?.objectValue.map { Array($0.keys) } ?? [])
                for (name, member) in members.sorted(by: { $0.key < $1.key }) where !declared.contains(name) {
                    if value == .bool(false) {
                        fail("property \"\(name)\" is not allowed")
                    } else {
                        check(member, against: value, at: "\(path)/\(name)", errors: &errors)
                    }
                }
            case "items":
                guard let items = instance.arrayValue else { continue }
                for (index, item) in items.enumerated() {
                    check(item, against: value, at: "\(path)/\(index)", errors: &errors)
                }
            case "uniqueItems":
                guard value == .bool(true), let items = instance.arrayValue else { continue }
                for (index, item) in items.enumerated() where items[..<index].contains(where: { Self.equal($0, item) }) {
                    fail("item \(index) \(Self.show(item)) repeats an earlier item")
                }
            case "minLength":
                guard case .string(let text) = instance, let minimum = value.integer else { continue }
                if text.unicodeScalars.count < minimum { fail("\(Self.show(instance)) is shorter than \(minimum)") }
            case "minimum":
                guard let number = Self.number(instance), let minimum = Self.number(value) else { continue }
                if number < minimum { fail("\(Self.show(instance)) is less than \(Self.show(value))") }
            case "pattern":
                guard case .string(let text) = instance else { continue }
                guard let source = value.text, let regex = try? NSRegularExpression(pattern: source) else {
                    fail("invalid pattern \(Self.show(value))")
                    continue
                }
                if !Self.matches(regex, text) { fail("\(Self.show(instance)) does not match \(source)") }
            case "format":
                guard value.text == "date-time" else {
                    fail("unsupported format \(Self.show(value))")
                    continue
                }
                guard case .string(let text) = instance else { continue }
                let shaped = (try? NSRegularExpression(pattern: Self.rfc3339)).map { Self.matches($0, text) } ?? false
                if !shaped || Timestamp.parseISO8601(text) == nil {
                    fail("\(Self.show(instance)) is not an RFC 3339 date-time")
                }
            default:
                if !Self.annotations.contains(keyword) { fail("unsupported schema keyword \"\(keyword)\"") }
            }
        }
    }

    /// The subschema a local reference (`#`, `#/$defs/name`) points at.
    private func resolve(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#") else { return nil }
        var current: JSONValue? = root
        for token in reference.dropFirst().split(separator: "/", omittingEmptySubsequences: true) {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            current = current?[key]
        }
        return current
    }

    // MARK: - Helpers

    private static func instance(_ value: JSONValue, hasType name: String) -> Bool {
        switch (name, value) {
        case ("null", .null), ("boolean", .bool), ("object", .object), ("array", .array), ("string", .string):
            true
        case ("number", .int), ("number", .double), ("integer", .int):
            true
        case ("integer", .double(let d)):
            d.rounded() == d
        default:
            false
        }
    }

    private static func typeName(of value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .int: "integer"
        case .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    private static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }

    /// JSON equality: numbers compare by value (`1` equals `1.0`), everything else structurally.
    private static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let x = number(a), let y = number(b) { return x == y }
        switch (a, b) {
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { equal(value, $0) } ?? false }
        default:
            return a == b
        }
    }

    private static func matches(_ regex: NSRegularExpression, _ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    private static func show(_ value: JSONValue) -> String {
        guard let data = try? JSONEncoder().encode(value) else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }
}

extension SchemaValidator {
    /// `schemas/call_event.v1.json` of this checkout.
    public static let callEventV1URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("schemas/call_event.v1.json")

    public static func callEventV1() throws -> SchemaValidator { try SchemaValidator(contentsOf: callEventV1URL) }
}
