import Foundation
import TestSupport
import Mobility
import MobilityLinux
import Telemetry
import Testing
import Timekeeping

/// The real daemons in network namespaces (root only; each test builds and removes its own).
@Suite("Live: nemo ha and nemo mr in network namespaces", .serialized)
struct LiveNamespaceTests {
    func skip() -> Bool {
        if let reason = liveSkipReason {
            TestEnvironment.dependencyMissing("live namespace test: \(reason)", install: "make deps; run as root with /dev/net/tun")
            return true
        }
        return false
    }

    @Test("MCoA, two uplinks: host reaches the correspondent only through the tunnel; uplink A cut and restored, flows continue through B")
    func multipleCareOfHandover() throws {
        if skip() { return }
        let net = try LiveNetwork()
        defer { net.tearDown() }
        // Before the daemons run there is no path from the mobile network to the correspondent.
        #expect(net.ping(count: 1, interval: 0.2).1 == 0)
        try net.startHomeAgent()
        try net.startMobileRouter { mr in
            var uplinks = mr["uplinks"] as! [[String: Any]]
            uplinks[0]["technology"] = "wlan"
            uplinks[1]["technology"] = "cellular"
            mr["uplinks"] = uplinks
        }
        try net.waitFor("both bindings registered") {
            net.status(net.mrControl)?.bindings.filter { $0.state == "registered" }.count == 2
        }
        let ha = try #require(net.status(net.haControl))
        #expect(ha.bindings.map(\.bid).sorted() == [1, 2])
        #expect(ha.prefixes == ["2001:db8:aaaa:1::/64"])
        let (sent, received) = net.ping(count: 10, interval: 0.05)
        #expect(received == sent)
        // Checked: the echo requests crossed the tunnel (counted by the HA as decapsulated).
        let after = try #require(net.status(net.haControl))
        #expect((after.counters["packets_from_tunnel"] ?? 0) >= 10)
        #expect((after.counters["packets_to_tunnel"] ?? 0) >= 10)

        // Flow policy "RTP over the second uplink": UDP from a local port in 16384–32767 leaves by wb,
        // while the pings (no policy) went by wa, the preferred uplink.
        let sendRTP = "import socket\ns = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\ns.bind(('::', 20000))\nfor _ in range(5): s.sendto(b'rtp', ('2001:db8:c::5', 7000))"
        #expect(net.exec("h", ["python3", "-c", sendRTP]).status == 0)
        try net.waitFor("RTP counted on wb") { (net.status(net.mrControl)?.counters["packets_to_tunnel_wb"] ?? 0) >= 5 }
        #expect((net.status(net.mrControl)?.counters["packets_to_tunnel_wa"] ?? 0) >= 10)

        let (pinger, pipe) = try net.backgroundPing(count: 150, interval: 0.02)
        for _ in 0..<3 {
            usleep(300_000)
            #expect(net.exec("mr", ["ip", "link", "set", "wa", "down"]).status == 0)
            usleep(400_000)
            #expect(net.status(net.mrControl)?.defaultUplink == "wb")
            #expect(net.exec("mr", ["ip", "link", "set", "wa", "up"]).status == 0)
        }
        pinger.waitUntilExit()
        let (s2, r2) = pingResult(pipe)
        #expect(s2 == 150)
        // Flows keep going through B during each cut: only packets in flight on A may be lost.
        #expect(r2 >= s2 - 6, "lost \(s2 - r2) of \(s2) across three cuts")
        try net.waitFor("uplink A registered again") {
            net.status(net.mrControl)?.bindings.first { $0.uplink == "wa" }?.state == "registered"
        }
        let mr = try #require(net.status(net.mrControl))
        #expect(mr.defaultUplink == "wa")
        #expect((mr.counters["packets_to_tunnel_wb"] ?? 0) > 0)
        #expect((mr.counters["handovers"] ?? 0) >= 4, "initial choice plus one handover to B per cut")
        #expect(net.log("mr.log").contains("handover"))
        // SONAR: every handover is a record on the control socket, as the onboard agent collects it.
        let answer = try ControlServer.query(path: net.mrControl, command: "sonar 0")
        let records = try TelemetryBatch(json: Data(answer.utf8)).records.compactMap { r -> Handover? in
            if case .handover(let h) = r.payload { return h }
            return nil
        }
        #expect(records.count == mr.counters["handovers"], "\(answer)")
        #expect(records.first?.cause == .startup && records.first?.to == "wa" && records.first?.toTechnology == .wlan)
        let toB = records.filter { $0.from == "wa" && $0.to == "wb" }
        #expect(toB.count >= 3 && toB.allSatisfy { $0.cause == .uplinkLost && $0.fromTechnology == .wlan && $0.toTechnology == .cellular })
        #expect(records.contains { $0.from == "wb" && $0.to == "wa" && $0.cause == .preferredUplink && ($0.registrationDelayMs ?? -1) > 0 })
        #expect(answer.contains("\"instance\":") && answer.contains("\"missed\":0"))
        // Metrics and the text status answer too.
        let metrics = try ControlServer.query(path: net.mrControl, command: "metrics")
        #expect(metrics.contains("nemo_binding_registered{role=\"mr\""))
    }

