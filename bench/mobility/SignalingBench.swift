import ArgumentParser
import Foundation
import Glibc
import Mobility
import MobilityLinux
import Timekeeping

/// Load generator for bench/bench-mobility.sh: registers many mobile routers with a running
/// home agent over UDP and reports BU→BA round trips and registrations per second.
struct SignalingBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signaling",
        abstract: "Benchmark a home agent: send signed BUs for N generated accounts, time the BAs.",
        discussion: """
        Account i has home address 2001:db8:ffff::1:0 + i, SPI 1000 + i, prefix 2001:db8:e000::/48 + i (a /64 each) and the
        given key (bench/bench-mobility.sh generates the matching HA configuration).
        """)

    @Option(name: .long, help: "Home agent outer address.")
    var homeAgent: String

    @Option(name: .long, help: "Home agent inner address.")
    var homeAgentAddress: String = "2001:db8:ffff::1"

    @Option(name: .long, help: "Home agent UDP port.")
    var port: UInt16 = 4191

    @Option(name: .long, help: "Local address to send from (the care-of address).")
    var source: String

    @Option(name: .long, help: "Number of accounts to register.")
    var accounts: Int = 10_000

    @Option(name: .long, help: "BUs in flight at once for the throughput phase.")
    var window: Int = 32

    @Option(name: .long, help: "Round trips to time one at a time before the throughput phase.")
    var rttSamples: Int = 500

    @Option(name: .long, help: "MN-HA key, 32 hex digits.")
    var key: String = "0102030405060708090a0b0c0d0e0f10"

    static func homeAddress(_ i: Int) -> IPv6Address { IPv6Address(high: 0x2001_0db8_ffff_0000, low: 0x1_0000 + UInt64(i)) }
    static func prefix(_ i: Int) -> IPv6Prefix { IPv6Prefix(address: IPv6Address(high: 0x2001_0db8_e000_0000 + UInt64(i), low: 0), length: 64) }

    func validate() throws {
        guard (1...1_000_000).contains(accounts) else { throw ValidationError("--accounts must be 1...1000000 (home addresses 2001:db8:ffff::1:0 + i)") }
        guard (1...4096).contains(window) else { throw ValidationError("--window must be 1...4096") }
        guard (0...accounts).contains(rttSamples) else { throw ValidationError("--rtt-samples must be 0...--accounts") }
        guard key.count == 32, key.allSatisfy(\.isHexDigit) else { throw ValidationError("--key must be exactly 32 hex digits (16 octets)") }
    }

    func run() throws {
        guard let ha = IPAddress(homeAgent), let src = IPAddress(source), let haInner = IPv6Address(homeAgentAddress) else {
            throw ValidationError("bad address")
        }
        var keyBytes: [UInt8] = []
        var i = key.startIndex
        while i < key.endIndex { let j = key.index(i, offsetBy: 2); keyBytes.append(UInt8(key[i..<j], radix: 16) ?? 0); i = j }
        let socket = try UDPSocket(address: src, port: 0)
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(socket.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let destination = TransportAddress(address: ha, port: port)
        let clock = SystemClock()

        func datagram(_ n: Int, sequence: UInt16) -> [UInt8] {
            let hoa = Self.homeAddress(n)
            let bu = BindingUpdate(sequence: sequence, flags: [.acknowledge, .homeRegistration, .mobileRouter, .forceUDP], lifetime: 150,
                                   options: [.mobileNetworkPrefix(Self.prefix(n)), .alternateCareOfAddress(src.asIPv6),
                                             .replayProtection(clock.now().ntp), .authentication(MobilityAuthentication(spi: 1000 + UInt32(n)))])
            let mh = MobilityMessage.bindingUpdate(bu).encode(source: hoa, destination: haInner,
                                                              authentication: MobilityAuthenticationKey(spi: 1000 + UInt32(n), key: keyBytes),
                                                              careOfAddress: src.asIPv6, homeAddress: hoa)
            return UDPTunnelDatagram.signalingPacket(source: hoa, destination: haInner, mobilityHeader: mh)
        }
        var buffer = [UInt8](repeating: 0, count: 2048)
        /// Receives one BA; returns its status or nil on timeout.
        func receiveStatus() -> UInt8? {
            guard let (n, _) = buffer.withUnsafeMutableBytes({ socket.receive(into: $0) }), n > 46 else { return nil }
            return buffer[46]
        }

        // Phase 1: one BU at a time, round trip per BU.
        var rtts: [Double] = []
        var refused = 0
        let samples = min(rttSamples, accounts)
        for n in 0..<samples {
            let start = clock.now()
            socket.send(datagram(n, sequence: 1), to: destination)
            guard let status = receiveStatus() else { continue }
            if status >= 128 { refused += 1 }
            rtts.append((clock.now() - start).secondsValue * 1000)
        }
        // Phase 2: the remaining accounts with a window of BUs in flight.
        let start = clock.now()
        var sent = samples
        var answered = 0
        var inFlight = 0
        while answered < accounts - samples {
            while inFlight < window && sent < accounts {
                socket.send(datagram(sent, sequence: 1), to: destination)
                sent += 1
                inFlight += 1
            }
            guard let status = receiveStatus() else { break }
            if status >= 128 { refused += 1 }
            answered += 1
            inFlight -= 1
        }
        let elapsed = (clock.now() - start).secondsValue
        rtts.sort()
        let median = rtts.isEmpty ? 0 : rtts[rtts.count / 2]
        let p99 = rtts.isEmpty ? 0 : rtts[min(rtts.count - 1, rtts.count * 99 / 100)]
        print("rtt_samples \(rtts.count) median_ms \(String(format: "%.3f", median)) p99_ms \(String(format: "%.3f", p99))")
        print("registered \(answered) in \(String(format: "%.3f", elapsed)) s rate_per_s \(String(format: "%.0f", Double(answered) / max(elapsed, 1e-9))) refused \(refused)")
    }
}
