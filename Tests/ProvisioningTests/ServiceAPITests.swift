import Foundation
import Hummingbird
import HummingbirdTesting
import Joining
import Mobility
import MobilityLinux
import Provisioning
import ProvisioningService
import Testing

@Suite struct ServiceAPITests {
    static let bicycle = #"{"name":"Bicycle 1","prefixes":2,"uplinks":[{"name":"wlan0","technology":"wlan"},{"name":"wwan0","technology":"cellular"}],"ingress":"lan0","multiple_care_of":true}"#

    @Test func signUpJoinRevokeAndRekey() async throws {
        let f = try ServiceFixture()
        try await f.app.test(.router) { client in
            let user = try await client.signUp("alice")
            let created = try await client.execute(uri: "/api/v1/routers", method: .post, headers: bearer(user), body: jsonBody(Self.bicycle)) { r in
                #expect(r.status == .created, "\(String(buffer: r.body))")
                return try object(r.body)
            }
            let router = try #require(created["router"] as? [String: Any])
            let id = try #require(router["id"] as? Int)
            #expect(router["home_address"] as? String == "2001:db8:1::1000")
            #expect(router["prefixes"] as? [String] == ["2001:db8:100::/64", "2001:db8:100:1::/64"])
            #expect(router["spi"] as? Int == 256)
            #expect(router["key"] == nil)
            let key = try #require(created["key"] as? String)
            #expect(key.count == 32)
            let tokenText = try #require(created["join_token"] as? String)
            #expect((created["join_command"] as? String)?.contains("--join http://[2001:db8:ff::5]:8090 --token \(tokenText)") == true)

            // The HA's accounts file has the router, its key, and is 0600.
            let accounts = try f.accounts()
            #expect(accounts.map(\.homeAddress) == ["2001:db8:1::1000"])
            #expect(accounts.first?.key == key)
            let mode = try FileManager.default.attributesOfItem(atPath: f.folder + "/accounts.json")[.posixPermissions] as? Int
            #expect(mode == 0o600)
            // The HA accepts the file as it is written.
            let ha = try JSONDecoder().decode(HomeAgentFile.self, from: Data(#"{"homeAgentAddress":"2001:db8:1::1","mobileRouters":[],"accountsFile":"\#(f.folder)/accounts.json"}"#.utf8))
            #expect(try ha.includingAccountsFile().homeAgentConfiguration().accounts.count == 1)

            // The router joins: its configuration opens with the token, and only once.
            let token = try JoinToken(parsing: tokenText)
            let request = JoinRequest(token: token)
            let sealed = try await client.execute(uri: "/api/v1/join", method: .post, headers: jsonHeaders,
                                                  body: ByteBuffer(bytes: try JSONEncoder().encode(request))) { r in
                #expect(r.status == .ok)
                return try JSONDecoder().decode(JoinAnswer.self, from: Data(r.body.readableBytesView))
            }
            let plain = try JoinSeal.open(sealed.sealed, tokenKey: token.key, id: token.id, nonce: request.nonce)
            let file = try JSONDecoder().decode(MobileRouterFile.self, from: Data(plain))
            #expect(file.key == key && file.homeAddress == "2001:db8:1::1000" && file.spi == 256)
            #expect(file.homeAgentEndpoints == ["2001:db8:ff::1"] && file.homeAgentAddress == "2001:db8:1::1")
            #expect(file.uplinks.map(\.name) == ["wlan0", "wwan0"] && file.uplinks.map(\.technology) == ["wlan", "cellular"])
            #expect(file.ingress?.interface == "lan0" && file.ingress?.address == "2001:db8:100::1/64")
            try await client.execute(uri: "/api/v1/join", method: .post, headers: jsonHeaders,
                                     body: ByteBuffer(bytes: try JSONEncoder().encode(JoinRequest(token: token)))) { r in
                #expect(r.status == .forbidden)
            }

            // Re-key: a new key in the HA's file and a new token.
            let rekeyed = try await client.execute(uri: "/api/v1/routers/\(id)/rekey", method: .post, headers: bearer(user)) { r in
                #expect(r.status == .ok)
                return try object(r.body)
            }
            let newKey = try #require(rekeyed["key"] as? String)
            #expect(newKey != key)
            #expect(try f.accounts().first?.key == newKey)

            // Suspend is the operator's; revoke empties the HA's file for good.
            try await client.execute(uri: "/api/v1/routers/\(id)/suspend", method: .post, headers: bearer(user)) { r in
                #expect(r.status == .forbidden)
            }
            let op = try await client.login("operator", ServiceFixture.operatorPassword)
            try await client.execute(uri: "/api/v1/routers/\(id)/suspend", method: .post, headers: bearer(op)) { r in #expect(r.status == .ok) }
            #expect(try f.accounts().isEmpty)
            try await client.execute(uri: "/api/v1/routers/\(id)/resume", method: .post, headers: bearer(op)) { r in #expect(r.status == .ok) }
            #expect(try f.accounts().count == 1)
            try await client.execute(uri: "/api/v1/routers/\(id)/revoke", method: .post, headers: bearer(user)) { r in #expect(r.status == .ok) }
            #expect(try f.accounts().isEmpty)
            try await client.execute(uri: "/api/v1/routers/\(id)/resume", method: .post, headers: bearer(op)) { r in #expect(r.status == .badRequest) }
            try await client.execute(uri: "/api/v1/routers/\(id)/rekey", method: .post, headers: bearer(op)) { r in #expect(r.status == .badRequest) }

            // A second router gets the next numbers, never the revoked one's.
            let second = try await client.execute(uri: "/api/v1/routers", method: .post, headers: bearer(user), body: jsonBody(Self.bicycle)) { r in
                try object(r.body)["router"] as? [String: Any]
            }
            #expect(second?["home_address"] as? String == "2001:db8:1::1001")
            #expect(second?["prefixes"] as? [String] == ["2001:db8:100:2::/64", "2001:db8:100:3::/64"])
            #expect(second?["spi"] as? Int == 257)
        }
    }

    @Test func operatorChangesAndUserSuspension() async throws {
        let f = try ServiceFixture()
        try await f.app.test(.router) { client in
            let user = try await client.signUp("bob-rider")
            let id = try await client.execute(uri: "/api/v1/routers", method: .post, headers: bearer(user), body: jsonBody(Self.bicycle)) { r in
                try #require((try object(r.body)["router"] as? [String: Any])?["id"] as? Int)
            }
            let op = try await client.login("operator", ServiceFixture.operatorPassword)
            try await client.execute(uri: "/api/v1/routers/\(id)", method: .patch, headers: bearer(op),
                                     body: jsonBody(#"{"lifetime":120,"multiple_care_of":false,"prefixes":3}"#)) { r in
                #expect(r.status == .ok, "\(String(buffer: r.body))")
            }
            let account = try #require(try f.accounts().first)
            #expect(account.maximumLifetime == 120 && account.maximumBindings == 1 && account.prefixes.count == 3)
            try await client.execute(uri: "/api/v1/routers/\(id)", method: .patch, headers: bearer(op), body: jsonBody(#"{"prefixes":1}"#)) { r in
                #expect(r.status == .ok)
            }
            #expect(try f.accounts().first?.prefixes == [IPv6Prefix("2001:db8:100::/64")!])
            // Suspending the owner takes their routers out of the HA and ends their session.
            let users = try await client.execute(uri: "/api/v1/users", method: .get, headers: bearer(op)) { r in
                try #require(try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [[String: Any]])
            }
            let bobID = try #require(users.first { $0["name"] as? String == "bob-rider" }?["id"] as? Int)
            try await client.execute(uri: "/api/v1/users/\(bobID)/suspend", method: .post, headers: bearer(op)) { r in #expect(r.status == .ok) }
            #expect(try f.accounts().isEmpty)
            try await client.execute(uri: "/api/v1/routers", method: .get, headers: bearer(user)) { r in #expect(r.status == .unauthorized) }
            try await client.execute(uri: "/api/v1/sessions", method: .post, headers: jsonHeaders,
                                     body: jsonBody(#"{"name":"bob-rider","password":"bob-rider-password"}"#)) { r in #expect(r.status == .unauthorized) }
            try await client.execute(uri: "/api/v1/users/\(bobID)/restore", method: .post, headers: bearer(op)) { r in #expect(r.status == .ok) }
            #expect(try f.accounts().count == 1)
        }
    }

    @Test func badInputIsRefusedAndChangesNothing() async throws {
        let f = try ServiceFixture()
        try await f.app.test(.router) { client in
            let user = try await client.signUp("carol")
            func refused(_ uri: String, _ method: HTTPRequest.Method = .post, headers: HTTPFields, _ body: String,
                         _ status: HTTPResponse.Status, field: String? = nil) async throws {
                try await client.execute(uri: uri, method: method, headers: headers, body: jsonBody(body)) { r in
                    #expect(r.status == status, "\(uri) \(body.prefix(200)): \(String(buffer: r.body))")
                    let o = try object(r.body)
                    #expect((o["detail"] as? String)?.isEmpty == false)
                    if let field { #expect(o["field"] as? String == field, "\(body.prefix(200))") }
                }
            }
            let u = bearer(user)
            try await refused("/api/v1/routers", headers: u, #"{"prefixes":1,"uplinks":[]}"#, .badRequest)
            try await refused("/api/v1/routers", headers: u, #"{"name":"x","prefixes":1,"uplinks":[],"multiple_care_of":true}"#, .badRequest, field: "uplinks")
            try await refused("/api/v1/routers", headers: u, #"{"name":"x","prefixes":99,"uplinks":[{"name":"w","technology":"wlan"}],"multiple_care_of":true}"#, .badRequest, field: "prefixes")
            try await refused("/api/v1/routers", headers: u, #"{"name":"x","prefixes":1,"uplinks":[{"name":"w","technology":"radio"}],"multiple_care_of":true}"#, .badRequest)
            try await refused("/api/v1/routers", headers: u, #"{"name":"<b>","prefixes":1,"uplinks":[{"name":"w","technology":"wlan"}],"multiple_care_of":true}"#, .badRequest, field: "name")
            try await refused("/api/v1/routers", headers: u, "not json", .badRequest)
            try await refused("/api/v1/routers", headers: [.contentType: "application/json"], Self.bicycle, .unauthorized)
            try await refused("/api/v1/routers", headers: [.contentType: "text/plain", .authorization: "Bearer \(user)"], Self.bicycle, .unsupportedMediaType)
            try await refused("/api/v1/routers", headers: u, "{\"name\":\"" + String(repeating: "a", count: 20_000) + "\"}", .contentTooLarge)
            try await refused("/api/v1/users", headers: jsonHeaders, #"{"name":"carol","password":"0123456789"}"#, .badRequest, field: "name")
            try await refused("/api/v1/users", headers: jsonHeaders, #"{"name":"dave","password":"short"}"#, .badRequest, field: "password")
            try await refused("/api/v1/users", headers: jsonHeaders, #"{"name":"eve-op","password":"0123456789","role":"operator"}"#, .forbidden)
            try await refused("/api/v1/join", headers: jsonHeaders, #"{"token_id":"zz","nonce":"00","proof":"00"}"#, .badRequest)
            try await refused("/api/v1/join", headers: jsonHeaders, #"{"token_id":"0123456789abcdef","nonce":"\#(String(repeating: "0", count: 64))","proof":"\#(String(repeating: "0", count: 64))"}"#, .forbidden)
            // Wrong role.
            try await refused("/api/v1/settings", .put, headers: u, "{}", .forbidden)
            try await refused("/api/v1/users/1/suspend", headers: u, "", .forbidden)
            try await refused("/api/v1/statistics", .get, headers: u, "", .forbidden)
            // Settings: overlapping pool, bad prefix: 400 naming the field, settings unchanged.
            let op = bearer(try await client.login("operator", ServiceFixture.operatorPassword))
            var s = plan
            s.prefixPool = IPv6Prefix("2001:db8::/32")!
            let e = JSONEncoder()
            e.keyEncodingStrategy = .convertToSnakeCase
            try await refused("/api/v1/settings", .put, headers: op, String(decoding: try e.encode(s), as: UTF8.self), .badRequest, field: "prefixPool")
            try await refused("/api/v1/settings", .put, headers: op, #"{"home_prefix":"nonsense"}"#, .badRequest)
            #expect(try f.store.settings() == plan)
            // Nothing was signed up by any of it.
            #expect(try f.store.routers().isEmpty)
            // An expired session is refused.
            _ = f.clock.advance(by: .seconds(13 * 3600))
            try await refused("/api/v1/routers", .get, headers: u, "", .unauthorized)
        }
    }

    @Test func repeatedWrongPasswordsAreThrottled() async throws {
        let f = try ServiceFixture()
        try await f.app.test(.router) { client in
            for _ in 0..<5 {
                try await client.execute(uri: "/api/v1/sessions", method: .post, headers: jsonHeaders,
                                         body: jsonBody(#"{"name":"operator","password":"guess-guess"}"#)) { r in #expect(r.status == .unauthorized) }
            }
            // Even the right password waits out the window.
            try await client.execute(uri: "/api/v1/sessions", method: .post, headers: jsonHeaders,
                                     body: jsonBody(#"{"name":"operator","password":"\#(ServiceFixture.operatorPassword)"}"#)) { r in
                #expect(r.status == .tooManyRequests)
            }
            _ = f.clock.advance(by: .seconds(301))
            _ = try await client.login("operator", ServiceFixture.operatorPassword)
        }
    }
}

@Suite struct ServiceIPv4Tests {
    @Test func withAnIPv4PoolEachRouterGetsAnIPv4HomeAddressTheHAAndTheRouterAgreeOn() async throws {
        var settings = plan
        settings.ipv4Pool = IPv4Pool("192.0.2.64/30")   // two addresses: .65 and .66
        let f = try ServiceFixture(settings: settings)
        try await f.app.test(.router) { client in
            let user = try await client.signUp("ivy-rider")
            var made: [[String: Any]] = []
            for _ in 0..<2 {
                made.append(try await client.execute(uri: "/api/v1/routers", method: .post, headers: bearer(user), body: jsonBody(ServiceAPITests.bicycle)) { r in
                    #expect(r.status == .created, "\(String(buffer: r.body))")
                    return try object(r.body)
                })
            }
            #expect(made.map { ($0["router"] as? [String: Any])?["ipv4_home_address"] as? String } == ["192.0.2.65", "192.0.2.66"])
            #expect(made.map { ($0["configuration"] as? [String: Any])?["ipv4_home_address"] as? String } == ["192.0.2.65", "192.0.2.66"])
            // The HA's own checks accept the file with them.
            #expect(try f.accounts().map(\.ipv4HomeAddress) == ["192.0.2.65", "192.0.2.66"])
            let ha = try JSONDecoder().decode(HomeAgentFile.self, from: Data(#"{"homeAgentAddress":"2001:db8:1::1","mobileRouters":[],"accountsFile":"\#(f.folder)/accounts.json"}"#.utf8))
            #expect(try ha.includingAccountsFile().homeAgentConfiguration().accounts.compactMap(\.ipv4HomeAddress).count == 2)
            // The pool is spent: the next sign-up is refused, naming it, and nothing is taken.
            try await client.execute(uri: "/api/v1/routers", method: .post, headers: bearer(user), body: jsonBody(ServiceAPITests.bicycle)) { r in
                let field = try object(r.body)["field"] as? String
                #expect(r.status == .badRequest && field == "ipv4Pool")
            }
            #expect(try f.store.routers().count == 2)
        }
    }

    @Test func poolsAreCheckedWhereverTheyComeFrom() throws {
        #expect(IPv4Pool("192.0.2.64/26")?.capacity == 62)
        #expect(IPv4Pool("192.0.2.64/26")?.address(number: 61)?.description == "192.0.2.126")
        #expect(IPv4Pool("192.0.2.64/26")?.address(number: 62) == nil)
        for bad in ["192.0.2.65/26", "192.0.2.0/31", "10.0.0.0/8", "127.0.0.0/24", "224.0.0.0/24", "192.0.2.0", "192.0.2.0/", "192.0.2.0/100", "x/24"] {
            #expect(IPv4Pool(bad) == nil, "\(bad)")
        }
        let form = "homePrefix=2001:db8:1::/64&homeAgentAddress=2001:db8:1::1&homeAgentEndpoints=2001:db8:ff::1&port=4191&prefixPool=2001:db8:100::/48&defaultLifetime=600&maximumPrefixesPerRouter=4&joinTokenLifetime=3600"
        #expect(try ServiceSettings(form: try FormBody(parsing: Array(form.utf8))).ipv4Pool == nil)
        #expect(try ServiceSettings(form: try FormBody(parsing: Array((form + "&ipv4Pool=192.0.2.64%2F26").utf8))).ipv4Pool == IPv4Pool("192.0.2.64/26"))
        #expect(throws: FieldError.self) { try ServiceSettings(form: FormBody(parsing: Array((form + "&ipv4Pool=192.0.2.65%2F26").utf8))) }
        // Settings saved before pools existed still read.
        let old = #"{"homePrefix":"2001:db8:1::/64","homeAgentAddress":"2001:db8:1::1","homeAgentEndpoints":["2001:db8:ff::1"],"port":4191,"prefixPool":"2001:db8:100::/48","defaultLifetime":600,"maximumPrefixesPerRouter":4,"multipleCareOfAllowed":true,"openSignUp":true,"joinTokenLifetime":86400}"#
        #expect(try JSONDecoder().decode(ServiceSettings.self, from: Data(old.utf8)).ipv4Pool == nil)
    }
}
