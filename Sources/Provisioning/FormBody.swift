/// An `application/x-www-form-urlencoded` body (a page's form) as ordered name/value pairs.
/// Bounded: at most `maximumFields` fields; a name given twice is refused rather than guessed at.
public struct FormBody: Sendable, Equatable {
    public static let maximumFields = 64
    public private(set) var fields: [(name: String, value: String)]

    public static func == (a: FormBody, b: FormBody) -> Bool {
        a.fields.map(\.name) == b.fields.map(\.name) && a.fields.map(\.value) == b.fields.map(\.value)
    }

    public init(parsing bytes: some Collection<UInt8>) throws(FieldError) {
        fields = []
        var seen = Set<String>()
        for part in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            guard fields.count < FormBody.maximumFields else { throw FieldError("form", "more than \(FormBody.maximumFields) fields") }
            let eq = part.firstIndex(of: UInt8(ascii: "="))
            let rawName = eq.map { part[part.startIndex..<$0] } ?? part[...]
            let rawValue = eq.map { part[part.index(after: $0)...] } ?? part[part.endIndex...]
            guard let name = FormBody.decode(rawName), let value = FormBody.decode(rawValue) else {
                throw FieldError("form", "a field is not valid percent-encoded UTF-8")
            }
            guard seen.insert(name).inserted else { throw FieldError(name, "given twice") }
            fields.append((name, value))
        }
    }

    public subscript(name: String) -> String? { fields.first { $0.name == name }?.value }

    /// Percent-decoding with `+` as a space; nil for a bad escape or bad UTF-8.
    static func decode(_ raw: some Collection<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = raw.startIndex
        while i != raw.endIndex {
            let c = raw[i]
            if c == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if c == UInt8(ascii: "%") {
                let h = raw.index(after: i)
                guard h != raw.endIndex else { return nil }
                let l = raw.index(after: h)
                guard l != raw.endIndex, let hi = hexValue(raw[h]), let lo = hexValue(raw[l]) else { return nil }
                out.append(hi << 4 | lo)
                i = l
            } else {
                out.append(c)
            }
            i = raw.index(after: i)
        }
        return String(validating: out, as: UTF8.self)
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
