/// Reads a telemetry batch (`{"records": [...]}`) straight from the request's bytes: one pass, no
/// intermediate tree of objects, only the fields the API knows kept (as `RecordFields`). The whole
/// body must be valid JSON (RFC 8259) before any record is judged, as with a general JSON parser:
/// a broken body is `notJSON` even when an earlier record is invalid too; so is a number beyond a
/// Double's range (JSONSerialization's rule, kept). Nesting deeper than
/// `maximumDepth` is refused as not JSON (a body of brackets must not exhaust the stack).
public enum BatchBytesDecoder {
    /// What the body's `records` member was.
    public enum Decoded: Sendable, Equatable {
        /// No `records` member, or one that is not an array.
        case noRecordsArray
        /// The array's elements: the fields of each object, nil for an element that is not an object.
        case array([RecordFields?])
    }

    public static let maximumDepth = 64

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(BatchValidationError) -> Decoded {
        var reader = Reader(bytes: bytes)
        do {
            reader.skipWhitespace()
            guard reader.peek() == UInt8(ascii: "{") else {
                // Valid JSON that is not an object (an array, a number…) is told apart from garbage.
                try reader.skipValue(depth: 0)
                reader.skipWhitespace()
                guard reader.atEnd else { throw Malformed() }
                throw BatchValidationError.notAnObject
            }
            var records = Decoded.noRecordsArray
            try reader.object(depth: 0) { (key: String, reader: inout Reader) throws(Malformed) in
                if key == "records" && reader.peek() == UInt8(ascii: "[") {
                    records = .array(try reader.recordsArray())
                } else {
                    if key == "records" { records = .noRecordsArray }  // the last member of that name counts
                    try reader.skipValue(depth: 1)
                }
            }
            reader.skipWhitespace()
            guard reader.atEnd else { throw Malformed() }
            return records
        } catch let error as BatchValidationError {
            throw error
        } catch {
            throw .notJSON
        }
    }

    struct Malformed: Error {}

    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var i = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        var atEnd: Bool { i >= bytes.count }

        func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

        mutating func skipWhitespace() {
            while i < bytes.count {
                switch bytes[i] {
                case 0x20, 0x09, 0x0A, 0x0D: i += 1
                default: return
                }
            }
        }

        mutating func expect(_ byte: UInt8) throws(Malformed) {
            guard i < bytes.count, bytes[i] == byte else { throw Malformed() }
            i += 1
        }

        mutating func literal(_ text: StaticString) throws(Malformed) {
            let count = text.utf8CodeUnitCount
            guard bytes.count - i >= count else { throw Malformed() }
            for k in 0..<count where bytes[i + k] != text.utf8Start[k] { throw Malformed() }
            i += count
        }

        /// `{ "key": value, … }`, calling `member` with the reader at each value.
        mutating func object(depth: Int, _ member: (String, inout Reader) throws(Malformed) -> Void) throws(Malformed) {
            guard depth < BatchBytesDecoder.maximumDepth else { throw Malformed() }
            try expect(UInt8(ascii: "{"))
            skipWhitespace()
            if peek() == UInt8(ascii: "}") { i += 1; return }
            while true {
                skipWhitespace()
                let key = try string()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                try member(key, &self)
                skipWhitespace()
                guard let next = peek() else { throw Malformed() }
                i += 1
                if next == UInt8(ascii: "}") { return }
                guard next == UInt8(ascii: ",") else { throw Malformed() }
            }
        }

        /// The `records` array: each element an object's known fields, or nil when it is no object.
        mutating func recordsArray() throws(Malformed) -> [RecordFields?] {
            try expect(UInt8(ascii: "["))
            var out: [RecordFields?] = []
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { i += 1; return out }
            while true {
                skipWhitespace()
                if peek() == UInt8(ascii: "{") {
                    var fields = RecordFields()
                    try object(depth: 2) { (key: String, reader: inout Reader) throws(Malformed) in
                        if let known = RecordFields.Key(rawValue: key) {
                            fields[known] = try reader.fieldValue()
                        } else {
                            try reader.skipValue(depth: 3)
                        }
                    }
                    out.append(fields)
                } else {
                    try skipValue(depth: 2)
                    out.append(nil)
                }
                skipWhitespace()
                guard let next = peek() else { throw Malformed() }
                i += 1
                if next == UInt8(ascii: "]") { return out }
                guard next == UInt8(ascii: ",") else { throw Malformed() }
            }
        }

