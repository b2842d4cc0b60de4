import SystemSupport
/// `POST /api/v1/join` body: `{"token_id": HEX16, "nonce": HEX64, "proof": HEX64}`.
public struct JoinRequest: Sendable, Hashable, Codable {
    public var tokenID: String
    public var nonce: [UInt8]
    public var proof: [UInt8]

    enum CodingKeys: String, CodingKey { case tokenID = "token_id", nonce, proof }

    /// A fresh request for `token` (random nonce).
    public init(token: JoinToken) {
        var g = SystemRandomNumberGenerator()
        let nonce = (0..<JoinSeal.nonceLength).map { _ in UInt8.random(in: 0...255, using: &g) }
        self.init(tokenID: token.id, nonce: nonce, proof: JoinSeal.proof(tokenKey: token.key, id: token.id, nonce: nonce))
    }

    public init(tokenID: String, nonce: [UInt8], proof: [UInt8]) {
        self.tokenID = tokenID; self.nonce = nonce; self.proof = proof
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let id = try c.decode(String.self, forKey: .tokenID)
        guard id.utf8.count == 16, let octets = Hex.decode(id) else { throw JoinError.malformed(field: "token_id") }
        tokenID = Hex.encode(octets)
        guard let n = Hex.decode(try c.decode(String.self, forKey: .nonce)), n.count == JoinSeal.nonceLength else {
            throw JoinError.malformed(field: "nonce")
        }
        nonce = n
        guard let p = Hex.decode(try c.decode(String.self, forKey: .proof)), p.count == 32 else {
            throw JoinError.malformed(field: "proof")
        }
        proof = p
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tokenID, forKey: .tokenID)
        try c.encode(Hex.encode(nonce), forKey: .nonce)
        try c.encode(Hex.encode(proof), forKey: .proof)
    }
}

/// The service's answer to a join: `{"sealed": HEX}`, the router's `mr.json` sealed by `JoinSeal`.
public struct JoinAnswer: Sendable, Hashable, Codable {
    public var sealed: [UInt8]

    public init(sealed: [UInt8]) { self.sealed = sealed }

    enum CodingKeys: String, CodingKey { case sealed }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // Nonce (12) and tag (16) at least; a configuration is a few kilobytes at most.
        guard let s = Hex.decode(try c.decode(String.self, forKey: .sealed)), s.count >= 28, s.count <= 1 << 20 else {
            throw JoinError.malformed(field: "sealed")
        }
        sealed = s
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Hex.encode(sealed), forKey: .sealed)
    }
}