    @Test("One care-of address (MCoA off): after uplink A is cut, traffic resumes over B once re-registered; router advertisements on the ingress link")
    func singleCareOfHandover() throws {
        if skip() { return }
        let net = try LiveNetwork()
        defer { net.tearDown() }
        #expect(net.exec("h", ["sysctl", "-qw", "net.ipv6.conf.eth0.accept_ra=2"]).status == 0)
        try net.startHomeAgent()
        try net.startMobileRouter {
            $0["multipleCareOf"] = false
            var ingress = $0["ingress"] as! [String: Any]
            ingress["routerAdvertisements"] = true
            $0["ingress"] = ingress
        }
        try net.waitFor("one binding registered") { net.status(net.mrControl)?.defaultUplink == "wa" }
        // The host configures itself from the MR's advertisement: an address in the prefix, the tunnel MTU.
        try net.waitFor("SLAAC address from the router advertisement") {
            net.exec("h", ["ip", "-6", "addr", "show", "dev", "eth0", "dynamic"]).out.contains("2001:db8:aaaa:1:")
        }
        // The MTU option sets the link's IPv6 MTU (not the device MTU).
        #expect(net.exec("h", ["sysctl", "-n", "net.ipv6.conf.eth0.mtu"]).out.trimmingCharacters(in: .whitespacesAndNewlines) == "1400")
        #expect(net.status(net.haControl)?.bindings.map(\.bid) == [0])
        #expect(net.ping(count: 5, interval: 0.05).1 == 5)
        for _ in 0..<2 {
            #expect(net.exec("mr", ["ip", "link", "set", "wa", "down"]).status == 0)
            // Both ends must agree before traffic is sure to flow: the HA moves the binding when the BU
            // arrives, the MR its uplink when the BA does; a packet in between is lost (one run in 20).
            try net.waitFor("binding moved to B") { net.status(net.haControl)?.bindings.first?.careOf == "2001:db8:2::100" }
            try net.waitFor("MR sending over B") { net.status(net.mrControl)?.defaultUplink == "wb" }
            #expect(net.ping(count: 5, interval: 0.05).1 == 5)
            #expect(net.exec("mr", ["ip", "link", "set", "wa", "up"]).status == 0)
            try net.waitFor("binding back on A") { net.status(net.haControl)?.bindings.first?.careOf == "2001:db8:1::100" }
            try net.waitFor("MR sending over A") { net.status(net.mrControl)?.defaultUplink == "wa" }
            #expect(net.ping(count: 5, interval: 0.05).1 == 5)
        }
    }

