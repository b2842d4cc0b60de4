import Crypto

/// The join exchange's cryptography (sans-I/O):
/// - both ends hold `tokenKey` = HKDF-SHA256(secret, salt "nautilus-join-token", info ID);
/// - the router sends a fresh 32-octet nonce and `proof` = HMAC-SHA256(tokenKey, "request" ‖ ID ‖ nonce);
/// - the service answers ChaCha20-Poly1305(key = HKDF-SHA256(tokenKey, salt nonce, info "answer"),
///   authenticated data ID) of the router's configuration.
/// A listener learns neither the secret nor the configuration (it holds the MN-HA key); a
/// man in the middle without the secret can neither make a request the service accepts nor an
/// answer the router opens.
public enum JoinSeal {
    public static let nonceLength = 32

    public static func tokenKey(secret: [UInt8], id: String) -> [UInt8] {
        let k = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret),
                                       salt: Array("nautilus-join-token".utf8), info: Array(id.utf8), outputByteCount: 32)
        return k.withUnsafeBytes { Array($0) }
    }

    public static func proof(tokenKey: [UInt8], id: String, nonce: [UInt8]) -> [UInt8] {
        var message = Array("request".utf8)
        message += Array(id.utf8)
        message += nonce
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: tokenKey)))
    }

    /// Constant-time check of a request's proof.
    public static func verify(proof: [UInt8], tokenKey: [UInt8], id: String, nonce: [UInt8]) -> Bool {
        var message = Array("request".utf8)
        message += Array(id.utf8)
        message += nonce
        return HMAC<SHA256>.isValidAuthenticationCode(proof, authenticating: message, using: SymmetricKey(data: tokenKey))
    }

    static func answerKey(tokenKey: [UInt8], nonce: [UInt8]) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: tokenKey), salt: nonce,
                               info: Array("answer".utf8), outputByteCount: 32)
    }

    /// The service's side: `configuration` sealed for the router that sent `nonce`.
    public static func seal(_ configuration: [UInt8], tokenKey: [UInt8], id: String, nonce: [UInt8]) -> [UInt8] {
        // Sealing with a fresh random nonce cannot fail for a 32-octet key.
        let box = try! ChaChaPoly.seal(configuration, using: answerKey(tokenKey: tokenKey, nonce: nonce),
                                       authenticating: Array(id.utf8))
        return Array(box.combined)
    }

    /// The router's side: the configuration, or `.sealBroken`.
    public static func open(_ sealed: [UInt8], tokenKey: [UInt8], id: String, nonce: [UInt8]) throws(JoinError) -> [UInt8] {
        do {
            let box = try ChaChaPoly.SealedBox(combined: sealed)
            return Array(try ChaChaPoly.open(box, using: answerKey(tokenKey: tokenKey, nonce: nonce),
                                             authenticating: Array(id.utf8)))
        } catch {
            throw .sealBroken
        }
    }
}
