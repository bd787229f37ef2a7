import CallFeedCore

/// Writes a ``JSONValue`` back to bytes, optionally with one node replaced by raw (possibly
/// invalid) bytes or one object member written twice: the JSON-aware half of ``Mutator``.
///
/// Nodes are numbered in pre-order (the root is 0). Object keys are written sorted, so the output
/// does not depend on `Dictionary`'s per-process hash seed and a run stays reproducible.
struct JSONFuzzWriter {
    /// The node to write as ``raw`` instead of its value.
    var replacing: Int?
    /// The bytes written in place of node ``replacing``.
    var raw: [UInt8] = []
    /// An object node whose first member is written a second time, with ``raw`` as its value.
    var duplicatingKeyIn: Int?
    /// Spaces after `,` and `:` and a newline per member: the same JSON, other bytes.
    var spaced = false

    private var output: [UInt8] = []
    private var counter = 0

    /// Number of nodes in `value` (itself included).
    static func nodeCount(_ value: JSONValue) -> Int {
        switch value {
        case .array(let items): return 1 + items.reduce(0) { $0 + nodeCount($1) }
        case .object(let members): return 1 + members.values.reduce(0) { $0 + nodeCount($1) }
        default: return 1
        }
    }

    /// The bytes of `value` with this writer's edits applied.
    mutating func write(_ value: JSONValue) -> [UInt8] {
        output = []
        counter = 0
        emit(value)
        return output
    }

    private mutating func emit(_ value: JSONValue) {
        let node = counter
        counter += 1
        if node == replacing {
            output += raw
            // Keep numbering the replaced subtree's nodes so later targets stay where they were.
            counter += Self.nodeCount(value) - 1
            return
        }
        switch value {
        case .null: output += Array("null".utf8)
        case .bool(let b): output += Array((b ? "true" : "false").utf8)
        case .int(let i): output += Array(String(i).utf8)
        case .double(let d): output += Array("\(d)".utf8)
        case .string(let s): emitString(s)
        case .array(let items):
            output.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { separator(",") }
                emit(item)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            let keys = members.keys.sorted()
            for (i, key) in keys.enumerated() {
                if i > 0 { separator(",") }
                emitString(key)
                separator(":")
                emit(members[key] ?? .null)
            }
            if node == duplicatingKeyIn, let first = keys.first {
                separator(",")
                emitString(first)
                separator(":")
                output += raw
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private mutating func separator(_ character: Unicode.Scalar) {
        output.append(UInt8(ascii: character))
        if spaced { output += character == "," ? [0x0A, 0x20] : [0x20] }
    }

    private mutating func emitString(_ s: String) {
        output.append(UInt8(ascii: "\""))
        defer { output.append(UInt8(ascii: "\"")) }
        // Fast path: nothing to escape (most vendor strings).
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            output.append(contentsOf: s.utf8)
            return
        }
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += [0x5C, 0x22]
            case UInt8(ascii: "\\"): output += [0x5C, 0x5C]
            case 0..<0x20: output += Array("\\u00\(byte < 16 ? "0" : "")\(String(byte, radix: 16))".utf8)
            default: output.append(byte)
            }
        }
    }
}
