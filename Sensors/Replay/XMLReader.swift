/// A small pull reader of XML 1.0, enough for GPX: elements, attributes, text, CDATA, the five
/// predefined entities and character references. Comments, processing instructions and the
/// DOCTYPE are skipped (no DTD is read, so no other entity exists). Checks well-formedness: tags
/// nest and match, one root element, no text outside it. Names are returned as written (with any
/// namespace prefix; `localName(_:)` drops it).
public struct XMLReader {
    public enum Event: Hashable, Sendable {
        case start(name: String, attributes: [String: String])
        case end(name: String)
        /// Character data (entities decoded); one run of text may come as several events.
        case text(String)
    }

    public let maximumDepth: Int
    private let bytes: [UInt8]
    private var i = 0
    private var open: [String] = []
    private var sawRoot = false
    /// The end event owed for an empty-element tag `<a/>`.
    private var pendingEnd: String?

    public init(bytes: [UInt8], maximumDepth: Int = 256) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    /// The name without its namespace prefix.
    public static func localName(_ name: String) -> Substring {
        guard let colon = name.lastIndex(of: ":") else { return name[...] }
        return name[name.index(after: colon)...]
    }

    /// The next event, nil at the end of a well-formed document.
    public mutating func next() throws(XMLReadError) -> Event? {
        if let name = pendingEnd {
            pendingEnd = nil
            return close(name)
        }
        while true {
            guard i < bytes.count else {
                if let element = open.last { throw .unexpectedEnd(inside: "<\(element)>", line: line(at: i)) }
                guard sawRoot else { throw .noRootElement }
                return nil
            }
            guard bytes[i] == Self.lt else {
                let start = i
                while i < bytes.count, bytes[i] != Self.lt { i += 1 }
                let raw = bytes[start..<i]
                if open.isEmpty {
                    guard raw.allSatisfy(Self.isSpace) else { throw .textOutsideRoot(line: line(at: start)) }
                    continue
                }
                return .text(try decode(raw, at: start))
            }
            if has("<?") {
                try skip(past: "?>", inside: "a processing instruction")
            } else if has("<!--") {
                try skip(past: "-->", inside: "a comment")
            } else if has("<![CDATA[") {
                let start = i
                guard !open.isEmpty else { throw .textOutsideRoot(line: line(at: start)) }
                i += 9
                let contentStart = i
                try skip(past: "]]>", inside: "a CDATA section")
                return .text(String(decoding: bytes[contentStart..<(i - 3)], as: UTF8.self))
            } else if has("<!") {
                try skipDeclaration()
            } else if has("</") {
                return try endTag()
            } else {
                return try startTag()
            }
        }
    }

    // MARK: - Tags

    private mutating func startTag() throws(XMLReadError) -> Event {
        let tagStart = i
        if sawRoot && open.isEmpty { throw .contentAfterRoot(line: line(at: tagStart)) }
        i += 1
        let name = try readName()
        var attributes: [String: String] = [:]
        while true {
            let hadSpace = skipSpace()
            guard i < bytes.count else { throw .unexpectedEnd(inside: "the tag <\(name)>", line: line(at: tagStart)) }
            if bytes[i] == Self.gt {
                i += 1
                break
            }
            if bytes[i] == Self.slash {
                guard i + 1 < bytes.count else { throw .unexpectedEnd(inside: "the tag <\(name)>", line: line(at: tagStart)) }
                guard bytes[i + 1] == Self.gt else { throw .badAttribute(element: name, line: line(at: i)) }
                i += 2
                pendingEnd = name
                break
            }
            guard hadSpace else { throw .badAttribute(element: name, line: line(at: i)) }
            let attribute = try readName()
            skipSpace()
            guard i < bytes.count else { throw .unexpectedEnd(inside: "the tag <\(name)>", line: line(at: tagStart)) }
            guard bytes[i] == UInt8(ascii: "=") else { throw .badAttribute(element: name, line: line(at: i)) }
            i += 1
            skipSpace()
            guard i < bytes.count else { throw .unexpectedEnd(inside: "the tag <\(name)>", line: line(at: tagStart)) }
            let quote = bytes[i]
            guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { throw .badAttribute(element: name, line: line(at: i)) }
            i += 1
            let valueStart = i
            while i < bytes.count, bytes[i] != quote {
                guard bytes[i] != Self.lt else { throw .badAttribute(element: name, line: line(at: i)) }
                i += 1
            }
            guard i < bytes.count else { throw .unexpectedEnd(inside: "the tag <\(name)>", line: line(at: tagStart)) }
            let value = try decode(bytes[valueStart..<i], at: valueStart)
            i += 1
            guard attributes.updateValue(value, forKey: attribute) == nil else {
                throw .duplicateAttribute(element: name, name: attribute, line: line(at: valueStart))
            }
        }
        guard open.count < maximumDepth else { throw .tooDeep(limit: maximumDepth, line: line(at: tagStart)) }
        sawRoot = true
        open.append(name)
        return .start(name: name, attributes: attributes)
    }

    private mutating func endTag() throws(XMLReadError) -> Event {
        let tagStart = i
        i += 2
        let name = try readName()
        skipSpace()
        guard i < bytes.count else { throw .unexpectedEnd(inside: "the end tag </\(name)>", line: line(at: tagStart)) }
        guard bytes[i] == Self.gt else { throw .badName(line: line(at: i)) }
        i += 1
        guard let expected = open.last else { throw .unopenedEndTag(found: name, line: line(at: tagStart)) }
        guard expected == name else { throw .mismatchedEndTag(expected: expected, found: name, line: line(at: tagStart)) }
        return close(name)
    }

