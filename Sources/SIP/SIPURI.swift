/// The host part of a SIP URI or Via sent-by.
public enum SIPHost: Sendable, Hashable, CustomStringConvertible {
    case name(String)
    case ipv4(String)
    /// Without brackets; `description` adds them (RFC 5118: IPv6 references in SIP are bracketed).
    case ipv6(String)

    public var description: String {
        switch self {
        case .name(let s), .ipv4(let s): return s
        case .ipv6(let s): return "[\(s)]"
        }
    }

    /// The address or name as a resolver or socket wants it: no brackets.
    public var address: String {
        switch self {
        case .name(let s), .ipv4(let s), .ipv6(let s): return s
        }
    }

    /// Parses a host as written in SIP: `[v6]`, dotted IPv4 or a host name.
    public init(parsing s: Substring) throws(SIPParseError) {
        guard let first = s.utf8.first else { throw SIPParseError(.badURI, "empty host") }
        if first == 91 {
            guard s.utf8.last == 93, s.utf8.count > 2 else { throw SIPParseError(.badURI, "unterminated IPv6 reference '\(s)'") }
            let inner = s.dropFirst().dropLast()
            guard SIPHost.isIPv6(inner) else { throw SIPParseError(.badURI, "'\(inner)' is not an IPv6 address") }
            self = .ipv6(String(inner))
            return
        }
        var dotsOnlyDigits = true
        for c in s.utf8 {
            guard Grammar.isAlnum(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") else {
                throw SIPParseError(.badURI, "host '\(s)' has a character hosts cannot have")
            }
            if !(Grammar.isDigit(c) || c == UInt8(ascii: ".")) { dotsOnlyDigits = false }
        }
        if dotsOnlyDigits, s.utf8.reduce(0, { $0 + ($1 == 46 ? 1 : 0) }) == 3 {
            self = .ipv4(String(s))
        } else {
            self = .name(String(s))
        }
    }

    /// Builds a host from an address string as a socket gives it (no brackets).
    public init(address: String) {
        if address.contains(":") { self = .ipv6(address) }
        else if address.split(separator: ".").count == 4, address.utf8.allSatisfy({ Grammar.isDigit($0) || $0 == 46 }) { self = .ipv4(address) }
        else { self = .name(address) }
    }

    static func isIPv6(_ s: Substring) -> Bool {
        // RFC 5118 §4.10: RFC 3261's ABNF let "::" be followed by a third ':' before an IPv4
        // tail ("2001:db8:::192.0.2.1"); such references are tolerated as if written with "::"
        let chars = Array(s)
        if let i = chars.indices.dropLast(2).first(where: { chars[$0] == ":" && chars[$0 + 1] == ":" && chars[$0 + 2] == ":" }) {
            let tail = chars[(i + 3)...]
            guard tail.contains("."), !tail.contains(":") else { return false }
            return isIPv6Strict(Substring(String(chars[..<i]) + "::" + String(tail)))
        }
        return isIPv6Strict(s)
    }

    static func isIPv6Strict(_ s: Substring) -> Bool {
        // hex groups separated by ':', at most one '::', optionally ending in a dotted IPv4.
        guard s.count >= 2, s.contains(":") else { return false }
        var groups = 0
        var doubleColon = false
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        for (n, part) in parts.enumerated() {
            if part.isEmpty {
                // '::' shows up as one or two empty parts (at the ends) or one in the middle
                let atEdge = n == 0 || n == parts.count - 1
                if !atEdge { if doubleColon { return false }; doubleColon = true }
                continue
            }
            if n == parts.count - 1, part.contains(".") {
                let v4 = part.split(separator: ".", omittingEmptySubsequences: false)
                guard v4.count == 4, v4.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.utf8.allSatisfy(Grammar.isDigit) && Int($0)! <= 255 }) else { return false }
                groups += 2
                continue
            }
            guard part.count <= 4, part.utf8.allSatisfy(Grammar.isHex) else { return false }
            groups += 1
        }
        if s.hasPrefix(":") && !s.hasPrefix("::") { return false }
        if s.hasSuffix(":") && !s.hasSuffix("::") { return false }
        if s.hasPrefix("::") || s.hasSuffix("::") { doubleColon = true }
        return doubleColon ? groups < 8 : groups == 8
    }
}

