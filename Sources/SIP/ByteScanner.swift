/// Character classes and small scanning tools of the RFC 3261 grammar, over UTF-8 bytes.
enum Grammar {
    @inline(__always) static func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    @inline(__always) static func isAlnum(_ c: UInt8) -> Bool { isAlpha(c) || isDigit(c) }
    @inline(__always) static func isHex(_ c: UInt8) -> Bool { isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66) }
    @inline(__always) static func isWS(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

    /// `token` characters (RFC 3261 §25.1).
    static func isTokenChar(_ c: UInt8) -> Bool {
        if isAlnum(c) { return true }
        switch c {
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "!"), UInt8(ascii: "%"), UInt8(ascii: "*"),
             UInt8(ascii: "_"), UInt8(ascii: "+"), UInt8(ascii: "`"), UInt8(ascii: "'"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }

    /// `word` characters (Call-ID).
    static func isWordChar(_ c: UInt8) -> Bool {
        if isTokenChar(c) { return true }
        switch c {
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: ":"),
             UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "/"), UInt8(ascii: "["), UInt8(ascii: "]"),
             UInt8(ascii: "?"), UInt8(ascii: "{"), UInt8(ascii: "}"):
            return true
        default: return false
        }
    }

    static func isToken<S: Sequence<UInt8>>(_ s: S) -> Bool {
        var any = false
        for c in s { guard isTokenChar(c) else { return false }; any = true }
        return any
    }

    static func trimmed(_ s: Substring) -> Substring {
        var a = s.startIndex, b = s.endIndex
        while a < b, s[a] == " " || s[a] == "\t" { a = s.index(after: a) }
        while b > a { let p = s.index(before: b); if s[p] == " " || s[p] == "\t" { b = p } else { break } }
        return s[a..<b]
    }

    /// Decodes `%HH` escapes once; a `%` that does not start an escape stays as it is.
    static func percentDecoded(_ s: Substring) -> String {
        guard s.contains("%") else { return String(s) }
        let b = Array(s.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count, isHex(b[i + 1]), isHex(b[i + 2]) {
                out.append(hexValue(b[i + 1]) << 4 | hexValue(b[i + 2]))
                i += 3
            } else {
                out.append(b[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hexValue(_ c: UInt8) -> UInt8 {
        isDigit(c) ? c - 0x30 : (c | 0x20) - 0x61 + 10
    }

    /// Escapes every byte of `s` not allowed by `allowed` as `%HH`.
    static func percentEncoded(_ s: String, allowed: (UInt8) -> Bool) -> String {
        var out = ""
        for c in s.utf8 {
            if allowed(c) { out.unicodeScalars.append(Unicode.Scalar(c)) } else {
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%"
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(c >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(c & 15)]))
            }
        }
        return out
    }

    /// Splits at top-level commas: commas inside quotes or `<...>` do not count.
    /// Empty elements are kept so the caller can refuse them where the grammar does.
    static func splitList(_ s: Substring) -> [Substring] {
        var parts: [Substring] = []
        var start = s.startIndex
        var i = s.startIndex
        var inQuote = false, inAngle = false
        while i < s.endIndex {
            let c = s[i]
            if inQuote {
                if c == "\\" { i = s.index(after: i); if i == s.endIndex { break } }
                else if c == "\"" { inQuote = false }
            } else if c == "\"" { inQuote = true }
            else if c == "<" { inAngle = true }
            else if c == ">" { inAngle = false }
            else if c == ",", !inAngle {
                parts.append(trimmed(s[start..<i]))
                start = s.index(after: i)
            }
            i = s.index(after: i)
        }
        parts.append(trimmed(s[start..<s.endIndex]))
        return parts
    }

    /// Reads a quoted string starting at `i` (which is at the opening quote); returns the
    /// unescaped content and moves `i` past the closing quote.
    static func readQuoted(_ s: Substring, _ i: inout Substring.Index) -> String? {
        precondition(s[i] == "\"")
        i = s.index(after: i)
        var out = ""
        while i < s.endIndex {
            let c = s[i]
            if c == "\\" {
                i = s.index(after: i)
                guard i < s.endIndex else { return nil }
                out.append(s[i])
            } else if c == "\"" {
                i = s.index(after: i)
                return out
            } else {
                out.append(c)
            }
            i = s.index(after: i)
        }
        return nil
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for c in s { if c == "\"" || c == "\\" { out.append("\\") }; out.append(c) }
        out.append("\"")
        return out
    }
}

extension Substring {
    /// Byte-level searches: the separators we look for are ASCII, and scanning UTF-8
    /// avoids grapheme breaking (the parser's hot path).
    @inline(__always) func firstIndex(byte c: UInt8) -> Index? { utf8.firstIndex(of: c) }
    @inline(__always) func lastIndex(byte c: UInt8) -> Index? { utf8.lastIndex(of: c) }
    @inline(__always) func contains(byte c: UInt8) -> Bool { utf8.contains(c) }
    func split(byte c: UInt8) -> [Substring] {
        utf8.split(separator: c, omittingEmptySubsequences: false).map { Substring($0) }
    }
}
