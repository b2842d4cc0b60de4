import Foundation
import Mobility
@testable import MobilityLinux
import Testing

/// Configuration values from files and flags are checked at start, with a message naming the
/// entries involved: nothing from a file reaches arithmetic or the binding cache unchecked.
@Suite("nemo configuration files")
struct ConfigurationTests {
    func homeAgent(_ routers: String, extra: String = "") throws -> HomeAgentConfiguration {
        let json = #"{"homeAgentAddress": "2001:db8:ffff::1", \#(extra) "mobileRouters": [\#(routers)]}"#
        return try JSONDecoder().decode(HomeAgentFile.self, from: Data(json.utf8)).homeAgentConfiguration()
    }

    func router(_ hoa: String, prefixes: [String], key: String = "0102030405060708090a0b0c0d0e0f10", spi: Int = 256, extra: String = "") -> String {
        #"{"homeAddress": "\#(hoa)", "spi": \#(spi), "key": "\#(key)", "prefixes": [\#(prefixes.map { "\"\($0)\"" }.joined(separator: ","))] \#(extra)}"#
    }

    func refusal(_ body: () throws -> Any) -> String {
        do {
            _ = try body()
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test("The keys both daemons' files share: defaults, and the same ones for HA and MR")
    func sharedDaemonKeys() throws {
        func defaults(_ file: some DaemonFile) -> String { "\(file.tunnelName) \(file.tunnelMTU)" }
        let ha = try JSONDecoder().decode(HomeAgentFile.self, from: Data(#"{"homeAgentAddress": "2001:db8:ffff::1", "mobileRouters": []}"#.utf8))
        #expect(defaults(ha) == "nemo0 1400")
        var mr = try JSONDecoder().decode(MobileRouterFile.self, from: Data(#"""
            {"homeAddress": "2001:db8:ffff::10", "homeAgentAddress": "2001:db8:ffff::1", "homeAgentEndpoints": ["2001:db8:f::1"],
             "prefixes": [], "spi": 256, "key": "0102030405060708090a0b0c0d0e0f10", "uplinks": [], "tunnel": "nemo7", "mtu": 1300}
            """#.utf8))
        #expect(defaults(mr) == "nemo7 1300")
        mr.tunnel = nil
        #expect(mr.tunnelName == "nemo0")
    }

    @Test("Overlapping prefixes and duplicate home addresses are refused, naming both entries")
    func overlapsAndDuplicates() throws {
        let ok = try homeAgent([router("2001:db8:ffff::10", prefixes: ["2001:db8:aaaa::/48"]), router("2001:db8:ffff::11", prefixes: ["2001:db8:bbbb::/48"])].joined(separator: ","))
        #expect(ok.accounts.count == 2)
        let overlap = refusal { try homeAgent([router("2001:db8:ffff::10", prefixes: ["2001:db8:aaaa::/48"]),
                                                router("2001:db8:ffff::11", prefixes: ["2001:db8:cccc::/48", "2001:db8:aaaa:5::/64"])].joined(separator: ",")) }
        #expect(overlap.contains("mobileRouters[1].prefixes[1] 2001:db8:aaaa:5::/64 overlaps mobileRouters[0].prefixes[0] 2001:db8:aaaa::/48"), "\(overlap)")
        let same = refusal { try homeAgent([router("2001:db8:ffff::10", prefixes: ["2001:db8:aaaa::/48"]),
                                             router("2001:db8:ffff::10", prefixes: ["2001:db8:bbbb::/48"])].joined(separator: ",")) }
        #expect(same.contains("mobileRouters[1].homeAddress 2001:db8:ffff::10 is also mobileRouters[0].homeAddress"), "\(same)")
        let inside = refusal { try homeAgent([router("2001:db8:aaaa::10", prefixes: ["2001:db8:bbbb::/48"]),
                                               router("2001:db8:ffff::11", prefixes: ["2001:db8:aaaa::/48"])].joined(separator: ",")) }
        #expect(inside.contains("mobileRouters[0].homeAddress 2001:db8:aaaa::10 lies inside mobileRouters[1].prefixes[0]"), "\(inside)")
    }

    @Test("Key length, reserved SPIs, lifetimes, caps and the replay tolerance are checked")
    func ranges() throws {
        #expect(refusal { try homeAgent(router("2001:db8:ffff::10", prefixes: ["2001:db8:aaaa::/48"], key: "0102")) }
            .contains("mobileRouters[0].key: the MN-HA key must be exactly 32 hex digits"))
        #expect(refusal { try homeAgent(router("2001:db8:ffff::10", prefixes: ["2001:db8:aaaa::/48"], key: String(repeating: "ab", count: 20))) }
            .contains("exactly 32 hex digits"))
        #expect(refusal { try homeAgent(router("2001:db8:ffff::10", prefixes: ["2001:db8:aaaa::/48"], key: String(repeating: "zz", count: 16))) }
            .contains("exactly 32 hex digits"))
        #expect(refusal { try homeAgent(router("2001:db8:ffff::10", prefixes: ["2001:db8:aaaa::/48"], spi: 7)) }.contains("SPI 7 is reserved"))
        #expect(refusal { try homeAgent(router("2001:db8:ffff::10", prefixes: ["2001:db8:aaaa::/48"], extra: #", "maximumLifetime": 9223372036854775807"#)) }
            .contains("mobileRouters[0].maximumLifetime: 9223372036854775807 s is out of range (4...262140 s)"))
        #expect(refusal { try homeAgent(router("2001:db8:ffff::10", prefixes: ["2001:db8:aaaa::/48"], extra: #", "maximumBindings": 0"#)) }
            .contains("maximumBindings: 0 is out of range"))
        #expect(refusal { try homeAgent(router("2001:db8:ffff::10", prefixes: ["2001:db8:aaaa::/48"]), extra: #""replayTolerance": -9223372036854775808,"#) }
            .contains("replayTolerance"))
        let capped = try homeAgent(router("2001:db8:ffff::10", prefixes: ["2001:db8:aaaa::/48"], extra: #", "maximumBindings": 3"#))
        #expect(capped.accounts[0].maximumBindings == 3)
        #expect(try homeAgent(router("2001:db8:ffff::10", prefixes: ["2001:db8:aaaa::/48"])).accounts[0].maximumBindings == MobileRouterAccount.defaultMaximumBindings)
    }

    @Test("The MR's file: lifetime, refusal retry, BIDs, priorities, key and DSCP values are checked")
    func mobileRouter() throws {
        func load(_ edit: (inout [String: Any]) -> Void) throws -> MobileRouterConfiguration {
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/mr.json")
            var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
            edit(&object)
            return try JSONDecoder().decode(MobileRouterFile.self, from: JSONSerialization.data(withJSONObject: object)).mobileRouterConfiguration()
        }
        #expect(try load { _ in }.uplinks.count == 2)
        #expect(refusal { try load { $0["lifetime"] = Int.max } }.contains("lifetime: 9223372036854775807 s is out of range (4...262140 s)"))
        #expect(refusal { try load { $0["lifetime"] = -4 } }.contains("lifetime: -4 s is out of range"))
        #expect(try load { _ in }.isMobileRouter)
        // No prefix: a mobile host, which has nothing to serve on an ingress link.
        #expect(try !load { $0["prefixes"] = []; $0["ingress"] = nil }.isMobileRouter)
        #expect(refusal { try load { $0["prefixes"] = []; $0["ingress"] = ["interface": "lan"] } }.contains("with no prefixes this is a mobile host"))
        #expect(try load { _ in }.refusalRetry == MobilityTimers.initialRefusalRetry)
        #expect(try load { $0["refusalRetry"] = 5 }.refusalRetry == .seconds(5))
        #expect(refusal { try load { $0["refusalRetry"] = 0 } }.contains("refusalRetry: 0 s is out of range (1...600 s)"))
        #expect(refusal { try load { $0["key"] = "01" } }.contains("key: the MN-HA key must be exactly 32 hex digits"))
        #expect(refusal { try load { $0["spi"] = 0 } }.contains("SPI 0 is reserved"))
        #expect(refusal { try load { var u = $0["uplinks"] as! [[String: Any]]; u[1]["bid"] = 1; $0["uplinks"] = u } }
            .contains("uplinks[1].bid 1 is also uplinks[0].bid"))
        #expect(refusal { try load { var u = $0["uplinks"] as! [[String: Any]]; u[0]["bid"] = 0; $0["uplinks"] = u } }.contains("uplinks[0].bid: 0 is reserved"))
        #expect(refusal { try load { var u = $0["uplinks"] as! [[String: Any]]; u[0]["priority"] = 200; $0["uplinks"] = u } }.contains("uplinks[0].priority: 200 is out of range"))
        #expect(refusal { try load { var p = $0["flowPolicies"] as! [[String: Any]]; var m = p[0]["match"] as! [String: Any]; m["dscp"] = 64; p[0]["match"] = m; $0["flowPolicies"] = p } }
            .contains("flowPolicies[0].match.dscp: 64 is out of range"))
    }
    @Test("IPv4 home addresses: unicast and distinct across accounts at the HA; 0.0.0.0 or unicast at the MR")
    func ipv4HomeAddresses() throws {
        let ok = try homeAgent([router("2001:db8:ffff::10", prefixes: ["2001:db8:aaaa::/48"], extra: #", "ipv4HomeAddress": "192.0.2.77""#),
                                router("2001:db8:ffff::11", prefixes: ["2001:db8:bbbb::/48"])].joined(separator: ","))
        #expect(ok.accounts.map(\.ipv4HomeAddress) == [IPv4Address("192.0.2.77"), nil])
        for bad in ["0.0.0.0", "224.0.0.5", "255.255.255.255", "127.0.0.1", "192.0.2", "2001:db8::1"] {
            let r = refusal { try homeAgent(router("2001:db8:ffff::10", prefixes: [], extra: #", "ipv4HomeAddress": "\#(bad)""#)) }
            #expect(r.contains("mobileRouters[0].ipv4HomeAddress: '\(bad)' is not a unicast IPv4 address"), "\(r)")
        }
        let twice = refusal { try homeAgent([router("2001:db8:ffff::10", prefixes: ["2001:db8:aaaa::/48"], extra: #", "ipv4HomeAddress": "192.0.2.77""#),
                                              router("2001:db8:ffff::11", prefixes: ["2001:db8:bbbb::/48"], extra: #", "ipv4HomeAddress": "192.0.2.77""#)]
                                              .joined(separator: ",")) }
        #expect(twice.contains("mobileRouters[1].ipv4HomeAddress 192.0.2.77 is also mobileRouters[0].ipv4HomeAddress"), "\(twice)")

        func mr(_ value: String?) throws -> MobileRouterConfiguration {
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/mr.json")
            var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
            object["ipv4HomeAddress"] = value
            return try JSONDecoder().decode(MobileRouterFile.self, from: JSONSerialization.data(withJSONObject: object)).mobileRouterConfiguration()
        }
        #expect(try mr(nil).ipv4HomeAddress == nil)
        #expect(try mr("0.0.0.0").ipv4HomeAddress == IPv4Address.unspecified)
        #expect(try mr("192.0.2.77").ipv4HomeAddress == IPv4Address("192.0.2.77"))
        #expect(refusal { try mr("239.1.1.1") }.contains("ipv4HomeAddress: '239.1.1.1' is neither 0.0.0.0 (assign one) nor a unicast IPv4 address"))
    }
}
