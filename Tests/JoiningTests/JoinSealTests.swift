import Foundation
import Joining
import SystemSupport
import Testing

@Suite struct JoinSealTests {
    @Test func tokenTextRoundTrips() throws {
        let t = JoinToken.random()
        #expect(t.text.count == 16 + 1 + 32)
        #expect(try JoinToken(parsing: "  \(t.text.uppercased())\n") == t)
        for bad in ["", "abc", "0123456789abcdef", "0123456789abcdeg.00112233445566778899aabbccddeeff",
                    "0123456789abcdef.00112233445566778899aabbccddeef", "0123456789abcdef.00112233445566778899aabbccddeeff.00"] {
            #expect(throws: JoinError.badToken) { try JoinToken(parsing: bad) }
        }
    }

    @Test func theServiceAcceptsTheRouterAndTheRouterOpensTheAnswer() throws {
        let token = JoinToken.random()
        let request = JoinRequest(token: token)
        let wire = try JSONEncoder().encode(request)
        let received = try JSONDecoder().decode(JoinRequest.self, from: wire)
        // The service stores only the token's key.
        let stored = token.key
        #expect(JoinSeal.verify(proof: received.proof, tokenKey: stored, id: received.tokenID, nonce: received.nonce))
        let config = Array(#"{"homeAddress":"2001:db8::1"}"#.utf8)
        let answer = JoinAnswer(sealed: JoinSeal.seal(config, tokenKey: stored, id: received.tokenID, nonce: received.nonce))
        let back = try JSONDecoder().decode(JoinAnswer.self, from: try JSONEncoder().encode(answer))
        #expect(try JoinSeal.open(back.sealed, tokenKey: token.key, id: token.id, nonce: request.nonce) == config)
        // The secret and the configuration are not on the wire.
        let onWire = String(decoding: wire, as: UTF8.self) + String(decoding: try JSONEncoder().encode(answer), as: UTF8.self)
        #expect(!onWire.contains(Hex.encode(token.secret)))
        #expect(!onWire.contains("2001:db8::1"))
    }

    @Test func aWrongSecretNeitherProvesNorOpens() throws {
        let token = JoinToken.random()
        let other = JoinToken(id: token.id, secret: JoinToken.random().secret)
        let request = JoinRequest(token: other)
        #expect(!JoinSeal.verify(proof: request.proof, tokenKey: token.key, id: token.id, nonce: request.nonce))
        let sealed = JoinSeal.seal([1, 2, 3], tokenKey: token.key, id: token.id, nonce: request.nonce)
        #expect(throws: JoinError.sealBroken) { try JoinSeal.open(sealed, tokenKey: other.key, id: token.id, nonce: request.nonce) }
        var flipped = sealed
        flipped[flipped.count - 1] ^= 1
        #expect(throws: JoinError.sealBroken) { try JoinSeal.open(flipped, tokenKey: token.key, id: token.id, nonce: request.nonce) }
        // Another nonce (a replayed answer) does not open either.
        #expect(throws: JoinError.sealBroken) { try JoinSeal.open(sealed, tokenKey: token.key, id: token.id, nonce: JoinRequest(token: token).nonce) }
    }

    @Test func malformedRequestsNameTheirField() {
        let cases: [(String, String)] = [
            (#"{"token_id":"xyz","nonce":"00","proof":"00"}"#, "token_id"),
            (#"{"token_id":"0123456789abcdef","nonce":"00","proof":"00"}"#, "nonce"),
            (#"{"token_id":"0123456789abcdef","nonce":"\#(String(repeating: "0", count: 64))","proof":"0"}"#, "proof"),
        ]
        for (text, field) in cases {
            #expect(throws: JoinError.malformed(field: field)) { try JSONDecoder().decode(JoinRequest.self, from: Data(text.utf8)) }
        }
    }
}
