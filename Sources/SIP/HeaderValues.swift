/// Generic `;name=value` parameters of a header value, in order. Names are kept as
/// written; lookups ignore case.
public struct SIPParameters: Sendable, Hashable, CustomStringConvertible {
    public var items: [Item]

    public struct Item: Sendable, Hashable {
        public var name: String
        /// nil for a parameter without `=value`; quoted values keep their quotes.
        public var value: String?
        public init(name: String, value: String?) { self.name = name; self.value = value }
    }

    public init(_ items: [Item] = []) { self.items = items }

    public subscript(_ name: String) -> String? {
        get { items.first { $0.name.lowercased() == name.lowercased() }?.value.map(SIPParameters.unquoted) }
        set {
            if let i = items.firstIndex(where: { $0.name.lowercased() == name.lowercased() }) {
                if let newValue { items[i].value = newValue } else { items.remove(at: i) }
            } else if let newValue {
                items.append(Item(name: name, value: newValue))
            }
        }
    }

    public func contains(_ name: String) -> Bool { items.contains { $0.name.lowercased() == name.lowercased() } }

    public mutating func setFlag(_ name: String) {
        if !contains(name) { items.append(Item(name: name, value: nil)) }
    }

    static func unquoted(_ v: String) -> String {
        guard v.hasPrefix("\""), v.count >= 2 else { return v }
        var i = v[...].startIndex
        return Grammar.readQuoted(v[...], &i) ?? v
    }

    public var description: String {
        items.map { ";" + $0.name + ($0.value.map { "=" + $0 } ?? "") }.joined()
    }

    /// Parses `;a=b ;c ; d = "e"` with LWS allowed around `;` and `=`. An empty name is
    /// an error (RFC 4475 badinv01).
    init(parsing s: Substring, what: String) throws(SIPParseError) {
        items = []
        var i = s.startIndex
        func skipWS() { while i < s.endIndex, s[i] == " " || s[i] == "\t" { i = s.index(after: i) } }
        skipWS()
        while i < s.endIndex {
            guard s[i] == ";" else { throw SIPParseError(.badParameter, "\(what): expected ';' before '\(s[i...])'") }
            i = s.index(after: i)
            skipWS()
            let nameStart = i
            while i < s.endIndex, let a = s[i].asciiValue, Grammar.isTokenChar(a) { i = s.index(after: i) }
            let name = s[nameStart..<i]
            guard !name.isEmpty else { throw SIPParseError(.badParameter, "\(what): empty parameter in '\(s)'") }
            skipWS()
            var value: String? = nil
            if i < s.endIndex, s[i] == "=" {
                i = s.index(after: i)
                skipWS()
                guard i < s.endIndex else { throw SIPParseError(.badParameter, "\(what): parameter '\(name)' has '=' but no value") }
                if s[i] == "\"" {
                    let q = i
                    guard Grammar.readQuoted(s, &i) != nil else { throw SIPParseError(.badParameter, "\(what): unterminated quoted value") }
                    value = String(s[q..<i])
                } else if s[i] == "[" {
                    let vs = i
                    guard let close = s[i...].firstIndex(of: "]") else { throw SIPParseError(.badParameter, "\(what): unterminated IPv6 value") }
                    i = s.index(after: close)
                    value = String(s[vs..<i])
                } else {
                    let vs = i
                    while i < s.endIndex, let a = s[i].asciiValue, Grammar.isTokenChar(a) || a == UInt8(ascii: ":") || a == UInt8(ascii: "[") || a == UInt8(ascii: "]") { i = s.index(after: i) }
                    guard i > vs else { throw SIPParseError(.badParameter, "\(what): parameter '\(name)' has an empty value") }
                    value = String(s[vs..<i])
                }
                skipWS()
            }
            items.append(Item(name: String(name), value: value))
        }
    }
}

/// `name-addr` or `addr-spec` with header parameters: the value of From, To, Contact,
/// Route, Record-Route, Reply-To.
public struct SIPAddress: Sendable, Hashable, CustomStringConvertible {
    public var displayName: String?
    public var uri: SIPURI
    public var parameters: SIPParameters

    public init(displayName: String? = nil, uri: SIPURI, parameters: SIPParameters = SIPParameters()) {
        self.displayName = displayName
        self.uri = uri
        self.parameters = parameters
    }

    public var tag: String? {
        get { parameters["tag"] }
        set { parameters["tag"] = newValue }
    }

    public init(parsing text: String) throws(SIPParseError) { try self.init(parsing: text[...]) }

