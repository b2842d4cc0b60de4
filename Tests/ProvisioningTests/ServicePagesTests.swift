import Foundation
import HTTPTypes
import Mobility
import Hummingbird
import HummingbirdTesting
import Provisioning
import ProvisioningService
import Testing

/// The pages as a browser drives them: forms, the session cookie, CSRF tokens.
@Suite struct ServicePagesTests {
    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    static func cookieHeaders(_ cookie: String) -> HTTPFields { [.contentType: "application/x-www-form-urlencoded", .cookie: cookie] }

    /// `nemo_session=…` from a Set-Cookie answer.
    static func sessionCookie(_ r: TestResponse) throws -> String {
        let set = try #require(r.headers[.setCookie])
        #expect(set.contains("HttpOnly") && set.contains("SameSite=Strict"))
        return try #require(set.split(separator: ";").first.map(String.init))
    }

    /// The CSRF token of the first form on a page.
    static func csrf(_ page: String) throws -> String {
        let marker = "name=\"csrf\" value=\""
        let start = try #require(page.range(of: marker)).upperBound
        return String(page[start...].prefix { $0 != "\"" })
    }

    static func value(_ page: String, id: String) throws -> String {
        let start = try #require(page.range(of: "id=\"\(id)\">")).upperBound
        return String(page[start...].prefix { $0 != "<" })
    }

