import Foundation
import Hummingbird
import HummingbirdTesting
import Joining
import MobilityLinux
import Provisioning
import ProvisioningService
import Testing

/// A mobile host signs up (0 prefixes): it gets a home address and a key, no prefix; its account
/// refuses the R flag; its configuration has no ingress, and `nemo mr` runs it as a host.
@Suite struct MobileHostSignUpTests {
    static let laptop = #"{"name":"Alice's laptop","prefixes":0,"uplinks":[{"name":"wlan0","technology":"wlan"},{"name":"wwan0","technology":"cellular"}],"multiple_care_of":true}"#

    @Test func aMobileHostGetsAHomeAddressAndNoPrefix() async throws {
        let f = try ServiceFixture()
        try await f.app.test(.router) { client in
            let user = try await client.signUp("alice")
            let created = try await client.execute(uri: "/api/v1/routers", method: .post, headers: bearer(user), body: jsonBody(Self.laptop)) { r in
                #expect(r.status == .created, "\(String(buffer: r.body))")
                return try object(r.body)
            }
            let router = try #require(created["router"] as? [String: Any])
            let id = try #require(router["id"] as? Int)
            #expect(router["prefixes"] as? [String] == [])
            #expect(router["home_address"] as? String == "2001:db8:1::1000")
            // The HA's account: no prefix, router operation refused; the HA takes the file.
            let account = try #require(try f.accounts().first)
            #expect(account.prefixes.isEmpty && account.mobileRouterAllowed == false)
            let ha = try JSONDecoder().decode(HomeAgentFile.self, from: Data(#"{"homeAgentAddress":"2001:db8:1::1","mobileRouters":[],"accountsFile":"\#(f.folder)/accounts.json"}"#.utf8))
            let accounts = try ha.includingAccountsFile().homeAgentConfiguration().accounts
            #expect(accounts.count == 1 && accounts[0].prefixes.isEmpty && !accounts[0].mobileRouterAllowed)
            // Its configuration runs `nemo mr` as a host: no prefix, no ingress.
            let token = try JoinToken(parsing: try #require(created["join_token"] as? String))
            let request = JoinRequest(token: token)
            let sealed = try await client.execute(uri: "/api/v1/join", method: .post, headers: jsonHeaders,
                                                  body: ByteBuffer(bytes: try JSONEncoder().encode(request))) { r in
                try JSONDecoder().decode(JoinAnswer.self, from: Data(r.body.readableBytesView))
            }
            let file = try JSONDecoder().decode(MobileRouterFile.self, from: Data(try JoinSeal.open(sealed.sealed, tokenKey: token.key, id: token.id, nonce: request.nonce)))
            #expect(file.prefixes.isEmpty && file.ingress == nil)
            #expect(try !file.mobileRouterConfiguration().isMobileRouter)
            // A host has no prefixes to change.
            let op = try await client.login("operator", ServiceFixture.operatorPassword)
            try await client.execute(uri: "/api/v1/routers/\(id)", method: .patch, headers: bearer(op), body: jsonBody(#"{"prefixes":1}"#)) { r in
                #expect(r.status == .badRequest && String(buffer: r.body).contains("mobile host"), "\(String(buffer: r.body))")
            }
            #expect(try f.accounts().first?.prefixes.isEmpty == true)
        }
    }

    @Test func aHostWithAnIngressIsRefusedNamingTheField() throws {
        var request = RouterRequest(name: "Laptop", prefixes: 0, uplinks: [.init(name: "wlan0", technology: .wlan)], ingress: "eth0")
        #expect(throws: FieldError("ingress", "a mobile host (0 prefixes) has no network behind it: leave ingress empty, or ask for a prefix")) {
            try request.validate(against: plan)
        }
        request.ingress = nil
        try request.validate(against: plan)
        #expect(request.isMobileHost)
        request.prefixes = -1
        #expect(throws: FieldError.self) { try request.validate(against: plan) }
    }
}
