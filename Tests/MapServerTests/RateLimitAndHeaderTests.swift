import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import Telemetry
@testable import MapServer
import TestSupport
import Timekeeping

@Suite struct RateLimiterTests {
    @Test func aBurstThenTheRate() {
        let clock = ManualClock()
        let limiter = RateLimiter(limit: RateLimit(perSecond: 2, burst: 3))
        for _ in 0..<3 { #expect(limiter.admit("a", now: clock.now()) == .allowed) }
        #expect(limiter.admit("a", now: clock.now()) == .limited(retryAfterSeconds: 1))
        // Another client is not held back by the first.
        #expect(limiter.admit("b", now: clock.now()) == .allowed)
        clock.advance(by: .milliseconds(500))  // one token back at 2/s
        #expect(limiter.admit("a", now: clock.now()) == .allowed)
        #expect(limiter.admit("a", now: clock.now()) != .allowed)
        clock.advance(by: .seconds(3600))  // a long pause fills the bucket, never beyond the burst
        for _ in 0..<3 { #expect(limiter.admit("a", now: clock.now()) == .allowed) }
        #expect(limiter.admit("a", now: clock.now()) != .allowed)
    }

    @Test func retryAfterSaysWhenAToken() {
        let clock = ManualClock()
        let limiter = RateLimiter(limit: RateLimit(perSecond: 0.1, burst: 1))
        #expect(limiter.admit("a", now: clock.now()) == .allowed)
        #expect(limiter.admit("a", now: clock.now()) == .limited(retryAfterSeconds: 10))
        clock.advance(by: .seconds(4))
        #expect(limiter.admit("a", now: clock.now()) == .limited(retryAfterSeconds: 6))
    }

    @Test func aClockThatStepsBackRefillsNothing() {
        let clock = ManualClock()
        let limiter = RateLimiter(limit: RateLimit(perSecond: 1, burst: 1))
        #expect(limiter.admit("a", now: clock.now()) == .allowed)
        clock.set(clock.now() - .seconds(1000))
        #expect(limiter.admit("a", now: clock.now()) != .allowed)
        clock.set(.seconds(Double(Int64.max)))  // saturated far future: full, no trap
        #expect(limiter.admit("a", now: clock.now()) == .allowed)
    }

    @Test func manyStrangersCostAtMostMaxKeys() {
        let clock = ManualClock()
        let limiter = RateLimiter(limit: RateLimit(perSecond: 1, burst: 2), maxKeys: 100)
        for i in 0..<10_000 {
            _ = limiter.admit("stranger-\(i)", now: clock.now())
            _ = limiter.admit("stranger-\(i)", now: clock.now())
            _ = limiter.admit("stranger-\(i)", now: clock.now())
        }
        #expect(limiter.keyCount <= 100)
    }

    @Test func parsesWhatTheFlagAccepts() throws {
        #expect(try RateLimit.parse("50/200") == RateLimit(perSecond: 50, burst: 200))
        #expect(try RateLimit.parse("10") == RateLimit(perSecond: 10, burst: 40))
        #expect(try RateLimit.parse("0.5") == RateLimit(perSecond: 0.5, burst: 2))
        #expect(try RateLimit.parse("off") == nil)
        #expect(try RateLimit.parse("0") == nil)
        for bad in ["", "-1", "nan", "inf", "1e300", "5/0", "5/x", "5/99999999999999999999", "x/5", "/"] {
            #expect(throws: RateLimitParseError.self, "\(bad)") { try RateLimit.parse(bad) }
        }
    }

    @Test func clientsAreKeyedByAddressAndIPv6Prefix() {
        #expect(ClientKey.of(address: "192.0.2.7") == "192.0.2.7")
        #expect(ClientKey.of(address: "::ffff:192.0.2.7") == "192.0.2.7")
        #expect(ClientKey.of(address: "2001:db8:1:2::1") == "2001:db8:1:2::/64")
        #expect(ClientKey.of(address: "2001:db8:1:2:aaaa:bbbb:cccc:dddd") == ClientKey.of(address: "2001:db8:1:2::99"))
        #expect(ClientKey.of(address: "2001:db8:1:3::1") != ClientKey.of(address: "2001:db8:1:2::1"))
    }
}

@Suite struct TokenRateLimitTests {
    @Test func aFloodingTokenGets429WhileAnotherIsServed() async throws {
        let t = try await TestServer { $0.tokenRateLimit = RateLimit(perSecond: 1, burst: 3) }
        let flooder = try await t.addVehicle("bike-1")
        let other = try await t.addVehicle("bike-2")
        try await t.app.test(.router) { client in
            var statuses: [Int] = []
            for i in 1...5 {
                try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(flooder),
                                         body: batch([fixJSON(i, time: "2006-07-12T10:00:0\(i)Z", lat: 43, lon: 1)])) { r in
                    statuses.append(Int(r.status.code))
                    if r.status.code == 429 {
                        #expect(r.headers[.retryAfter] == "1")
                        #expect(jsonObject(r.body)["error"] as? String == "rate_limited")
                    }
                }
            }
            #expect(statuses == [200, 200, 200, 429, 429])
            try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(other),
                                     body: batch([fixJSON(1, time: "2006-07-12T10:00:01Z", lat: 43, lon: 1)])) { r in
                #expect(r.status == .ok)
            }
            t.clock.advance(by: .seconds(1))
            try await client.execute(uri: "/api/v1/telemetry", method: .post, headers: bearer(flooder),
                                     body: batch([fixJSON(9, time: "2006-07-12T10:00:09Z", lat: 43, lon: 1)])) { r in
                #expect(r.status == .ok)
            }
        }
        // What was refused was not stored: three, then the one after the wait.
        #expect(try await t.server.store.records(vehicleID: "bike-1", kind: .fix, from: nil, to: nil).map(\.seq) == [1, 2, 3, 9])
    }
}