/// A SIP or SIPS URI (RFC 3261 §19.1), or any other absolute URI kept opaque.
///
/// Components are kept as written (escaped); the accessors `user`, `parameter(_:)` and
/// `headers` decode `%HH` once, so `%25%34%31` reads as `%41`, never as `A`.
public struct SIPURI: Sendable, Hashable, CustomStringConvertible {
    /// Lower-cased scheme: "sip", "sips", "tel", …
    public var scheme: String
    /// Escaped user part (nil when the URI has no userinfo).
    public var rawUser: String?
    public var rawPassword: String?
    public var host: SIPHost
    public var port: Int?
    /// URI parameters in order, names and values escaped as written.
    public var rawParameters: [(name: String, value: String?)]
    /// `?name=value&…` headers, escaped as written.
    public var rawHeaders: [(name: String, value: String)]
    /// For schemes other than sip/sips: everything after the colon.
    public var opaque: String?

    public var isSIP: Bool { opaque == nil }

    public init(scheme: String = "sip", user: String? = nil, host: SIPHost, port: Int? = nil,
                parameters: [(String, String?)] = []) {
        self.scheme = scheme
        self.rawUser = user.map { Grammar.percentEncoded($0, allowed: SIPURI.isUserChar) }
        self.rawPassword = nil
        self.host = host
        self.port = port
        self.rawParameters = parameters.map { ($0.0, $0.1) }
        self.rawHeaders = []
        self.opaque = nil
    }

    /// The user part with escapes decoded.
    public var user: String? { rawUser.map { Grammar.percentDecoded($0[...]) } }

    /// The decoded value of a URI parameter: `.some(nil)` for a parameter without value.
    public func parameter(_ name: String) -> String?? {
        for p in rawParameters where Grammar.percentDecoded(p.name[...]).lowercased() == name.lowercased() {
            return .some(p.value.map { Grammar.percentDecoded($0[...]) })
        }
        return nil
    }

    public var parameterNames: [String] { rawParameters.map { Grammar.percentDecoded($0.name[...]) } }

    /// Decoded `?` headers.
    public var headers: [(name: String, value: String)] {
        rawHeaders.map { (Grammar.percentDecoded($0.name[...]), Grammar.percentDecoded($0.value[...])) }
    }

    public mutating func setParameter(_ name: String, _ value: String?) {
        if let i = rawParameters.firstIndex(where: { $0.name.lowercased() == name.lowercased() }) {
            rawParameters[i].value = value
        } else {
            rawParameters.append((name, value))
        }
    }

    public mutating func removeParameter(_ name: String) {
        rawParameters.removeAll { $0.name.lowercased() == name.lowercased() }
    }

    /// `transport` parameter, lower-cased.
    public var transport: String? { parameter("transport").flatMap { $0 }?.lowercased() }

    /// The `lr` parameter marks a loose router (RFC 3261 §16.12).
    public var isLooseRouter: Bool { parameter("lr") != nil }

    static func isUserChar(_ c: UInt8) -> Bool {
        if Grammar.isAlnum(c) { return true }
        return "-_.!~*'()&=+$,;?/".utf8.contains(c)
    }

    static func isParamChar(_ c: UInt8) -> Bool {
        if Grammar.isAlnum(c) { return true }
        return "-_.!~*'()[]/:&+$%".utf8.contains(c)
    }

    static func isHeaderChar(_ c: UInt8) -> Bool {
        if Grammar.isAlnum(c) { return true }
        return "-_.!~*'()[]/?:+$%".utf8.contains(c)
    }

