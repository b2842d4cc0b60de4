import Crypto

extension DigestAlgorithm {
    func hex(_ text: String) -> String {
        let bytes = Array(text.utf8)
        switch self {
        case .md5: return Insecure.MD5.hash(data: bytes).map { String(format2: $0) }.joined()
        case .sha256: return SHA256.hash(data: bytes).map { String(format2: $0) }.joined()
        }
    }
}

extension String {
    init(format2 byte: UInt8) {
        let hex = Array("0123456789abcdef".utf8)
        self.init(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
    }
}

extension DigestCredentials {
    /// Computes the response for `challenge` (RFC 2617 §3.2.2 with qop=auth when offered).
    public init(challenge: DigestChallenge, method: SIPMethod, uri: String, username: String, password: String,
                cnonce: String, nonceCount: UInt32) {
        let alg = challenge.algorithm
        let ha1 = alg.hex("\(username):\(challenge.realm):\(password)")
        let ha2 = alg.hex("\(method):\(uri)")
        self.username = username
        self.realm = challenge.realm
        self.nonce = challenge.nonce
        self.uri = uri
        self.algorithm = alg
        self.opaque = challenge.opaque
        if challenge.qop.contains("auth") {
            let nc = DigestCredentials.hex8(nonceCount)
            self.response = alg.hex("\(ha1):\(challenge.nonce):\(nc):\(cnonce):auth:\(ha2)")
            self.cnonce = cnonce
            self.qop = "auth"
            self.nonceCount = nonceCount
        } else {
            self.response = alg.hex("\(ha1):\(challenge.nonce):\(ha2)")
            self.cnonce = nil
            self.qop = nil
            self.nonceCount = nil
        }
    }

    /// True when `response` is right for this password and method (what a registrar checks).
    public func verify(password: String, method: SIPMethod) -> Bool {
        let ha1 = algorithm.hex("\(username):\(realm):\(password)")
        let ha2 = algorithm.hex("\(method):\(uri)")
        let expected: String
        if let qop, let cnonce, let nc = nonceCount {
            expected = algorithm.hex("\(ha1):\(nonce):\(DigestCredentials.hex8(nc)):\(cnonce):\(qop):\(ha2)")
        } else {
            expected = algorithm.hex("\(ha1):\(nonce):\(ha2)")
        }
        return expected == response.lowercased()
    }

}

/// Answers challenges for one account and counts nonce uses (RFC 2617 nc), so a reused
/// nonce gets nc=00000002, 00000003, …
public struct DigestClient: Sendable {
    public var username: String
    public var password: String
    private var counts: [String: UInt32] = [:]
    private var cnonceSource: @Sendable () -> String

    public init(username: String, password: String, cnonce: @escaping @Sendable () -> String) {
        self.username = username
        self.password = password
        self.cnonceSource = cnonce
    }

    /// The header value that answers `challenge` for a request.
    public mutating func authorization(for challenge: DigestChallenge, method: SIPMethod, uri: SIPURI) -> String {
        let n = (counts[challenge.nonce] ?? 0) + 1
        counts[challenge.nonce] = n
        return DigestCredentials(challenge: challenge, method: method, uri: uri.description, username: username,
                                 password: password, cnonce: cnonceSource(), nonceCount: n).headerValue
    }
}
