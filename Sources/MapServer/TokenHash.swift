import Crypto
import Foundation
import SystemSupport

/// Vehicle secrets, shown once; the store keeps only their SHA-256. Tokens are 32 random bytes as
/// hex; OsmAnd device ids are 24 random characters of a-z 0-9 (124 bits), short enough to type into
/// a phone's tracking app and of the characters every such app accepts.
enum TokenHash {
    static func newToken() -> String {
        var rng = SystemRandomNumberGenerator()
        return Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }

    static let deviceIDAlphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    static let deviceIDLength = 24

    static func newDeviceID() -> String {
        var rng = SystemRandomNumberGenerator()
        return String((0..<deviceIDLength).map { _ in deviceIDAlphabet[Int.random(in: 0..<deviceIDAlphabet.count, using: &rng)] })
    }

    /// Lowercase hex of the secret's SHA-256 (what the store keeps; looked up on every request).
    static func hash(_ token: String) -> String {
        Hex.encode(SHA256.hash(data: Data(token.utf8)))
    }

    /// Compares two secrets in time independent of where they differ (hashes first, so lengths leak nothing).
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(SHA256.hash(data: Data(a.utf8))), y = Array(SHA256.hash(data: Data(b.utf8)))
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