    public init(parsing text: Substring) throws(SIPParseError) {
        let s = Grammar.trimmed(text)
        guard !s.isEmpty else { throw SIPParseError(.badAddress, "empty address") }
        var i = s.startIndex
        var display: String? = nil
        var angle: Substring.Index? = nil
        if s[i] == "\"" {
            guard let d = Grammar.readQuoted(s, &i) else { throw SIPParseError(.badAddress, "unterminated display name in '\(s)'") }
            display = d
            while i < s.endIndex, s[i] == " " || s[i] == "\t" { i = s.index(after: i) }
            guard i < s.endIndex, s[i] == "<" else { throw SIPParseError(.badAddress, "display name not followed by '<' in '\(s)'") }
            angle = i
        } else if let lt = s.firstIndex(byte: 60) {
            let before = Grammar.trimmed(s[..<lt])
            // Display names are tokens separated by LWS; a URI before '<' means the '<' belongs elsewhere.
            if before.utf8.allSatisfy({ Grammar.isTokenChar($0) || Grammar.isWS($0) }) {
                if !before.isEmpty { display = String(before) }
                angle = lt
            }
        }
        if let angle {
            let uriStart = s.index(after: angle)
            guard let gt = s[uriStart...].firstIndex(byte: 62) else { throw SIPParseError(.badAddress, "no '>' closing '\(s)'") }
            uri = try SIPURI(parsing: s[uriStart..<gt])
            displayName = display
            parameters = try SIPParameters(parsing: s[s.index(after: gt)...], what: "address parameters")
        } else {
            // addr-spec: the URI ends at the first ';' (RFC 3261 §20: those are header parameters).
            let end = s.firstIndex(byte: 59) ?? s.endIndex
            let u = Grammar.trimmed(s[..<end])
            guard !u.contains(byte: 63), !u.contains(byte: 44) else {
                throw SIPParseError(.badAddress, "'\(u)' holds '?' or ',' and so must be inside <>")
            }
            uri = try SIPURI(parsing: u)
            displayName = nil
            parameters = try SIPParameters(parsing: s[end...], what: "address parameters")
        }
    }

    public var description: String {
        var s = ""
        if let displayName { s += Grammar.quoted(displayName) + " " }
        s += "<\(uri)>"
        s += parameters.description
        return s
    }
}

/// One Via value (RFC 3261 §20.42), with `rport` (RFC 3581) and `received`.
public struct SIPVia: Sendable, Hashable, CustomStringConvertible {
    /// "UDP", "TCP", "TLS", "SCTP" or any other token, upper-cased.
    public var transport: String
    public var host: SIPHost
    public var port: Int?
    public var parameters: SIPParameters

    public init(transport: String, host: SIPHost, port: Int?, branch: String, rport: Bool = true) {
        self.transport = transport.uppercased()
        self.host = host
        self.port = port
        self.parameters = SIPParameters([.init(name: "branch", value: branch)])
        if rport { parameters.setFlag("rport") }
    }

    public var branch: String? {
        get { parameters["branch"] }
        set { parameters["branch"] = newValue }
    }
    public var received: String? {
        guard let r = parameters["received"] else { return nil }
        return r.hasPrefix("[") && r.hasSuffix("]") ? String(r.dropFirst().dropLast()) : r
    }
    /// The `rport` value a server filled in; nil when absent or empty.
    public var rport: Int? { parameters["rport"].flatMap { Int($0) } }

    /// True when the branch carries the RFC 3261 magic cookie and something after it.
    public var hasRFC3261Branch: Bool {
        guard let b = branch else { return false }
        return b.hasPrefix("z9hG4bK") && b.count > 7
    }

