import Crypto
import Joining
import SystemSupport
import _CryptoExtras

/// A stored password: scrypt (N 2^14, r 8, p 1, 16 MiB) over a random 16-octet salt, as
/// `scrypt$N$r$p$SALT$HASH` (hex). Verification is constant-time.
public struct PasswordHash: Sendable, Hashable {
    public let text: String

    public init(storedText: String) { text = storedText }

    /// Hashes `password` with a fresh salt.
    public init(hashing password: String, rounds: Int = 1 << 14) {
        var g = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) }
        let hash = PasswordHash.derive(password, salt: salt, rounds: rounds)
        text = "scrypt$\(rounds)$8$1$\(Hex.encode(salt))$\(Hex.encode(hash))"
    }

    public func verify(_ password: String) -> Bool {
        let parts = text.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt", let rounds = Int(parts[1]), rounds >= 2, rounds <= 1 << 20,
              parts[2] == "8", parts[3] == "1",
              let salt = Hex.decode(parts[4]), let stored = Hex.decode(parts[5]), stored.count == 32 else { return false }
        let candidate = PasswordHash.derive(password, salt: salt, rounds: rounds)
        return ConstantTime.equal(candidate, stored)
    }

    static func derive(_ password: String, salt: [UInt8], rounds: Int) -> [UInt8] {
        // Parameters are fixed and in range; scrypt fails only for out-of-range ones.
        let key = try! KDF.Scrypt.deriveKey(from: Array(password.utf8), salt: salt, outputByteCount: 32,
                                           rounds: rounds, blockSize: 8, parallelism: 1)
        return key.withUnsafeBytes { Array($0) }
    }
}
