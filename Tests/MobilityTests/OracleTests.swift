import Foundation
import TestSupport
import NIOCore
import Testing
@testable import Mobility

/// Independent oracles: scapy builds and dissects, tshark dissects (spec §7).
@Suite("Oracles: scapy and tshark")
struct OracleTests {
    /// A BU scapy can build from its own option classes, authenticated by Python's hmac.
    let scapyBuildScript = #"""
import sys, hmac, hashlib
from scapy.all import raw
from scapy.layers.inet6 import IPv6, MIP6MH_BU, MIP6OptMobNetPrefix, MIP6OptAltCoA, MIP6OptMNID, MIP6OptReplayProtection, MIP6OptMsgAuth
key = bytes(range(1, 17))
coa = bytes.fromhex("20010db8000200000000000000000007")
hoa = bytes.fromhex("20010db8ffff00000000000000000010")
def build(auth):
    return IPv6(src="2001:db8:ffff::10", dst="2001:db8:ffff::1") / MIP6MH_BU(seq=300, flags="AHR", reserved=0x100, mhtime=1000, options=[
        MIP6OptMobNetPrefix(plen=56, prefix="2001:db8:bbbb::"), MIP6OptAltCoA(acoa="2001:db8:2::7"),
        MIP6OptMNID(id=b"mr2@example.net"), MIP6OptReplayProtection(timestamp=0xE875470100000002),
        MIP6OptMsgAuth(subtype=1, mspi=300, authdata=auth)])
mh = bytearray(raw(build(b"\0" * 12))[40:])
mh[4] = mh[5] = 0
off = len(mh) - 19
mac = hmac.new(key, coa + hoa + bytes(mh[:off + 7]), hashlib.sha1).digest()[:12]
print(raw(build(mac))[40:].hex())
"""#

    @Test("scapy builds the same bytes, including an RFC 4285 authenticator computed by Python")
    func scapyBuilds() throws {
        guard let py = pythonWithScapy else {
            TestEnvironment.dependencyMissing("python3 with scapy", install: "make deps: deps/pip-mobility.txt")
            return
        }
        let message = MobilityMessage.bindingUpdate(BindingUpdate(
            sequence: 300, flags: [.acknowledge, .homeRegistration, .mobileRouter, .forceUDP], lifetime: 1000,
            options: [.mobileNetworkPrefix(IPv6Prefix("2001:db8:bbbb::/56")!), .alternateCareOfAddress(v6("2001:db8:2::7")),
                      .nai("mr2@example.net"), .replayProtection(0xE875_4701_0000_0002), .authentication(MobilityAuthentication(spi: 300))]))
        let ours = message.encode(source: hoa, destination: haInner,
                                  authentication: MobilityAuthenticationKey(spi: 300, key: Array(1...16)),
                                  careOfAddress: v6("2001:db8:2::7"), homeAddress: hoa)
        let result = try #require(run(py, ["-c", scapyBuildScript]))
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.trimmingCharacters(in: .whitespacesAndNewlines) == hex(ours.readableBytesView))
    }

    /// Dissects each packet with scapy and prints one line of fields per packet.
    let scapyDissectScript = #"""
import sys
from scapy.all import raw
from scapy.layers.inet6 import IPv6
for line in sys.stdin.read().split():
    src, dst, mh = line.split(",")
    pkt = IPv6(raw(IPv6(src=src, dst=dst, nh=135, plen=len(mh) // 2))[:40] + bytes.fromhex(mh))
    m = pkt.payload
    ck = m.cksum
    m.cksum = None  # scapy recomputes it on the next raw()
    recomputed = IPv6(raw(pkt)).payload.cksum
    opts = []
    for o in getattr(m, "options", []) or []:
        t = getattr(o, "otype", None)
        if t in (0, 1):
            continue
        opts.append(str(t))
    fields = [m.name.split(" - ")[-1] if " - " in m.name else m.name, str(m.mhtype), "%04x" % ck, "%04x" % recomputed]
    for f in ("seq", "mhtime", "status"):
        fields.append(str(getattr(m, f, "-")) if f in [x.name for x in m.fields_desc] else "-")
    fields.append(":".join(opts))
    print("|".join(fields))
"""#

    @Test("scapy dissects our BU, BA, BE and BRR with the same fields and checksum")
    func scapyDissects() throws {
        guard let py = pythonWithScapy else {
            TestEnvironment.dependencyMissing("python3 with scapy", install: "make deps: deps/pip-mobility.txt")
            return
        }
        let cases: [(MobilityMessage, IPv6Address, IPv6Address, String)] = [
            (messageA, hoa, haInner, "5|7|150|-|6:35"),
            (messageB, haInner, hoa, "6|7|150|0|35"),
            (messageC, hoa, haInner, "5|9|150|-|35:8:10:9"),
            (messageD, haInner, hoa, "6|8|0|146|30:31"),
            (messageE, hoa, haInner, "5|10|150|-|45"),
            (.bindingError(BindingError(status: 2, homeAddress: hoa)), haInner, hoa, "7|-|-|2|"),
            (.bindingRefreshRequest(BindingRefreshRequest(options: [.bindingIdentifier(BindingIdentifier(bid: 3))])), haInner, hoa, "0|-|-|-|35"),
            (.bindingUpdate(BindingUpdate(sequence: 65535, flags: [.acknowledge, .homeRegistration, .forceUDP], lifetime: 0,
                options: [.ipv4HomeAddress(prefixLength: 32, requestPrefix: false, address: IPv4Address("192.0.2.7")!),
                          .ipv4CareOfAddress(IPv4Address("198.51.100.2")!), .flowSummary([1, 2])])), hoa, haInner, "5|65535|0|-|29:32:44"),
        ]
        var input = ""
        for (m, s, d, _) in cases {
            let key: MobilityAuthenticationKey? = m == messageC ? testKey : nil
            input += "\(s),\(d),\(hex(m.encode(source: s, destination: d, authentication: key, careOfAddress: coa1, homeAddress: hoa).readableBytesView))\n"
        }
        let result = try #require(run(py, ["-c", scapyDissectScript], stdin: input))
        #expect(result.status == 0, "\(result.err)")
        let lines = result.out.split(separator: "\n").map(String.init)
        #expect(lines.count == cases.count)
        for (line, c) in zip(lines, cases) {
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 8 else { Issue.record("bad scapy line \(line)"); continue }
            #expect(f[2] == f[3], "checksum \(f[2]) differs from scapy's \(f[3]) for \(line)")
            let expected = c.3.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            #expect(f[1] == expected[0], "type: \(line)")
            #expect(f[4] == expected[1], "seq: \(line)")
            #expect(f[5] == expected[2], "lifetime: \(line)")
            #expect(f[6] == expected[3], "status: \(line)")
            #expect(f[7] == expected[4], "options: \(line)")
        }
    }

    @Test("tshark dissects our BU and BA inside UDP 4191 (IPv4 and IPv6 outer)")
    func tsharkDissects() throws {
        guard let py = pythonWithScapy, let tshark = which("tshark") else {
            TestEnvironment.dependencyMissing("tshark or scapy", install: "make deps: deps/apt-mobility.txt, deps/pip-mobility.txt")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nemo-tshark-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pcap = dir.appendingPathComponent("cap.pcap").path
        let bu = messageA.encode(source: hoa, destination: haInner)
        let ba = messageB.encode(source: haInner, destination: hoa)
        let d = messageD.encode(source: haInner, destination: hoa)
        let script = """
        from scapy.all import wrpcap, Ether, IP, UDP, Raw
        from scapy.layers.inet6 import IPv6
        def inner(s, d, mh): return IPv6(src=s, dst=d, nh=135) / Raw(bytes.fromhex(mh))
        wrpcap("\(pcap)", [
          Ether() / IPv6(src="2001:db8:1::100", dst="2001:db8:f::1") / UDP(sport=40000, dport=4191) / inner("\(hoa)", "\(haInner)", "\(hex(bu.readableBytesView))"),
          Ether() / IP(src="192.0.2.1", dst="192.0.2.100") / UDP(sport=4191, dport=40000) / inner("\(haInner)", "\(hoa)", "\(hex(ba.readableBytesView))"),
          Ether() / IP(src="192.0.2.1", dst="192.0.2.100") / UDP(sport=4191, dport=40000) / inner("\(haInner)", "\(hoa)", "\(hex(d.readableBytesView))"),
        ])
        """
        let built = try #require(run(py, ["-c", script]))
        #expect(built.status == 0, "\(built.err)")
        let fields = ["mip6.mhtype", "mip6.bu.seqnr", "mip6.bu.a_flag", "mip6.bu.h_flag", "mip6.nemo.bu.r_flag", "mip6.bu.lifetime",
                      "mip6.nemo.mnp.mnp", "mip6.nemo.mnp.pfl", "mip6.bi.bid", "mip6.bi.coa_ipv6", "mip6.ba.status",
                      "mip6.nemo.ba.r_flag", "mip6.ba.seqnr", "mip6.natd.refresh_t", "mip6.ipv4aa.sts"]
        var args = ["-r", pcap, "-d", "udp.port==4191,ipv6", "-T", "fields", "-E", "separator=|"]
        for f in fields { args += ["-e", f] }
        let result = try #require(run(tshark, args))
        #expect(result.status == 0, "\(result.err)")
        let lines = result.out.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        guard lines.count == 3 else { return }
        let buFields = lines[0].split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        #expect(buFields[0] == "5")
        #expect(buFields[1] == "7")
        #expect(["1", "True"].contains(buFields[2]) && ["1", "True"].contains(buFields[3]) && ["1", "True"].contains(buFields[4]))
        #expect(buFields[5] == "150")
        #expect(buFields[6] == "2001:db8:aaaa:1::")
        #expect(buFields[7] == "64")
        #expect(buFields[8] == "1")
        #expect(buFields[9] == "2001:db8:1::100")
        let baFields = lines[1].split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        #expect(baFields[0] == "6")
        #expect(baFields[10] == "0")
        #expect(["1", "True"].contains(baFields[11]))
        #expect(baFields[12] == "7")
        #expect(baFields[8] == "1")
        let dFields = lines[2].split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        #expect(dFields[10] == "146")
        #expect(dFields[13] == "110")
        #expect(dFields[14] == "0")
    }
}