        /// A known field's value (composites are checked for syntax and reported as such).
        mutating func fieldValue() throws(Malformed) -> RecordFields.Value {
            switch peek() {
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "t"): try literal("true"); return .boolean
            case UInt8(ascii: "f"): try literal("false"); return .boolean
            case UInt8(ascii: "{"), UInt8(ascii: "["): try skipValue(depth: 3); return .composite
            default: return try number()
            }
        }

        /// Any value, checked and passed over.
        mutating func skipValue(depth: Int) throws(Malformed) {
            guard depth < BatchBytesDecoder.maximumDepth else { throw Malformed() }
            switch peek() {
            case UInt8(ascii: "{"):
                try object(depth: depth) { (_: String, reader: inout Reader) throws(Malformed) in try reader.skipValue(depth: depth + 1) }
            case UInt8(ascii: "["):
                i += 1
                skipWhitespace()
                if peek() == UInt8(ascii: "]") { i += 1; return }
                while true {
                    skipWhitespace()
                    try skipValue(depth: depth + 1)
                    skipWhitespace()
                    guard let next = peek() else { throw Malformed() }
                    i += 1
                    if next == UInt8(ascii: "]") { return }
                    guard next == UInt8(ascii: ",") else { throw Malformed() }
                }
            case UInt8(ascii: "\""): _ = try string()
            case UInt8(ascii: "n"): try literal("null")
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            default: _ = try number()
            }
        }

        /// A number per RFC 8259: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
        mutating func number() throws(Malformed) -> RecordFields.Value {
            let start = i
            var digitsOnly = true
            if peek() == UInt8(ascii: "-") { i += 1; digitsOnly = false }
            guard let first = peek(), isDigit(first) else { throw Malformed() }
            i += 1
            if first != UInt8(ascii: "0") { while let d = peek(), isDigit(d) { i += 1 } }
            if peek() == UInt8(ascii: ".") {
                digitsOnly = false
                i += 1
                guard let d = peek(), isDigit(d) else { throw Malformed() }
                while let d = peek(), isDigit(d) { i += 1 }
            }
            if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
                digitsOnly = false
                i += 1
                if let sign = peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { i += 1 }
                guard let d = peek(), isDigit(d) else { throw Malformed() }
                while let d = peek(), isDigit(d) { i += 1 }
            }
            let text = UnsafeRawBufferPointer(rebasing: bytes[start..<i])
            // A number too large for a Double is refused as JSONSerialization refuses it (not as infinity).
            guard let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite else { throw Malformed() }
            var integer: UInt64? = nil
            if digitsOnly {
                var n: UInt64 = 0
                integer = 0
                for d in text {
                    let (times10, o1) = n.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = times10.addingReportingOverflow(UInt64(d &- 0x30))
                    if o1 || o2 { integer = nil; break }
                    n = sum
                }
                if integer != nil { integer = n }
            }
            return .number(value, unsignedInteger: integer)
        }

        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

        /// A string: escapes decoded, control characters and invalid UTF-8 refused.
        mutating func string() throws(Malformed) -> String {
            try expect(UInt8(ascii: "\""))
            let start = i
            // The common case: no escapes, one slice.
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "\"") {
                    let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<i])
                    i += 1
                    guard let s = String(validating: slice, as: UTF8.self) else { throw Malformed() }
                    return s
                }
                if b == UInt8(ascii: "\\") { break }
                guard b >= 0x20 else { throw Malformed() }
                i += 1
            }
            var out: [UInt8] = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
            while i < bytes.count {
                let b = bytes[i]
                i += 1
                switch b {
                case UInt8(ascii: "\""):
                    guard let s = String(validating: out, as: UTF8.self) else { throw Malformed() }
                    return s
                case UInt8(ascii: "\\"):
                    guard let e = peek() else { throw Malformed() }
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800...0xDBFF).contains(scalar) {
                            // A high surrogate must be followed by an escaped low one.
                            try literal("\\u")
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw Malformed() }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalar) {
                            throw Malformed()
                        }
                        guard let u = Unicode.Scalar(scalar) else { throw Malformed() }
                        out.append(contentsOf: Array(String(Character(u)).utf8))
                    default:
                        throw Malformed()
                    }
                default:
                    guard b >= 0x20 else { throw Malformed() }
                    out.append(b)
                }
            }
            throw Malformed()
        }

        mutating func hex4() throws(Malformed) -> UInt32 {
            guard bytes.count - i >= 4 else { throw Malformed() }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[i]
                i += 1
                let d: UInt32
                switch b {
                case 0x30...0x39: d = UInt32(b - 0x30)
                case 0x41...0x46: d = UInt32(b - 0x41 + 10)
                case 0x61...0x66: d = UInt32(b - 0x61 + 10)
                default: throw Malformed()
                }
                v = v << 4 | d
            }
            return v
        }
    }
}