    /// Parses a URI; whitespace anywhere is an error (RFC 4475 badaspec).
    public init(parsing text: Substring) throws(SIPParseError) {
        guard let colon = text.firstIndex(byte: 58) else { throw SIPParseError(.badURI, "'\(text)' has no scheme") }
        let scheme = text[..<colon]
        guard let f = scheme.utf8.first, Grammar.isAlpha(f),
              scheme.utf8.allSatisfy({ Grammar.isAlnum($0) || $0 == 43 || $0 == 45 || $0 == 46 }) else {
            throw SIPParseError(.badURI, "'\(text)' does not start with a URI scheme")
        }
        self.scheme = scheme.lowercased()
        let rest = text[text.index(after: colon)...]
        guard !rest.isEmpty, !rest.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
            throw SIPParseError(.badURI, "'\(text)' is empty or holds whitespace or control characters")
        }
        rawUser = nil; rawPassword = nil; port = nil; rawParameters = []; rawHeaders = []; opaque = nil
        guard self.scheme == "sip" || self.scheme == "sips" else {
            guard !rest.contains(byte: 60), !rest.contains(byte: 62), !rest.contains(byte: 34) else {
                throw SIPParseError(.badURI, "'\(text)' holds characters a URI cannot")
            }
            host = .name("")
            opaque = String(rest)
            return
        }
        var hostPart = rest
        if let at = rest.firstIndex(byte: 64) {
            let userinfo = rest[..<at]
            hostPart = rest[rest.index(after: at)...]
            let userText: Substring
            if let pc = userinfo.firstIndex(byte: 58) {
                userText = userinfo[..<pc]
                rawPassword = String(userinfo[userinfo.index(after: pc)...])
            } else {
                userText = userinfo
            }
            guard !userText.isEmpty, userText.utf8.allSatisfy({ SIPURI.isUserChar($0) || $0 == 37 }) else {
                throw SIPParseError(.badURI, "user part '\(userText)' of '\(text)' is not valid")
            }
            rawUser = String(userText)
        }
        var headersPart: Substring? = nil
        if let q = hostPart.firstIndex(byte: 63) {
            headersPart = hostPart[hostPart.index(after: q)...]
            hostPart = hostPart[..<q]
        }
        var paramsPart: Substring? = nil
        if let sc = hostPart.firstIndex(byte: 59) {
            paramsPart = hostPart[hostPart.index(after: sc)...]
            hostPart = hostPart[..<sc]
        }
        var hostText = hostPart
        if hostPart.utf8.first == 91 {
            guard let close = hostPart.firstIndex(byte: 93) else { throw SIPParseError(.badURI, "unterminated IPv6 reference in '\(text)'") }
            hostText = hostPart[...close]
            let after = hostPart[hostPart.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":" else { throw SIPParseError(.badURI, "junk after IPv6 reference in '\(text)'") }
                port = try SIPURI.parsePort(after.dropFirst(), in: text)
            }
        } else if let pc = hostPart.firstIndex(byte: 58) {
            hostText = hostPart[..<pc]
            port = try SIPURI.parsePort(hostPart[hostPart.index(after: pc)...], in: text)
        }
        host = try SIPHost(parsing: hostText)
        if let paramsPart {
            for p in paramsPart.split(byte: 59) {
                let name: Substring, value: Substring?
                if let eq = p.firstIndex(byte: 61) { name = p[..<eq]; value = p[p.index(after: eq)...] } else { name = p; value = nil }
                guard !name.isEmpty, name.utf8.allSatisfy(SIPURI.isParamChar),
                      value.map({ !$0.isEmpty && $0.utf8.allSatisfy(SIPURI.isParamChar) }) ?? true else {
                    throw SIPParseError(.badURI, "URI parameter '\(p)' of '\(text)' is not valid")
                }
                rawParameters.append((String(name), value.map(String.init)))
            }
        }
        if let headersPart {
            for h in headersPart.split(byte: 38) {
                guard let eq = h.firstIndex(byte: 61) else { throw SIPParseError(.badURI, "URI header '\(h)' has no '='") }
                let name = h[..<eq], value = h[h.index(after: eq)...]
                guard !name.isEmpty, name.utf8.allSatisfy(SIPURI.isHeaderChar), value.utf8.allSatisfy(SIPURI.isHeaderChar) else {
                    throw SIPParseError(.badURI, "URI header '\(h)' of '\(text)' is not valid")
                }
                rawHeaders.append((String(name), String(value)))
            }
        }
    }

    public init(parsing text: String) throws(SIPParseError) {
        try self.init(parsing: text[...])
    }

    static func parsePort(_ s: Substring, in text: Substring) throws(SIPParseError) -> Int {
        guard !s.isEmpty, s.count <= 5, s.utf8.allSatisfy(Grammar.isDigit), let p = Int(s), p <= 65535 else {
            throw SIPParseError(.badURI, "port '\(s)' in '\(text)' is not a port number")
        }
        return p
    }

    public var description: String {
        if let opaque { return "\(scheme):\(opaque)" }
        var s = scheme + ":"
        if let rawUser {
            s += rawUser
            if let rawPassword { s += ":" + rawPassword }
            s += "@"
        }
        s += host.description
        if let port { s += ":\(port)" }
        for p in rawParameters {
            s += ";" + p.name
            if let v = p.value { s += "=" + v }
        }
        if !rawHeaders.isEmpty {
            s += "?" + rawHeaders.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        }
        return s
    }

    public static func == (a: SIPURI, b: SIPURI) -> Bool { a.description == b.description }
    public func hash(into h: inout Hasher) { h.combine(description) }

    /// Comparison as RFC 3261 §19.1.4 asks, simplified: scheme, user, host, port, transport.
    public func matches(_ other: SIPURI) -> Bool {
        scheme == other.scheme && user == other.user && host.address.lowercased() == other.host.address.lowercased()
            && port == other.port && opaque == other.opaque
    }
}