    @Test("HA restart: the saved binding cache comes back, so traffic flows at once and the MR never has to notice")
    func homeAgentRestartKeepsBindings() throws {
        if skip() { return }
        let net = try LiveNetwork()
        defer { net.tearDown() }
        try net.startHomeAgent()
        try net.startMobileRouter()
        try net.waitFor("both bindings registered") {
            net.status(net.mrControl)?.bindings.filter { $0.state == "registered" }.count == 2
        }
        #expect(net.ping(count: 3, interval: 0.05).1 == 3)
        // Saved on every change, owner-only.
        let saved = net.haState + "/bindings.json"
        try net.waitFor("binding cache saved with both bindings") {
            (try? String(contentsOfFile: saved, encoding: .utf8))?.components(separatedBy: "\"bid\"").count == 3
        }
        let mode = (try FileManager.default.attributesOfItem(atPath: saved)[.posixPermissions] as? Int) ?? -1
        #expect(mode == 0o600, "bindings.json mode \(String(mode, radix: 8))")
        net.killHomeAgent()
        try net.startHomeAgent()
        // Restored before the control socket opened: no Binding Error, no re-registration needed.
        let ha = try #require(net.status(net.haControl))
        #expect(ha.bindings.map(\.bid).sorted() == [1, 2])
        #expect(ha.prefixes == ["2001:db8:aaaa:1::/64"])
        #expect(net.ping(count: 5, interval: 0.05).1 == 5)
        #expect((net.status(net.haControl)?.counters["binding_errors_sent"] ?? 0) == 0)
        #expect(!net.log("mr.log").contains("home agent lost our bindings"))
        #expect(net.log("ha.log").contains("binding cache restored"))
    }