    private mutating func close(_ name: String) -> Event {
        open.removeLast()
        return .end(name: name)
    }

    private mutating func readName() throws(XMLReadError) -> String {
        let start = i
        while i < bytes.count, Self.isNameByte(bytes[i]) { i += 1 }
        guard i > start else {
            if i >= bytes.count { throw .unexpectedEnd(inside: "a tag", line: line(at: start)) }
            throw .badName(line: line(at: start))
        }
        let first = bytes[start]
        guard !(first >= 0x30 && first <= 0x39), first != UInt8(ascii: "-"), first != UInt8(ascii: ".") else {
            throw .badName(line: line(at: start))
        }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    // MARK: - Skipping

    private func has(_ prefix: StaticString) -> Bool {
        let n = prefix.utf8CodeUnitCount
        guard bytes.count - i >= n else { return false }
        return prefix.withUTF8Buffer { p in
            for k in 0..<n where bytes[i + k] != p[k] { return false }
            return true
        }
    }

    private mutating func skip(past terminator: StaticString, inside what: String) throws(XMLReadError) {
        let start = i
        while i < bytes.count {
            if has(terminator) {
                i += terminator.utf8CodeUnitCount
                return
            }
            i += 1
        }
        throw .unexpectedEnd(inside: what, line: line(at: start))
    }

    /// `<!DOCTYPE ...>` (with an internal subset in brackets), only before the root.
    private mutating func skipDeclaration() throws(XMLReadError) {
        let start = i
        guard !sawRoot else { throw .badName(line: line(at: start)) }
        var brackets = 0
        var quote: UInt8?
        i += 2
        while i < bytes.count {
            let c = bytes[i]
            i += 1
            if let q = quote {
                if c == q { quote = nil }
            } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                quote = c
            } else if c == UInt8(ascii: "[") {
                brackets += 1
            } else if c == UInt8(ascii: "]") {
                brackets = max(0, brackets - 1)
            } else if c == Self.gt && brackets == 0 {
                return
            }
        }
        throw .unexpectedEnd(inside: "a declaration", line: line(at: start))
    }

    @discardableResult
    private mutating func skipSpace() -> Bool {
        let start = i
        while i < bytes.count, Self.isSpace(bytes[i]) { i += 1 }
        return i > start
    }

    // MARK: - Text

    /// Text or an attribute value with its references replaced.
    private func decode(_ raw: ArraySlice<UInt8>, at offset: Int) throws(XMLReadError) -> String {
        guard raw.contains(UInt8(ascii: "&")) else { return String(decoding: raw, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var k = raw.startIndex
        while k < raw.endIndex {
            let c = raw[k]
            guard c == UInt8(ascii: "&") else {
                out.append(c)
                k += 1
                continue
            }
            guard let semicolon = raw[k...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else {
                throw .badReference(String(decoding: raw[k...].prefix(12), as: UTF8.self), line: line(at: k))
            }
            let name = raw[(k + 1)..<semicolon]
            let text = String(decoding: name, as: UTF8.self)
            switch text {
            case "lt": out.append(Self.lt)
            case "gt": out.append(Self.gt)
            case "amp": out.append(UInt8(ascii: "&"))
            case "quot": out.append(UInt8(ascii: "\""))
            case "apos": out.append(UInt8(ascii: "'"))
            default:
                guard name.first == UInt8(ascii: "#") else { throw .unknownEntity(name: text, line: line(at: k)) }
                guard let scalar = Self.characterReference(name.dropFirst()) else {
                    throw .badReference("&\(text);", line: line(at: k))
                }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            }
            k = semicolon + 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `123` or `x7B` (at most 8 digits, so no overflow) to a character XML allows.
    static func characterReference(_ digits: ArraySlice<UInt8>) -> Unicode.Scalar? {
        var d = digits
        var radix: UInt32 = 10
        if d.first == UInt8(ascii: "x") {
            radix = 16
            d = d.dropFirst()
        }
        guard !d.isEmpty, d.count <= 8 else { return nil }
        var value: UInt32 = 0
        for c in d {
            let v: UInt32
            switch c {
            case 0x30...0x39: v = UInt32(c - 0x30)
            case 0x41...0x46 where radix == 16: v = UInt32(c - 0x41 + 10)
            case 0x61...0x66 where radix == 16: v = UInt32(c - 0x61 + 10)
            default: return nil
            }
            value = value * radix + v
        }
        guard value == 0x9 || value == 0xA || value == 0xD || value >= 0x20 else { return nil }
        return Unicode.Scalar(value)
    }

    /// The 1-based line of the byte at `offset` (only computed for errors).
    private func line(at offset: Int) -> Int {
        var n = 1
        for b in bytes[..<min(offset, bytes.count)] where b == 0x0A { n += 1 }
        return n
    }

    static let lt = UInt8(ascii: "<"), gt = UInt8(ascii: ">"), slash = UInt8(ascii: "/")

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }

    static func isNameByte(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-"), UInt8(ascii: "."): true
        default: c >= 0x80
        }
    }
}
