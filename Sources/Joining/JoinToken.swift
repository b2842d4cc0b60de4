import SystemSupport
/// The one-time token a user gets when signing up a mobile router: `ID.SECRET`, 16 and 32 hex
/// digits. The ID names the token on the wire; the SECRET never travels: both ends derive
/// `JoinToken.key` from it, prove knowledge of it and seal the answer with it (`JoinSeal`), so a
/// join over plain HTTP exposes neither the token nor the router's MN-HA key.
public struct JoinToken: Sendable, Hashable {
    /// 8 random octets, as 16 lowercase hex digits.
    public let id: String
    /// 16 random octets.
    public let secret: [UInt8]

    public init(id: String, secret: [UInt8]) {
        self.id = id
        self.secret = secret
    }

    /// A fresh token from the system's random source.
    public static func random() -> JoinToken {
        var g = SystemRandomNumberGenerator()
        let id = (0..<8).map { _ in UInt8.random(in: 0...255, using: &g) }
        let secret = (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) }
        return JoinToken(id: Hex.encode(id), secret: secret)
    }

    /// Reads `ID.SECRET` as typed by a user (surrounding spaces ignored, hex in either case).
    public init(parsing text: String) throws(JoinError) {
        let trimmed = text.trimmingCharacters(in: " \t\r\n")
        let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 16, parts[1].utf8.count == 32,
              let id = Hex.decode(String(parts[0])), id.count == 8,
              let secret = Hex.decode(String(parts[1])), secret.count == 16 else {
            throw .badToken
        }
        self.init(id: Hex.encode(id), secret: secret)
    }

    /// The text the user copies: `ID.SECRET`.
    public var text: String { "\(id).\(Hex.encode(secret))" }

    /// What the service stores and both ends key the exchange with (HKDF-SHA256 of the secret).
    public var key: [UInt8] { JoinSeal.tokenKey(secret: secret, id: id) }
}

extension String {
    /// Drops the given characters from both ends (Foundation-free).
    func trimmingCharacters(in set: String) -> String {
        let drop = Set(set.unicodeScalars)
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !drop.contains($0) }),
              let last = scalars.lastIndex(where: { !drop.contains($0) }) else { return "" }
        return String(scalars[first...last])
    }
}
