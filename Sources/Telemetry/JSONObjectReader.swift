/// One JSON object's top-level members, read with the batch decoder's reader (RFC 8259, the same
/// number and string rules, no Foundation): for the agent's outbox rows and the server's answers,
/// where a `[String: Any]` from JSONSerialization would pull all of Foundation into the agent.
public enum JSONObjectReader {
    /// A member's value, as far as the agent needs to tell them apart.
    public enum Member: Sendable, Equatable {
        case string(String)
        /// A number; `unsignedInteger` when it is written as digits only and fits 64 bits.
        case number(Double, unsignedInteger: UInt64?)
        case bool(Bool)
        case null
        /// An array or an object (checked for syntax, not kept).
        case composite
    }

    /// The members of `bytes` when they are exactly one JSON object (the last of a repeated name
    /// counts); nil for anything else, including nesting deeper than `BatchBytesDecoder.maximumDepth`.
    public static func members(_ bytes: [UInt8]) -> [String: Member]? {
        bytes.withUnsafeBytes { raw in
            var members: [String: Member] = [:]
            let parsed = parseObject(raw) { (key: String, reader: inout BatchBytesDecoder.Reader) throws(BatchBytesDecoder.Malformed) in
                members[key] = try reader.member()
            }
            return parsed ? members : nil
        }
    }

    /// The fields of one record stored as a JSON object (`TelemetryRecord.jsonObjectText()`); nil
    /// when `bytes` are not one JSON object. Validate them with `TelemetryRecord(validating:)`.
    public static func recordFields(_ bytes: [UInt8]) -> RecordFields? {
        bytes.withUnsafeBytes { raw in
            var fields = RecordFields()
            let parsed = parseObject(raw) { (key: String, reader: inout BatchBytesDecoder.Reader) throws(BatchBytesDecoder.Malformed) in
                if let known = RecordFields.Key(rawValue: key) {
                    fields[known] = try reader.fieldValue()
                } else {
                    try reader.skipValue(depth: 1)
                }
            }
            return parsed ? fields : nil
        }
    }

    private static func parseObject(
        _ raw: UnsafeRawBufferPointer,
        _ member: (String, inout BatchBytesDecoder.Reader) throws(BatchBytesDecoder.Malformed) -> Void
    ) -> Bool {
        var reader = BatchBytesDecoder.Reader(bytes: raw)
        do {
            reader.skipWhitespace()
            guard reader.peek() == UInt8(ascii: "{") else { return false }
            try reader.object(depth: 0, member)
            reader.skipWhitespace()
            return reader.atEnd
        } catch {
            return false
        }
    }
}

extension BatchBytesDecoder.Reader {
    /// A top-level member's value, booleans with their value.
    mutating func member() throws(BatchBytesDecoder.Malformed) -> JSONObjectReader.Member {
        switch peek() {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "{"), UInt8(ascii: "["): try skipValue(depth: 1); return .composite
        default:
            guard case .number(let value, let integer) = try number() else { throw BatchBytesDecoder.Malformed() }
            return .number(value, unsignedInteger: integer)
        }
    }
}