@Suite struct SecurityHeaderTests {
    @Test func everyAnswerCarriesThem() async throws {
        let t = try await TestServer { $0.liveVideo = ["car-1": "http://198.51.100.4:8090/stream.mjpg"] }
        try await t.app.test(.router) { client in
            for uri in ["/api/v1/vehicles", "/api/v1/nothing-here", "/healthz"] {
                try await client.execute(uri: uri, method: .get) { r in
                    let csp = r.headers[.contentSecurityPolicy] ?? ""
                    #expect(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "\(uri)")
                    #expect(csp.contains("img-src 'self' data: blob: https://tile.openstreetmap.org http://198.51.100.4:8090"), "\(csp)")
                    #expect(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"))
                    #expect(r.headers[.xContentTypeOptions] == "nosniff")
                    #expect(r.headers[SecurityHeadersMiddleware<ServerRequestContext>.frameOptions] == "DENY")
                }
            }
        }
    }

    @Test func imageSourcesFromURLs() {
        #expect(ContentSecurityPolicy.source(of: "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png") == "https://*.tile.openstreetmap.org")
        #expect(ContentSecurityPolicy.source(of: "http://127.0.0.1:8091/tiles/{z}/{x}/{y}.png") == "http://127.0.0.1:8091")
        #expect(ContentSecurityPolicy.source(of: "http://[2001:db8::1]:8090/stream.mjpg") == "http:")
        #expect(ContentSecurityPolicy.source(of: "https://a.{s}.example.org/x") == "https:")
        #expect(ContentSecurityPolicy.source(of: "https://evil.org; script-src *") == "https:")
        #expect(ContentSecurityPolicy.source(of: "javascript:alert(1)") == nil)
        #expect(ContentSecurityPolicy.source(of: "") == nil)
    }
}

/// The stored form of a secret must stay what earlier servers wrote (databases keep it): lowercase
/// hex of SHA-256, checked against the FIPS 180-2 example.
@Suite struct TokenHashTests {
    @Test func theStoredHashIsLowercaseHexOfSHA256() {
        #expect(TokenHash.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(TokenHash.newToken().count == 64 && TokenHash.newToken().allSatisfy { "0123456789abcdef".contains($0) })
    }
}