    @Test("Live reload: a router admitted without a restart, revoked at once (traffic stops, its next BU refused with 129), re-keyed (old key 146, new key accepted)")
    func liveReload() throws {
        if skip() { return }
        let net = try LiveNetwork()
        defer { net.tearDown() }
        let account = try #require((try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("ha.json"))) as? [String: Any])?["mobileRouters"] as? [[String: Any]])
        try net.startHomeAgent { $0["mobileRouters"] = [] }
        func reload(_ routers: [[String: Any]]) throws -> String {
            _ = try net.config("ha.json") { $0["mobileRouters"] = routers }
            return try ControlServer.query(path: net.haControl, command: "reload")
        }
        // Signed up: the next reload admits it, and it registers at once.
        #expect(try reload(account).contains("1 added"))
        try net.startMobileRouter()
        try net.waitFor("both bindings registered") {
            net.status(net.mrControl)?.bindings.filter { $0.state == "registered" }.count == 2
        }
        #expect(net.ping(count: 3, interval: 0.05).1 == 3)
        // Revoked: its bindings and routes go at once, its traffic stops.
        #expect(try reload([]).contains("1 revoked"))
        #expect(net.status(net.haControl)?.bindings.isEmpty == true)
        #expect(net.ping(count: 3, interval: 0.05).1 == 0)
        // That traffic drew a Binding Error; the router registered again and was refused, with a BA it could verify.
        try net.waitFor("the revoked router refused with 129") {
            (net.status(net.haControl)?.counters["rejected_129"] ?? 0) >= 1
                && net.status(net.mrControl)?.bindings.contains { $0.lastStatus == 129 } == true
        }
        #expect(net.log("mr.log").contains("binding refused"))
        #expect(net.status(net.haControl)?.bindings.isEmpty == true)
        // Re-keyed: the router still holding the old key is refused with 146...
        net.stopMobileRouter()
        var rekeyed = account
        rekeyed[0]["key"] = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
        #expect(try reload(rekeyed).contains("1 added"))
        try net.startMobileRouter()
        try net.waitFor("the old key refused with 146") { (net.status(net.haControl)?.counters["rejected_146"] ?? 0) >= 1 }
        #expect(net.status(net.haControl)?.bindings.isEmpty == true)
        // ...and registers with the new one.
        net.stopMobileRouter()
        try net.startMobileRouter { $0["key"] = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" }
        try net.waitFor("registered with the new key") { net.status(net.haControl)?.bindings.count == 2 }
        #expect(net.ping(count: 3, interval: 0.05).1 == 3)
        // A file that does not validate changes nothing.
        var broken = rekeyed
        broken[0]["spi"] = 1
        #expect(try reload(broken).contains("reload refused"))
        #expect(net.ping(count: 3, interval: 0.05).1 == 3)
    }

    @Test("HA restart without its saved state: traffic draws a Binding Error, the MR learns its bindings are gone and registers again")
    func homeAgentRestartWithoutState() throws {
        if skip() { return }
        let net = try LiveNetwork()
        defer { net.tearDown() }
        try net.startHomeAgent()
        try net.startMobileRouter()
        try net.waitFor("both bindings registered") {
            net.status(net.mrControl)?.bindings.filter { $0.state == "registered" }.count == 2
        }
        #expect(net.ping(count: 3, interval: 0.05).1 == 3)
        net.killHomeAgent()
        try FileManager.default.removeItem(atPath: net.haState)
        try net.startHomeAgent()
        #expect(net.status(net.haControl)?.bindings.isEmpty == true)
        // Traffic keeps flowing as it would on a real network (one Binding Error per second per
        // path at most, so a single lost one is followed by another).
        let (pinger, _) = try net.backgroundPing(count: 100, interval: 0.1)
        defer { if pinger.isRunning { pinger.terminate() } }
        try net.waitFor("bindings back at the restarted HA") { net.status(net.haControl)?.bindings.count == 2 }
        #expect(net.ping(count: 5, interval: 0.05).1 == 5)
        #expect(net.log("mr.log").contains("home agent lost our bindings"))
        #expect((net.status(net.haControl)?.counters["binding_errors_sent"] ?? 0) >= 1)
    }

    @Test("IPv4-only access network: the MR registers an IPv4 care-of address, data flows in UDP over IPv4")
    func ipv4Access() throws {
        if skip() { return }
        let net = try LiveNetwork()
        defer { net.tearDown() }
        try net.startHomeAgent { $0["metricsPort"] = 9464 }
        try net.startMobileRouter {
            $0["multipleCareOf"] = false
            $0["uplinks"] = [["name": "wc", "bid": 3, "priority": 1, "family": "ipv4", "gateway": "203.0.113.1"]]
        }
        try net.waitFor("IPv4 binding registered") { net.status(net.mrControl)?.defaultUplink == "wc" }
        let ha = try #require(net.status(net.haControl))
        #expect(ha.bindings.first?.careOf == "203.0.113.100")
        #expect(ha.bindings.first?.path?.hasPrefix("203.0.113.100:") == true)
        #expect(net.ping(count: 5, interval: 0.05).1 == 5)
        // Prometheus metrics over HTTP from the HA.
        let scrape = net.exec("ha", ["python3", "-c", "import urllib.request; print(urllib.request.urlopen('http://[::1]:9464/metrics').read().decode())"])
        #expect(scrape.out.contains("nemo_bindings{role=\"ha\"} 1"))
        #expect(scrape.out.contains("nemo_events_total{role=\"ha\",event=\"binding_updates_received\"}"))
        // A clean MR shutdown de-registers: the HA's cache empties at once, not at expiry.
        net.stopMobileRouter()
        try net.waitFor("binding removed by de-registration") { net.status(net.haControl)?.bindings.isEmpty == true }
        #expect(net.log("ha.log").contains("reason=de-registered"))
    }

    @Test("Bulk TCP both ways through the tunnel arrives intact: TSO super-packets cut at the sender, segments merged into GSO writes at the receiver")
    func bulkTransferIntact() throws {
        if skip() { return }
        let net = try LiveNetwork()
        defer { net.tearDown() }
        try net.startHomeAgent()
        try net.startMobileRouter()
        try net.waitFor("both bindings registered") {
            net.status(net.mrControl)?.bindings.filter { $0.state == "registered" }.count == 2
        }
        // 8 MiB each way; each side prints the SHA-256 of what it sent and of what it received.
        let common = "import hashlib, random, socket\nsize = 8 << 20\n"
        let server = common + """
            l = socket.socket(socket.AF_INET6); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            l.bind(('::', 5555)); l.listen(1); l.settimeout(20)
            c, _ = l.accept(); c.settimeout(20)
            got = hashlib.sha256(); n = 0
            while n < size:
                b = c.recv(1 << 16)
                if not b: break
                got.update(b); n += len(b)
            data = random.Random(9).randbytes(size)
            c.sendall(data); c.close()
            print(n, got.hexdigest(), hashlib.sha256(data).hexdigest())
            """
        let client = common + """
            c = socket.create_connection(('2001:db8:c::5', 5555), timeout=20)
            data = random.Random(7).randbytes(size)
            c.sendall(data)
            got = hashlib.sha256(); n = 0
            while n < size:
                b = c.recv(1 << 16)
                if not b: break
                got.update(b); n += len(b)
            print(n, hashlib.sha256(data).hexdigest(), got.hexdigest())
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", net.prefix + "cn", "python3", "-c", server]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        usleep(500_000)
        let c = net.exec("h", ["timeout", "30", "python3", "-c", client])
        p.waitUntilExit()
        let s = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(whereSeparator: \.isWhitespace).map(String.init)
        let h = c.out.split(whereSeparator: \.isWhitespace).map(String.init)
        try #require(s.count == 3 && h.count == 3, "server: \(s) client: \(h)")
        #expect(s[0] == "\(8 << 20)" && h[0] == "\(8 << 20)")
        #expect(s[1] == h[1], "host -> correspondent intact")
        #expect(h[2] == s[2], "correspondent -> host intact")
        // The offloads were in use: super-packets read at one end, segments merged at the other.
        let mr = try #require(net.status(net.mrControl)), ha = try #require(net.status(net.haControl))
        #expect((mr.counters["tun_super_packets_read"] ?? 0) > 0)
        #expect((ha.counters["tun_segments_merged"] ?? 0) > 0)
        #expect((ha.counters["tun_super_packets_read"] ?? 0) > 0)
        #expect((mr.counters["tun_segments_merged"] ?? 0) > 0)
    }

    @Test("Refusals on the wire: wrong key 146, prefix not owned 142, replayed BU 144")
    func refusals() throws {
        if skip() { return }
        let net = try LiveNetwork()
        defer { net.tearDown() }
        try net.startHomeAgent()
        try net.startMobileRouter { $0["key"] = "ffffffffffffffffffffffffffffffff" }
        // The HA refuses with 146; the MR cannot verify that answer (the HA signs it with the
        // key it holds), so it believes none of it, says what to check, and keeps retrying.
        try net.waitFor("146 from the HA, ignored by the MR") {
            (net.status(net.haControl)?.counters["rejected_146"] ?? 0) >= 1
                && (net.status(net.mrControl)?.counters["dropped_ba_unauthenticated"] ?? 0) >= 1
        }
        #expect(net.status(net.mrControl)?.bindings.allSatisfy { $0.state == "registering" } == true)
        #expect(net.log("mr.log").contains("check spi and key"))
        #expect(net.status(net.haControl)?.bindings.isEmpty == true)

        // A BU built here, with the right key but for a prefix the account does not own.
        func bindingUpdate(sequence: UInt16, prefix: String) -> [UInt8] {
            let hoa = IPv6Address("2001:db8:ffff::10")!
            let coa = IPv6Address("2001:db8:1::100")!
            let now = SystemClock().now()
            let bu = BindingUpdate(sequence: sequence, flags: [.acknowledge, .homeRegistration, .mobileRouter, .forceUDP], lifetime: 10,
                                   options: [.mobileNetworkPrefix(IPv6Prefix(prefix)!), .alternateCareOfAddress(coa), .replayProtection(now.ntp),
                                             .authentication(MobilityAuthentication(spi: 256))])
            let mh = MobilityMessage.bindingUpdate(bu).encode(source: hoa, destination: IPv6Address("2001:db8:ffff::1")!,
                                                              authentication: MobilityAuthenticationKey(spi: 256, key: Array(1...16)),
                                                              careOfAddress: coa, homeAddress: hoa)
            return UDPTunnelDatagram.signalingPacket(source: hoa, destination: IPv6Address("2001:db8:ffff::1")!, mobilityHeader: mh)
        }
        /// Sends datagrams from the MR namespace (uplink A's address) and returns the BA statuses.
        func exchange(_ datagrams: [[UInt8]]) -> [Int] {
            let hexes = datagrams.map { $0.map { String(format: "%02x", $0) }.joined() }
            let script = """
            import socket, sys
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s.bind(("2001:db8:1::100", 0))
            s.settimeout(2)
            for h in sys.argv[1:]:
                s.sendto(bytes.fromhex(h), ("2001:db8:f::1", 4191))
                data, _ = s.recvfrom(2048)
                print(data[40 + 6])
            """
            let r = net.exec("mr", ["python3", "-c", script] + hexes)
            return r.out.split(separator: "\n").compactMap { Int($0) }
        }
        #expect(exchange([bindingUpdate(sequence: 500, prefix: "2001:db8:bbbb:1::/64")]) == [142])
        let good = bindingUpdate(sequence: 501, prefix: "2001:db8:aaaa:7::/64")
        // The same bytes twice: accepted, then refused as a replay.
        #expect(exchange([good, good]) == [0, 144])
    }
    @Test("IPv4 home address (RFC 5555): assigned on request, the MR's own IPv4 traffic crosses the tunnel to an IPv4 correspondent; a request for another address gets 130 and IPv6 still registers")
    func ipv4HomeAddress() throws {
        if skip() { return }
        let net = try LiveNetwork()
        defer { net.tearDown() }
        try net.startHomeAgent { ha in
            var routers = ha["mobileRouters"] as! [[String: Any]]
            routers[0]["ipv4HomeAddress"] = "192.0.2.77"
            ha["mobileRouters"] = routers
        }
        try net.startMobileRouter { $0["ipv4HomeAddress"] = "0.0.0.0" }
        try net.waitFor("IPv4 home address acknowledged") {
            let s = net.status(net.mrControl)
            return s?.ipv4HomeAddress == "192.0.2.77" && s?.bindings.filter { $0.state == "registered" }.count == 2
        }
        let mr = try #require(net.status(net.mrControl))
        #expect(mr.ipv4HomeAddressStatus == 0)
        let ha = try #require(net.status(net.haControl))
        #expect(ha.bindings.count == 2)
        #expect(ha.bindings.allSatisfy { $0.ipv4HomeAddress == "192.0.2.77" })
        // `nemo status` text shows it at both ends.
        #expect(shell(nemoBinary, ["status", "--control", net.mrControl]).out.contains("ipv4 home address: 192.0.2.77 (status 0)"))
        #expect(shell(nemoBinary, ["status", "--control", net.haControl]).out.contains("ipv4 192.0.2.77"))
        // The only ways to the IPv4 home address: the CN's default route via the HA, the HA's /32 into its TUN.
        #expect(net.exec("cn", ["ip", "-4", "route", "show"]).out.contains("default via 198.18.0.1 dev eth0"))
        #expect(!net.exec("cn", ["ip", "-4", "route", "show"]).out.contains("192.0.2"))
        let haRoute = net.exec("ha", ["ip", "-4", "route", "get", "192.0.2.77"]).out
        #expect(haRoute.contains("dev nemo0"), "\(haRoute)")
        #expect(net.exec("mr", ["ip", "-4", "addr", "show", "dev", "nemo0"]).out.contains("192.0.2.77/32"))

        let before = ha.counters
        let r = net.exec("mr", ["ping", "-4", "-n", "-q", "-c", "5", "-i", "0.2", "-W", "1", "-I", "192.0.2.77", "198.18.0.5"])
        #expect(r.out.contains("5 packets transmitted, 5 received"), "\(r.out)\nHA log:\n\(net.log("ha.log"))\nMR log:\n\(net.log("mr.log"))")
        // Checked: requests were decapsulated by the HA and replies encapsulated by it.
        let after = try #require(net.status(net.haControl)).counters
        #expect((after["packets_from_tunnel"] ?? 0) - (before["packets_from_tunnel"] ?? 0) >= 5)
        #expect((after["packets_to_tunnel"] ?? 0) - (before["packets_to_tunnel"] ?? 0) >= 5)

        // The router leaves (de-registers): the HA's route and the MR's address go.
        net.stopMobileRouter()
        try net.waitFor("HA route to the IPv4 home address removed") {
            !net.exec("ha", ["ip", "-4", "route", "show", "192.0.2.77"]).out.contains("192.0.2.77")
        }

        // Asking for an address the account does not have: 130, IPv6 bindings registered all the same.
        try net.startMobileRouter { $0["ipv4HomeAddress"] = "192.0.2.99" }
        try net.waitFor("IPv6 registered, IPv4 refused with 130") {
            let s = net.status(net.mrControl)
            return s?.ipv4HomeAddressStatus == 130 && s?.bindings.filter { $0.state == "registered" }.count == 2
        }
        #expect(net.status(net.mrControl)?.ipv4HomeAddress == nil)
        #expect(net.status(net.haControl)?.bindings.allSatisfy { $0.ipv4HomeAddress == nil } == true)
        #expect(net.log("mr.log").contains("home agent refused the IPv4 home address"))
        #expect(net.ping(count: 3, interval: 0.1).1 == 3, "the mobile network's IPv6 still works")
    }
}
