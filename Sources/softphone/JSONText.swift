import FoundationEssentials

/// JSON for the softphone's plain values (`[String: Any]` of String, Bool, Int, UInt64, Double,
/// arrays and objects): the event lines and the account file, without Foundation's
/// JSONSerialization (the onboard programs load FoundationEssentials only; docs/performance.md).
enum JSONText {
    /// Compact JSON with object keys sorted (as JSONSerialization's `.sortedKeys` wrote it).
    static func encode(_ value: Any?) -> String {
        var out = ""
        write(value, to: &out)
        return out
    }

    private static func write(_ value: Any?, to out: inout String) {
        switch value {
        case nil: out += "null"
        case let v as String: string(v, to: &out)
        case let v as Bool: out += v ? "true" : "false"
        case let v as Int: out += String(v)
        case let v as UInt64: out += String(v)
        case let v as Int64: out += String(v)
        case let v as UInt32: out += String(v)
        case let v as UInt16: out += String(v)
        case let v as Double:
            if !v.isFinite { out += "null" }
            else if v == v.rounded(), abs(v) < 1e15 { out += String(Int64(v)) }
            else { out += "\(v)" }
        case let v as [String: Any]:
            out += "{"
            for (i, key) in v.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                string(key, to: &out)
                out += ":"
                write(v[key]!, to: &out)
            }
            out += "}"
        case let v as [Any]:
            out += "["
            for (i, element) in v.enumerated() {
                if i > 0 { out += "," }
                write(element, to: &out)
            }
            out += "]"
        case let v?: string(String(describing: v), to: &out)
        }
    }

    private static func string(_ s: String, to out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }

    /// A JSON document as plain values: objects as `[String: Any]`, arrays as `[Any]`, integral
    /// numbers as `Int`, others as `Double`, `null` as nil (left out of objects).
    static func decode(_ bytes: [UInt8]) throws -> Any? {
        try JSONDecoder().decode(Tree.self, from: Data(bytes)).plain
    }

    private enum Tree: Decodable {
        case bool(Bool), number(Double), string(String), array([Tree]), object([String: Tree]), null

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let n = try? c.decode(Double.self) { self = .number(n) }
            else if let s = try? c.decode(String.self) { self = .string(s) }
            else if let a = try? c.decode([Tree].self) { self = .array(a) }
            else { self = .object(try c.decode([String: Tree].self)) }
        }

        var plain: Any? {
            switch self {
            case .bool(let b): b
            case .number(let n): n == n.rounded() && abs(n) < 9e15 ? Int(n) : n
            case .string(let s): s
            case .array(let a): a.compactMap(\.plain)
            case .object(let o): o.compactMapValues(\.plain)
            case .null: nil
            }
        }
    }
}