    public init(parsing text: Substring) throws(SIPParseError) {
        let s = Grammar.trimmed(text)
        // sent-protocol: name / version / transport, LWS allowed around each '/'
        let slash1 = s.firstIndex(byte: 47)
        guard let slash1 else { throw SIPParseError(.badVia, "'\(s)' lacks SIP/2.0/transport") }
        let proto = Grammar.trimmed(s[..<slash1])
        let afterProto = s[s.index(after: slash1)...]
        guard let slash2 = afterProto.firstIndex(byte: 47) else { throw SIPParseError(.badVia, "'\(s)' lacks a transport") }
        let version = Grammar.trimmed(afterProto[..<slash2])
        guard proto.uppercased() == "SIP" else { throw SIPParseError(.badVia, "protocol '\(proto)' is not SIP") }
        guard version == "2.0" else { throw SIPParseError(.badVersion, "Via says SIP/\(version)") }
        var i = afterProto.index(after: slash2)
        while i < s.endIndex, s[i] == " " || s[i] == "\t" { i = s.index(after: i) }
        let tStart = i
        while i < s.endIndex, let a = s[i].asciiValue, Grammar.isTokenChar(a) { i = s.index(after: i) }
        guard i > tStart else { throw SIPParseError(.badVia, "'\(s)' has no transport") }
        transport = s[tStart..<i].uppercased()
        while i < s.endIndex, s[i] == " " || s[i] == "\t" { i = s.index(after: i) }
        let hStart = i
        if i < s.endIndex, s[i] == "[" {
            guard let close = s[i...].firstIndex(of: "]") else { throw SIPParseError(.badVia, "unterminated IPv6 sent-by in '\(s)'") }
            i = s.index(after: close)
        } else {
            while i < s.endIndex, let a = s[i].asciiValue, Grammar.isAlnum(a) || a == 45 || a == 46 { i = s.index(after: i) }
        }
        guard i > hStart else { throw SIPParseError(.badVia, "'\(s)' has no sent-by host") }
        host = try SIPHost(parsing: s[hStart..<i])
        while i < s.endIndex, s[i] == " " || s[i] == "\t" { i = s.index(after: i) }
        port = nil
        if i < s.endIndex, s[i] == ":" {
            i = s.index(after: i)
            while i < s.endIndex, s[i] == " " || s[i] == "\t" { i = s.index(after: i) }
            let pStart = i
            while i < s.endIndex, let a = s[i].asciiValue, Grammar.isDigit(a) { i = s.index(after: i) }
            port = try SIPURI.parsePort(s[pStart..<i], in: s)
        }
        parameters = try SIPParameters(parsing: s[i...], what: "Via")
        if let b = parameters.items.first(where: { $0.name.lowercased() == "branch" }), b.value == nil {
            throw SIPParseError(.badVia, "branch without a value in '\(s)'")
        }
    }

    public var description: String {
        "SIP/2.0/\(transport) \(host)\(port.map { ":\($0)" } ?? "")\(parameters)"
    }
}

/// CSeq (RFC 3261 §20.16): a 32-bit sequence number and a method.
public struct SIPCSeq: Sendable, Hashable, CustomStringConvertible {
    public var sequence: UInt32
    public var method: SIPMethod

    public init(_ sequence: UInt32, _ method: SIPMethod) {
        self.sequence = sequence
        self.method = method
    }

    public init(parsing text: Substring) throws(SIPParseError) {
        let s = Grammar.trimmed(text)
        let digits = s.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty else { throw SIPParseError(.badCSeq, "CSeq '\(s)' has no number") }
        let significant = digits.drop { $0 == "0" }
        guard significant.count <= 10, let n = UInt64(significant.isEmpty ? "0" : significant), n <= UInt64(UInt32.max) else {
            throw SIPParseError(.badCSeq, "CSeq number '\(digits)' is larger than 2^32-1")
        }
        let m = Grammar.trimmed(s[digits.endIndex...])
        guard digits.endIndex < s.endIndex, s[digits.endIndex] == " " || s[digits.endIndex] == "\t", Grammar.isToken(m.utf8) else {
            throw SIPParseError(.badCSeq, "CSeq '\(s)' needs a number, whitespace and a method")
        }
        sequence = UInt32(n)
        method = SIPMethod(String(m))
    }

    public var description: String { "\(sequence) \(method)" }
}

/// A request method; unknown methods are kept as they are written (methods are case-sensitive).
public struct SIPMethod: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var rawValue: String
    public init(_ raw: String) { rawValue = raw }
    public init(stringLiteral value: String) { rawValue = value }
    public var description: String { rawValue }

    public static let invite: SIPMethod = "INVITE"
    public static let ack: SIPMethod = "ACK"
    public static let bye: SIPMethod = "BYE"
    public static let cancel: SIPMethod = "CANCEL"
    public static let options: SIPMethod = "OPTIONS"
    public static let register: SIPMethod = "REGISTER"
    public static let message: SIPMethod = "MESSAGE"
    public static let info: SIPMethod = "INFO"
    public static let update: SIPMethod = "UPDATE"
    public static let prack: SIPMethod = "PRACK"
    public static let subscribe: SIPMethod = "SUBSCRIBE"
    public static let notify: SIPMethod = "NOTIFY"
    public static let refer: SIPMethod = "REFER"
}