    @Test func aStrangerSignsUpAVehicleOnThePage() async throws {
        let f = try ServiceFixture()
        try await f.app.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { r in #expect(r.status == .seeOther && r.headers[.location] == "/login") }
            try await client.execute(uri: "/signup", method: .get) { r in #expect(r.status == .ok && String(buffer: r.body).contains("name=\"password\"")) }
            let cookie = try await client.execute(uri: "/signup", method: .post, headers: Self.form,
                                                  body: ByteBuffer(string: "name=frank&password=frank-password")) { r in
                #expect(r.status == .seeOther && r.headers[.location] == "/routers/new")
                return try Self.sessionCookie(r)
            }
            let newPage = try await client.execute(uri: "/routers/new", method: .get, headers: [.cookie: cookie]) { r in
                #expect(r.status == .ok)
                return String(buffer: r.body)
            }
            let csrf = try Self.csrf(newPage)
            let body = "name=Car&prefixes=1&uplinks=wlan0%3Awlan%2C+wwan0%3Acellular&ingress=eth0&mcoa=on"
            // No CSRF token, a wrong one, or another site's form: refused, nothing signed up.
            for (b, h) in [(body, Self.cookieHeaders(cookie)), (body + "&csrf=00", Self.cookieHeaders(cookie)),
                           (body + "&csrf=\(csrf)", Self.cookieHeaders(cookie) + [HTTPField(name: .origin, value: "http://evil.example")])] {
                try await client.execute(uri: "/routers", method: .post, headers: h, body: ByteBuffer(string: b)) { r in
                    #expect(r.status == .forbidden)
                }
            }
            #expect(try f.store.routers().isEmpty)
            // The API does not take the cookie.
            try await client.execute(uri: "/api/v1/routers", method: .get, headers: [.cookie: cookie]) { r in #expect(r.status == .unauthorized) }
            // A bad field: the form again, with the message, the input escaped.
            try await client.execute(uri: "/routers", method: .post, headers: Self.cookieHeaders(cookie),
                                     body: ByteBuffer(string: "name=%3Cscript%3E&uplinks=wlan0:wlan&csrf=\(csrf)")) { r in
                let page = String(buffer: r.body)
                #expect(r.status == .badRequest && page.contains("name: use 1 to 64") && !page.contains("<script>"))
            }
            let created = try await client.execute(uri: "/routers", method: .post, headers: Self.cookieHeaders(cookie),
                                                   body: ByteBuffer(string: body + "&csrf=\(csrf)")) { r in
                #expect(r.status == .created)
                return String(buffer: r.body)
            }
            let token = try Self.value(created, id: "join-token")
            let key = try Self.value(created, id: "key")
            #expect(created.contains("nemo mr --config /etc/nemo/mr.json --join http://[2001:db8:ff::5]:8090 --token \(token)"))
            #expect(try f.accounts().first?.key == key)
            let id = try #require(try f.store.routers().first?.id)
            // The router page never shows the key again.
            try await client.execute(uri: "/routers/\(id)", method: .get, headers: [.cookie: cookie]) { r in
                #expect(r.status == .ok && !String(buffer: r.body).contains(key))
            }
            // Download mr.json: once.
            try await client.execute(uri: "/routers/\(id)/mr.json", method: .post, headers: Self.cookieHeaders(cookie),
                                     body: ByteBuffer(string: "token=\(token)&csrf=\(csrf)")) { r in
                #expect(r.status == .ok && r.headers[.contentDisposition]?.contains("mr.json") == true)
                #expect(String(buffer: r.body).contains(key))
            }
            try await client.execute(uri: "/routers/\(id)/mr.json", method: .post, headers: Self.cookieHeaders(cookie),
                                     body: ByteBuffer(string: "token=\(token)&csrf=\(csrf)")) { r in #expect(r.status == .forbidden) }
            // Users do not see operator pages.
            try await client.execute(uri: "/operator", method: .get, headers: [.cookie: cookie]) { r in #expect(r.status == .forbidden) }
            // Log out ends the session.
            try await client.execute(uri: "/logout", method: .post, headers: Self.cookieHeaders(cookie), body: ByteBuffer(string: "csrf=\(csrf)")) { r in
                #expect(r.status == .seeOther)
            }
            try await client.execute(uri: "/routers", method: .get, headers: [.cookie: cookie]) { r in #expect(r.headers[.location] == "/login") }
        }
    }

    @Test func theOperatorSeesAndControlsEveryRouter() async throws {
        let f = try ServiceFixture()
        let user = try f.store.createUser(name: "gina", password: "gina-password", role: .user, now: 0)
        _ = try f.store.createRouter(owner: user, request: RouterRequest(name: "Bicycle", uplinks: [.init(name: "wlan0", technology: .wlan)]), now: 0)
        try await f.app.test(.router) { client in
            try await client.execute(uri: "/login", method: .post, headers: Self.form, body: ByteBuffer(string: "name=operator&password=wrong-password")) { r in
                #expect(r.status == .unauthorized && String(buffer: r.body).contains("wrong name or password"))
            }
            let cookie = try await client.execute(uri: "/login", method: .post, headers: Self.form,
                                                  body: ByteBuffer(string: "name=operator&password=\(ServiceFixture.operatorPassword)")) { r in
                #expect(r.headers[.location] == "/operator")
                return try Self.sessionCookie(r)
            }
            let page = try await client.execute(uri: "/operator", method: .get, headers: [.cookie: cookie]) { r in
                #expect(r.status == .ok)
                return String(buffer: r.body)
            }
            #expect(page.contains("Bicycle") && page.contains("gina") && page.contains("2001:db8:1::1000"))
            let csrf = try Self.csrf(page)
            let id = try #require(try f.store.routers().first?.id)
            try await client.execute(uri: "/routers/\(id)/suspend", method: .post, headers: Self.cookieHeaders(cookie), body: ByteBuffer(string: "csrf=\(csrf)")) { r in
                #expect(r.status == .seeOther)
            }
            #expect(try f.accounts().isEmpty)
            try await client.execute(uri: "/routers/\(id)/change", method: .post, headers: Self.cookieHeaders(cookie),
                                     body: ByteBuffer(string: "lifetime=abc&csrf=\(csrf)")) { r in #expect(r.status == .badRequest) }
            try await client.execute(uri: "/routers/\(id)/change", method: .post, headers: Self.cookieHeaders(cookie),
                                     body: ByteBuffer(string: "lifetime=300&prefixes=2&mcoa=no&csrf=\(csrf)")) { r in #expect(r.status == .seeOther) }
            let r = try #require(try f.store.router(id: id))
            #expect(r.lifetime == 300 && r.prefixes.count == 2 && !r.multipleCareOf)
            // Settings: an overlapping pool is refused with its message; nothing changes.
            let settingsPage = try await client.execute(uri: "/operator/settings", method: .get, headers: [.cookie: cookie]) { r in String(buffer: r.body) }
            #expect(settingsPage.contains("2001:db8:100::/48"))
            let good = "homePrefix=2001:db8:1::/64&homeAgentAddress=2001:db8:1::1&homeAgentEndpoints=2001:db8:ff::1&port=4191&defaultLifetime=600&maximumPrefixesPerRouter=4&joinTokenLifetime=3600&multipleCareOfAllowed=on&openSignUp=on&csrf=\(csrf)"
            try await client.execute(uri: "/operator/settings", method: .post, headers: Self.cookieHeaders(cookie),
                                     body: ByteBuffer(string: good + "&prefixPool=2001:db8:1::/56")) { r in
                #expect(r.status == .badRequest && String(buffer: r.body).contains("overlaps the home prefix"))
            }
            #expect(try f.store.settings() == plan)
            try await client.execute(uri: "/operator/settings", method: .post, headers: Self.cookieHeaders(cookie),
                                     body: ByteBuffer(string: good + "&prefixPool=2001:db8:200::/48")) { r in #expect(r.status == .seeOther) }
            #expect(try f.store.settings().prefixPool == IPv6Prefix("2001:db8:200::/48"))
            try await client.execute(uri: "/operator/statistics", method: .get, headers: [.cookie: cookie]) { r in
                #expect(r.status == .ok && String(buffer: r.body).contains("signup"))
            }
        }
    }
}

