/// Digest challenge and credential header values (RFC 3261 §22, RFC 2617, RFC 7616),
/// parsed and written without any hashing (that lives in Digest.swift).
/// Hash algorithms of HTTP digest as SIP uses them (RFC 3261 §22, RFC 8760).
public enum DigestAlgorithm: String, Sendable, Hashable {
    case md5 = "MD5"
    case sha256 = "SHA-256"
}

/// A `WWW-Authenticate` or `Proxy-Authenticate` digest challenge.
public struct DigestChallenge: Sendable, Hashable {
    public var realm: String
    public var nonce: String
    public var opaque: String?
    public var algorithm: DigestAlgorithm
    public var qop: [String]
    public var stale: Bool

    public init(realm: String, nonce: String, opaque: String? = nil, algorithm: DigestAlgorithm = .md5, qop: [String] = ["auth"], stale: Bool = false) {
        self.realm = realm
        self.nonce = nonce
        self.opaque = opaque
        self.algorithm = algorithm
        self.qop = qop
        self.stale = stale
    }

    public init(parsing value: String) throws(SIPParseError) {
        let params = try DigestChallenge.parseParams(value)
        guard let realm = params["realm"], let nonce = params["nonce"] else {
            throw SIPParseError(.badHeaderLine, "digest challenge lacks realm or nonce: '\(value)'")
        }
        let alg = params["algorithm"] ?? "MD5"
        guard let algorithm = DigestAlgorithm(rawValue: alg.uppercased()) else {
            throw SIPParseError(.badHeaderLine, "digest algorithm '\(alg)' not supported (MD5, SHA-256)")
        }
        self.realm = realm
        self.nonce = nonce
        self.opaque = params["opaque"]
        self.algorithm = algorithm
        self.qop = (params["qop"] ?? "").split(separator: ",").map { String(Grammar.trimmed($0)) }.filter { !$0.isEmpty }
        self.stale = params["stale"]?.lowercased() == "true"
    }

    /// `Digest a=b, c="d"` → lower-cased names to unquoted values.
    static func parseParams(_ value: String) throws(SIPParseError) -> [String: String] {
        let v = Grammar.trimmed(value[...])
        guard v.lowercased().hasPrefix("digest"), v.count > 6 else {
            throw SIPParseError(.badHeaderLine, "not a Digest challenge or credentials: '\(value.prefix(60))'")
        }
        var out: [String: String] = [:]
        for part in Grammar.splitList(v.dropFirst(6)) where !part.isEmpty {
            guard let eq = part.firstIndex(of: "=") else { throw SIPParseError(.badParameter, "digest parameter '\(part)' has no value") }
            let name = Grammar.trimmed(part[..<eq]).lowercased()
            let raw = String(Grammar.trimmed(part[part.index(after: eq)...]))
            out[name] = SIPParameters.unquoted(raw)
        }
        return out
    }

    public var headerValue: String {
        var s = "Digest realm=\(Grammar.quoted(realm)), nonce=\(Grammar.quoted(nonce))"
        if let opaque { s += ", opaque=\(Grammar.quoted(opaque))" }
        s += ", algorithm=\(algorithm.rawValue)"
        if !qop.isEmpty { s += ", qop=\(Grammar.quoted(qop.joined(separator: ",")))" }
        if stale { s += ", stale=true" }
        return s
    }
}

/// `Authorization` / `Proxy-Authorization` digest credentials.
public struct DigestCredentials: Sendable, Hashable {
    public var username: String
    public var realm: String
    public var nonce: String
    public var uri: String
    public var response: String
    public var algorithm: DigestAlgorithm
    public var cnonce: String?
    public var qop: String?
    public var nonceCount: UInt32?
    public var opaque: String?

    public init(parsing value: String) throws(SIPParseError) {
        let p = try DigestChallenge.parseParams(value)
        guard let u = p["username"], let r = p["realm"], let n = p["nonce"], let uri = p["uri"], let resp = p["response"] else {
            throw SIPParseError(.badHeaderLine, "digest credentials lack username, realm, nonce, uri or response")
        }
        username = u; realm = r; nonce = n; self.uri = uri; response = resp
        algorithm = DigestAlgorithm(rawValue: (p["algorithm"] ?? "MD5").uppercased()) ?? .md5
        cnonce = p["cnonce"]; qop = p["qop"]; opaque = p["opaque"]
        nonceCount = p["nc"].flatMap { UInt32($0, radix: 16) }
    }

    static func hex8(_ n: UInt32) -> String {
        let s = String(n, radix: 16)
        return String(repeating: "0", count: max(0, 8 - s.count)) + s
    }

    public var headerValue: String {
        var s = "Digest username=\(Grammar.quoted(username)), realm=\(Grammar.quoted(realm)), nonce=\(Grammar.quoted(nonce))"
        s += ", uri=\(Grammar.quoted(uri)), response=\(Grammar.quoted(response)), algorithm=\(algorithm.rawValue)"
        if let cnonce, let qop, let nc = nonceCount {
            s += ", cnonce=\(Grammar.quoted(cnonce)), qop=\(qop), nc=\(DigestCredentials.hex8(nc))"
        }
        if let opaque { s += ", opaque=\(Grammar.quoted(opaque))" }
        return s
    }
}

