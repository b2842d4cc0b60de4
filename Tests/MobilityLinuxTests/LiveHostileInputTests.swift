import Foundation
import Mobility
import MobilityLinux
import NIOCore
import Testing
import Timekeeping

/// Hostile input against the real daemons in namespaces: each input is sent over the real
/// socket, then the test checks that no state changed and that normal traffic still flows.
/// Part of the LiveNamespaceTests suite (same serialisation, same `--filter`).
extension LiveNamespaceTests {
    static let fixtureKey = "0102030405060708090a0b0c0d0e0f10"

    @Test("Hostile: forged BAs (status 146 with the right sequence number and no or a wrong MN-HA option, an MN-HA option not last) change nothing at the MR")
    func hostileForgedAcknowledgements() throws {
        if skip() { return }
        let net = try LiveNetwork()
        defer { net.tearDown() }
        try net.startHomeAgent()
        try net.startMobileRouter()
        try net.waitFor("both bindings registered") {
            net.status(net.mrControl)?.bindings.filter { $0.state == "registered" }.count == 2
        }
        // Freeze the HA so uplink B's next BUs stay outstanding, then bring B down and up: the
        // attacker on B's access network sees each BU and answers it before anyone else can.
        net.signalHomeAgent(SIGSTOP)
        var resumed = false
        defer { if !resumed { net.signalHomeAgent(SIGCONT) } }
        #expect(net.exec("mr", ["ip", "link", "set", "wb", "down"]).status == 0)
        let forger = fixtures.appendingPathComponent("forge_ba.py").path
        for (mode, counter) in [("noauth", "dropped_ba_unauthenticated"), ("badauth", "dropped_ba_unauthenticated"), ("notlast", "dropped_ba_auth_not_last")] {
            let before = net.status(net.mrControl)?.counters[counter] ?? 0
            let (attacker, pipe) = try net.background("arb", ["python3", forger, "down0", mode, Self.fixtureKey])
            usleep(300_000)
            if mode == "noauth" { #expect(net.exec("mr", ["ip", "link", "set", "wb", "up"]).status == 0) }
            attacker.waitUntilExit()
            let said = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            try #require(attacker.terminationStatus == 0, "forger (\(mode)): \(said)")
            try net.waitFor("the forged BA (\(mode)) counted and ignored") {
                (net.status(net.mrControl)?.counters[counter] ?? 0) > before
            }
            let b = try #require(net.status(net.mrControl)?.bindings.first { $0.uplink == "wb" })
            #expect(b.state == "registering", "\(mode): uplink B is \(b.state), last status \(String(describing: b.lastStatus))")
            #expect(b.lastStatus != 146)
        }
        // The real HA answers: B registers; traffic flows.
        net.signalHomeAgent(SIGCONT)
        resumed = true
        try net.waitFor("uplink B registered by the real HA", timeout: 30) {
            net.status(net.mrControl)?.bindings.filter { $0.state == "registered" }.count == 2
        }
        #expect(net.ping(count: 5, interval: 0.05).1 == 5)
        #expect(net.log("mr.log").contains("check spi and key"))
    }

    /// A BU for the fixture's router, signed with the fixture's key (or not, or with an option
    /// after the MN-HA option), as the datagram to send to the HA's port.
    static func bindingUpdate(sequence: UInt16, bids: [UInt16] = [], flows: Int = 0, optionAfterAuthentication: Bool = false) -> [UInt8] {
        let hoa = IPv6Address("2001:db8:ffff::10")!
        let haInner = IPv6Address("2001:db8:ffff::1")!
        let coa = IPv6Address("2001:db8:1::100")!
        let key = MobilityAuthenticationKey(spi: 256, key: Array(1...16))
        let now = SystemClock().now()
        var options: [MobilityOption] = [.mobileNetworkPrefix(IPv6Prefix("2001:db8:aaaa:1::/64")!)]
        options += bids.map { .bindingIdentifier(BindingIdentifier(bid: $0, priority: 9, careOfAddress: .v6(coa))) }
        if bids.isEmpty { options.append(.alternateCareOfAddress(coa)) }
        if flows > 0 { options.append(.flowSummary((1...UInt16(flows)).map { $0 })) }
        options += [.replayProtection(now.ntp), .authentication(MobilityAuthentication(spi: 256))]
        let bu = BindingUpdate(sequence: sequence, flags: [.acknowledge, .homeRegistration, .mobileRouter, .forceUDP], lifetime: 10, options: options)
        var mh = MobilityMessage.bindingUpdate(bu).encode(source: hoa, destination: haInner, authentication: key, careOfAddress: coa, homeAddress: hoa)
        if optionAfterAuthentication {
            // Another BID after the MN-HA option, then Header Len, authenticator and checksum made right.
            mh.writeBytes([35, 4, 0, 7, 0, 1, 1, 0])
            var octets = Array(mh.readableBytesView)
            octets[1] = UInt8(octets.count / 8 - 1)
            octets[4] = 0
            octets[5] = 0
            let authAt = octets.count - 8 - 19
            precondition(octets[authAt] == 9, "MN-HA option expected at \(authAt)")
            let mac = MobilityAuthenticator.authenticator(key: key.key, careOfAddress: coa, homeAddress: hoa, mobilityData: octets[0..<(authAt + 7)])
            octets.replaceSubrange((authAt + 7)..<(authAt + 19), with: mac)
            var fixed = ByteBuffer(bytes: octets)
            fixed.setInteger(InternetChecksum.mobilityHeader(fixed.readableBytesView, source: hoa, destination: haInner), at: 4)
            mh = fixed
        }
        return UDPTunnelDatagram.signalingPacket(source: hoa, destination: haInner, mobilityHeader: mh)
    }

    /// Sends datagrams from the MR namespace (uplink A's address) to the HA; returns each BA's
    /// (status, sequence), or nil for one that got no answer within 2 s.
    func exchange(_ net: LiveNetwork, _ datagrams: [[UInt8]]) -> [(status: Int, sequence: Int)?] {
        let hexes = datagrams.map { $0.map { String(format: "%02x", $0) }.joined() }
        let script = """
        import socket, sys
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("2001:db8:1::100", 0))
        s.settimeout(2)
        for h in sys.argv[1:]:
            s.sendto(bytes.fromhex(h), ("2001:db8:f::1", 4191))
            try:
                data, _ = s.recvfrom(4096)
                print(data[40 + 6], data[40 + 8] << 8 | data[40 + 9])
            except socket.timeout:
                print("none")
        """
        let r = net.exec("mr", ["python3", "-c", script] + hexes)
        return r.out.split(separator: "\n").map { line in
            let n = line.split(separator: " ").compactMap { Int($0) }
            return n.count == 2 ? (n[0], n[1]) : nil
        }
    }

    @Test("Hostile: too many bindings or flows (130), an MN-HA option not last (146) change nothing at the HA; traffic keeps flowing")
    func hostileBindingUpdates() throws {
        if skip() { return }
        let net = try LiveNetwork()
        defer { net.tearDown() }
        try net.startHomeAgent {
            var routers = $0["mobileRouters"] as! [[String: Any]]
            routers[0]["maximumBindings"] = 2
            $0["mobileRouters"] = routers
        }
        try net.startMobileRouter()
        try net.waitFor("both bindings registered") {
            net.status(net.mrControl)?.bindings.filter { $0.state == "registered" }.count == 2
        }
        let pathsBefore = try #require(net.status(net.haControl)).bindings.map { "\($0.bid) \($0.path ?? "")" }.sorted()
        // Three BIDs, one beyond the cap of 2. Sent with sequence 0: if that is not newer than the
        // HA's last accepted number the answer is 135 with that number (then we go again with
        // the next one); either way nothing may be accepted.
        let probe = exchange(net, [Self.bindingUpdate(sequence: 0, bids: [1, 2, 7])])
        var sequence: UInt16 = 0
        if let p = probe.first ?? nil, p.status == 135 {
            sequence = UInt16(truncatingIfNeeded: p.sequence + 1)
            let again = exchange(net, [Self.bindingUpdate(sequence: sequence, bids: [1, 2, 7])])
            #expect(again.first??.status == 130, "three bindings: \(String(describing: again))")
        } else {
            #expect(probe.first??.status == 130, "three bindings: \(String(describing: probe))")
        }
        func next() -> UInt16 { sequence }
        // A third binding beyond the cap of 2.
        let third = exchange(net, [Self.bindingUpdate(sequence: next(), bids: [7])])
        #expect(third.first??.status == 130, "third binding: \(String(describing: third))")
        // Many flows in one BU.
        let flows = exchange(net, [Self.bindingUpdate(sequence: next(), bids: [1], flows: 100)])
        #expect(flows.first??.status == 130, "100 flows: \(String(describing: flows))")
        // A correctly signed BU with another option after the MN-HA option: refused, not believed.
        let notLast = exchange(net, [Self.bindingUpdate(sequence: next(), bids: [1], optionAfterAuthentication: true)])
        #expect(notLast.first??.status == 146, "MN-HA not last: \(String(describing: notLast))")
        let ha = try #require(net.status(net.haControl))
        #expect(ha.bindings.map(\.bid).sorted() == [1, 2], "bindings at the HA: \(ha.bindings.map(\.bid))")
        #expect(ha.bindings.map { "\($0.bid) \($0.path ?? "")" }.sorted() == pathsBefore, "binding paths changed")
        #expect((ha.counters["rejected_130"] ?? 0) >= 3)
        #expect((ha.counters["dropped_auth_not_last"] ?? 0) >= 1)
        // The MR's bindings are untouched and traffic flows.
        #expect(net.ping(count: 5, interval: 0.05).1 == 5)
        #expect(net.status(net.mrControl)?.bindings.filter { $0.state == "registered" }.count == 2)
    }

    @Test("Hostile: idle clients on the metrics port and the control socket do not stop the next client being answered")
    func hostileIdleClients() throws {
        if skip() { return }
        let net = try LiveNetwork()
        defer { net.tearDown() }
        try net.startHomeAgent { $0["metricsPort"] = 9465 }
        try net.startMobileRouter()
        try net.waitFor("both bindings registered") {
            net.status(net.mrControl)?.bindings.filter { $0.state == "registered" }.count == 2
        }
        // Twenty connections that say nothing and stay open, on the metrics port and the control socket.
        let idle = """
        import socket, sys, time
        held = []
        for _ in range(20):
            t = socket.create_connection(("::1", 9465)); held.append(t)
            u = socket.socket(socket.AF_UNIX); u.connect(sys.argv[1]); held.append(u)
        print("holding", flush=True)
        time.sleep(30)
        """
        let (holder, pipe) = try net.background("ha", ["python3", "-c", idle, net.haControl])
        defer { if holder.isRunning { holder.terminate() } }
        // Wait for the connections to be made.
        var line = Data()
        while !String(decoding: line, as: UTF8.self).contains("holding") {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        #expect(String(decoding: line, as: UTF8.self).contains("holding"), "idle clients: \(String(decoding: line, as: UTF8.self))")
        // A scrape and a status query still get their answers (within the idle clients' 2 s timeout).
        let started = Date()
        let scrape = net.exec("ha", ["timeout", "8", "python3", "-c",
                                     "import urllib.request; print(urllib.request.urlopen('http://[::1]:9465/metrics', timeout=8).read().decode())"])
        #expect(scrape.out.contains("nemo_bindings{role=\"ha\"} 2"), "scrape: \(scrape.out)")
        #expect(Date().timeIntervalSince(started) < 8)
        let status = try #require(net.status(net.haControl))
        #expect(status.bindings.count == 2)
        #expect(holder.isRunning, "the idle clients were still connected during the checks")
        #expect(net.ping(count: 5, interval: 0.05).1 == 5)
    }
}
