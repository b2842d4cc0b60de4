import Mobility
import Provisioning
import Telemetry
import Testing

let plan = ServiceSettings(homePrefix: IPv6Prefix("2001:db8:1::/64")!, homeAgentAddress: IPv6Address("2001:db8:1::1")!,
                           homeAgentEndpoints: ["2001:db8:ff::1"], prefixPool: IPv6Prefix("2001:db8:100::/48")!)

@Suite struct SettingsTests {
    @Test func addressesAreNumberedInsideTheirPrefixes() throws {
        try plan.validate()
        #expect(plan.homeAddress(number: 0) == IPv6Address("2001:db8:1::1000"))
        #expect(plan.homeAddress(number: 5) == IPv6Address("2001:db8:1::1005"))
        #expect(plan.mobileNetworkPrefix(number: 0) == IPv6Prefix("2001:db8:100::/64"))
        #expect(plan.mobileNetworkPrefix(number: 0x0102) == IPv6Prefix("2001:db8:100:102::/64"))
        #expect(plan.mobileNetworkPrefix(number: 0x1_0000) == nil)
        #expect(plan.mobileNetworkPrefix(number: 0xffff_ffff) == nil)
        var tiny = plan
        tiny.prefixPool = IPv6Prefix("2001:db8:200::/63")!
        #expect(tiny.mobileNetworkPrefix(number: 1) == IPv6Prefix("2001:db8:200:1::/64"))
        #expect(tiny.mobileNetworkPrefix(number: 2) == nil)
        #expect(plan.homeAddress(number: .max) == nil)
    }

    @Test func badSettingsNameTheirField() {
        func refused(_ change: (inout ServiceSettings) -> Void) -> String? {
            var s = plan
            change(&s)
            do { try s.validate(); return nil } catch { return error.field }
        }
        #expect(refused { $0.prefixPool = IPv6Prefix("2001:db8:1::/56")! } == "prefixPool")    // covers the home prefix
        #expect(refused { $0.prefixPool = IPv6Prefix("2001:db8::/32")! } == "prefixPool")      // covers it too
        #expect(refused { $0.prefixPool = IPv6Prefix("2001:db8:100::/72")! } == "prefixPool")
        #expect(refused { $0.homeAgentAddress = IPv6Address("2001:db8:2::1")! } == "homeAgentAddress")
        #expect(refused { $0.homePrefix = IPv6Prefix("2001:db8:1::/96")! } == "homePrefix")
        #expect(refused { $0.homeAgentEndpoints = [] } == "homeAgentEndpoints")
        #expect(refused { $0.homeAgentEndpoints = ["ha.example"] } == "homeAgentEndpoints")
        #expect(refused { $0.defaultLifetime = 0 } == "defaultLifetime")
        #expect(refused { $0.port = 0 } == "port")
        #expect(refused { $0.homeAgentEndpoints = ["192.0.2.1"] } == nil)
    }
}

@Suite struct SignUpFormTests {
    @Test func aFormBecomesARequest() throws {
        let form = try FormBody(parsing: Array("name=Bicycle+1&prefixes=2&uplinks=wlan0%3Awlan%2C+wwan0%3Acellular&ingress=lan0&mcoa=on".utf8))
        let r = try RouterRequest(form: form)
        #expect(r == RouterRequest(name: "Bicycle 1", prefixes: 2, uplinks: [.init(name: "wlan0", technology: .wlan), .init(name: "wwan0", technology: .cellular)],
                                   ingress: "lan0", multipleCareOf: true))
        try r.validate(against: plan)
    }

    @Test func badInputNamesItsField() throws {
        func field(_ body: String) -> String? {
            do {
                let r = try RouterRequest(form: try FormBody(parsing: Array(body.utf8)))
                try r.validate(against: plan)
                return nil
            } catch { return error.field }
        }
        #expect(field("prefixes=1&uplinks=wlan0:wlan") == "name")
        #expect(field("name=&uplinks=wlan0:wlan") == "name")
        #expect(field("name=a<script>&uplinks=wlan0:wlan") == "name")
        #expect(field("name=a&prefixes=9&uplinks=wlan0:wlan") == "prefixes")
        #expect(field("name=a&prefixes=-1&uplinks=wlan0:wlan") == "prefixes")
        // 0 prefixes is a mobile host, which has no ingress.
        #expect(field("name=a&prefixes=0&uplinks=wlan0:wlan") == nil)
        #expect(field("name=a&prefixes=0&uplinks=wlan0:wlan&ingress=eth0") == "ingress")
        #expect(field("name=a&prefixes=99999999999999999999999&uplinks=wlan0:wlan") == "prefixes")
        #expect(field("name=a&uplinks=") == "uplinks")
        #expect(field("name=a&uplinks=wlan0:radio") == "uplinks")
        #expect(field("name=a&uplinks=wlan0:wlan,wlan0:cellular") == "uplinks")
        #expect(field("name=a&uplinks=../x:wlan") == "uplinks")
        #expect(field("name=a&uplinks=wlan0:wlan&ingress=wlan0") == "ingress")
        #expect(field("name=a&name=b&uplinks=wlan0:wlan") == "name")
        #expect(field("name=%ZZ") == "form")
        #expect(field("name=%C3") == "form")
        var noMCoA = plan
        noMCoA.multipleCareOfAllowed = false
        #expect(throws: FieldError.self) { try RouterRequest(name: "a", uplinks: [.init(name: "w", technology: .wlan)]).validate(against: noMCoA) }
        #expect(field("name=ok&uplinks=wlan0:wlan") == nil)
    }
}

@Suite struct PasswordHashTests {
    @Test func verifiesOnlyTheRightPassword() {
        let h = PasswordHash(hashing: "correct horse", rounds: 1 << 10)
        #expect(h.text.hasPrefix("scrypt$1024$8$1$"))
        #expect(PasswordHash(storedText: h.text).verify("correct horse"))
        #expect(!h.verify("correct horsE"))
        #expect(!PasswordHash(storedText: "scrypt$99999999999999999999$8$1$00$00").verify("x"))
        #expect(!PasswordHash(storedText: "plain").verify("plain"))
        #expect(PasswordHash(hashing: "correct horse", rounds: 1 << 10) != h)  // salted
    }
}
