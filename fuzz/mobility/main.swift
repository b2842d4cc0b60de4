import NIOCore
import SystemSupport
import Timekeeping

/// libFuzzer entry, two halves:
///  1. every Mobility Header parser, the authenticator check and the inner-packet flow-key reader
///     must reject bad bytes with an error, never a trap; the tunnel's segmentation and checksum
///     completion must refuse what does not fit;
///  2. the input also drives a mobile router and a home agent wired back to back (`StateMachines`):
///     fuzzed messages are delivered raw, or re-signed with the right key, sequence number and
///     timestamp so the MR's processing of BAs and the HA's of BUs is reached to the end, with
///     clock jumps, uplink changes, data packets and a restore of a fuzzed saved cache in
///     between. Checked on the way: a BA or BU that does not authenticate changes no state.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    parsers(bytes)
    var machines = StateMachines()
    machines.run(Array(bytes))
    return 0
}

func parsers(_ bytes: UnsafeBufferPointer<UInt8>) {
    let size = bytes.count
    var buffer = ByteBuffer(bytes: bytes)
    let source = IPv6Address(high: 0x2001_0db8_ffff_0000, low: 0x10)
    let destination = IPv6Address(high: 0x2001_0db8_ffff_0000, low: 0x1)
    if let message = try? MobilityMessage(parsing: &buffer, source: source, destination: destination) {
        // Whatever parses must write back to something that parses to the same value.
        var again = message.encode(source: source, destination: destination)
        let reparsed = try? MobilityMessage(parsing: &again, source: source, destination: destination)
        precondition(reparsed == message, "re-encoded message does not parse back equal")
    }
    var structural = ByteBuffer(bytes: bytes)
    _ = try? MobilityMessage(parsing: &structural)
    _ = MobilityAuthenticator.verify(ByteBuffer(bytes: bytes), keys: { _ in Array(1...16) }, careOfAddress: source, homeAddress: source)
    _ = FlowKey(packet: UnsafeRawBufferPointer(bytes))
    _ = UDPTunnelDatagram(parsing: UnsafeRawBufferPointer(bytes))
    // The fast path's packet surgery: any bytes, any segment size and checksum offsets.
    if size >= 4 {
        let mss = Int(bytes[0]) << 8 | Int(bytes[1])
        var headers = [UInt8](repeating: 0, count: 4096)
        _ = headers.withUnsafeMutableBytes { TunnelSegmentation.segmentTCPv6(UnsafeRawBufferPointer(bytes), segmentPayload: mss, headers: $0) }
        var copy = Array(bytes)
        _ = copy.withUnsafeMutableBytes { TunnelSegmentation.completeChecksum($0, start: Int(bytes[2]), offset: Int(bytes[3])) }
        var filter = DuplicatePacketFilter(slots: 16)
        _ = filter.isDuplicate(UnsafeRawBufferPointer(bytes), now: Instant(nanoseconds: 0))
    }
}

let fuzzKey = MobilityAuthenticationKey(spi: 256, key: Array(1...16))
let fuzzHoA = IPv6Address("2001:db8:ffff::10")!
let fuzzHA = IPv6Address("2001:db8:ffff::1")!
let fuzzCoAs: [IPAddress] = [IPAddress("2001:db8:1::100")!, IPAddress("2001:db8:2::100")!, IPAddress("198.51.100.7")!, IPAddress("2001:db8:3::100")!]
let fuzzPorts: [String: UInt16] = ["wlan": 40001, "cell": 40002]

/// A mobile router and a home agent back to back, driven by the fuzzer's bytes.
struct StateMachines {
    var ha: HomeAgent
    var mr: MobileRouter
    var now = Instant.seconds(1_800_000_000)

    init() {
        let account = MobileRouterAccount(homeAddress: fuzzHoA, identifier: "mr1@example.net", key: fuzzKey,
                                          prefixes: [IPv6Prefix("2001:db8:aaaa::/48")!], maximumLifetime: 600, duplicateDownlink: true, maximumBindings: 3,
                                          ipv4HomeAddress: IPv4Address("192.0.2.77"))
        ha = HomeAgent(configuration: HomeAgentConfiguration(address: fuzzHA, homePrefix: IPv6Prefix("2001:db8:ffff::/64"), accounts: [account]))
        let policies = [FlowPolicy(name: "rtp", fid: 1, priority: 1, match: FlowMatch(protocol: 17, localPorts: 16384...32767), uplinks: ["cell", "wlan"]),
                        FlowPolicy(name: "bulk", fid: 3, priority: 3, match: FlowMatch(protocol: 6), uplinks: ["wlan", "cell"])]
        mr = MobileRouter(configuration: MobileRouterConfiguration(
            homeAddress: fuzzHoA, homeAgentAddress: fuzzHA, homeAgentEndpoints: [IPAddress("2001:db8:f::1")!, IPAddress("192.0.2.100")!],
            prefixes: [IPv6Prefix("2001:db8:aaaa:1::/64")!], key: fuzzKey, identifier: "mr1@example.net",
            uplinks: [UplinkConfiguration(name: "wlan", bid: 1, priority: 1), UplinkConfiguration(name: "cell", bid: 2, priority: 2)],
            flowPolicies: policies, initialSequence: 100, ipv4HomeAddress: IPv4Address(value: 0)))
    }

    func path(_ uplink: String) -> TransportAddress {
        TransportAddress(address: mr.careOfAddresses[uplink] ?? .v6(.unspecified), port: fuzzPorts[uplink] ?? 1)
    }

    /// Delivers the MR's BUs to the HA and the HA's answers back, as the network would.
    mutating func deliver(_ output: MobileRouterOutput, depth: Int = 0) {
        guard depth < 8 else { return }
        for s in output.signals where mr.careOfAddresses[s.uplink] != nil {
            let haOut = ha.receive(mobilityHeader: s.signal.mobilityHeader, innerSource: s.signal.innerSource,
                                   innerDestination: s.signal.innerDestination, from: path(s.uplink), now: now)
            for reply in haOut.signals {
                guard let uplink = fuzzPorts.first(where: { $0.value == reply.destination.port })?.key else { continue }
                let mrOut = mr.receive(mobilityHeader: reply.mobilityHeader, innerSource: reply.innerSource,
                                       innerDestination: reply.innerDestination, via: uplink, now: now)
                deliver(mrOut, depth: depth + 1)
            }
        }
    }

    /// The MR's state that only an authenticated BA may change.
    var mrState: [String] {
        mr.bindingUpdateList.sorted { $0.key < $1.key }.map { name, e in
            "\(name) \(e.state) \(String(describing: e.lastStatus)) \(String(describing: e.expires)) \(e.registrations) \(e.bid)"
        } + ["\(mr.sequence) \(mr.multipleCareOfActive)"]
    }

    mutating func run(_ input: [UInt8]) {
        deliver(mr.uplinkChanged("wlan", careOf: fuzzCoAs[0], now: now))
        deliver(mr.uplinkChanged("cell", careOf: fuzzCoAs[1], now: now))
        var i = 0
        var steps = 0
        while i + 3 <= input.count, steps < 64 {
            steps += 1
            let op = input[i]
            let length = min(Int(input[i + 1]) << 8 | Int(input[i + 2]), input.count - i - 3)
            let chunk = Array(input[(i + 3)..<(i + 3 + length)])
            i += 3 + length
            step(op, chunk)
        }
    }

    mutating func step(_ op: UInt8, _ chunk: [UInt8]) {
        let uplink = op & 0x10 == 0 ? "wlan" : "cell"
        switch op & 0x0F {
        case 0:
            // Raw bytes to the MR as a BA/BE/BRR from the HA (checksum fixed when asked).
            var mh = ByteBuffer(bytes: chunk)
            if op & 0x20 != 0, mh.readableBytes >= 8 {
                mh.setInteger(UInt16(0), at: 4)
                mh.setInteger(InternetChecksum.mobilityHeader(mh.readableBytesView, source: fuzzHA, destination: fuzzHoA), at: 4)
            }
            let before = mrState
            var probe = mh
            let isBA: Bool
            if case .bindingAcknowledgement? = try? MobilityMessage(parsing: &probe) { isBA = true } else { isBA = false }
            deliver(mr.receive(mobilityHeader: mh, innerSource: fuzzHA, innerDestination: fuzzHoA, via: uplink, now: now))
            if isBA {
                // Not signed with our key: whatever it says, nothing changed.
                precondition(mrState == before, "an unauthenticated BA changed the MR's state")
            }
        case 1:
            // A fuzzed BA made to authenticate: the outstanding BU's sequence and timestamp, our key.
            var body = ByteBuffer(bytes: chunk)
            guard case .bindingAcknowledgement(var ba)? = try? MobilityMessage(parsing: &body) else { return }
            let o = mr.bindingUpdateList[uplink]?.outstanding
            if op & 0x20 != 0, let o { ba.sequence = o.sequence }
            if op & 0x40 != 0, let t = o?.timestamp {
                ba.options.removeAll { if case .replayProtection = $0 { return true }; return false }
                ba.options.append(.replayProtection(t))
            }
            ba.options.removeAll { if case .authentication = $0 { return true }; return false }
            ba.options.append(.authentication(MobilityAuthentication(spi: fuzzKey.spi)))
            let coa = o?.careOfForAuthentication ?? .unspecified
            let mh = MobilityMessage.bindingAcknowledgement(ba).encode(source: fuzzHA, destination: fuzzHoA, authentication: fuzzKey,
                                                                       careOfAddress: coa, homeAddress: fuzzHoA)
            deliver(mr.receive(mobilityHeader: mh, innerSource: fuzzHA, innerDestination: fuzzHoA, via: uplink, now: now))
        case 2:
            // Raw bytes to the HA as a BU from the uplink's path.
            var mh = ByteBuffer(bytes: chunk)
            if op & 0x20 != 0, mh.readableBytes >= 8 {
                mh.setInteger(UInt16(0), at: 4)
                mh.setInteger(InternetChecksum.mobilityHeader(mh.readableBytesView, source: fuzzHoA, destination: fuzzHA), at: 4)
            }
            let before = ha.cacheRevision
            var probe = mh
            let isBU: Bool
            if case .bindingUpdate? = try? MobilityMessage(parsing: &probe) { isBU = true } else { isBU = false }
            _ = ha.receive(mobilityHeader: mh, innerSource: fuzzHoA, innerDestination: fuzzHA, from: path(uplink), now: now)
            if isBU { precondition(ha.cacheRevision == before, "an unauthenticated BU changed the binding cache") }
        case 3:
            // A fuzzed BU made to authenticate (fresh timestamp when asked), answered back to the MR.
            var body = ByteBuffer(bytes: chunk)
            guard case .bindingUpdate(var bu)? = try? MobilityMessage(parsing: &body) else { return }
            if op & 0x20 != 0 {
                bu.options.removeAll { if case .replayProtection = $0 { return true }; return false }
                bu.options.append(.replayProtection(now.ntp &+ UInt64(bu.sequence) << 8))
            }
            if op & 0x40 != 0 {
                // Not last: an option after the authenticator must be refused whatever it says.
                bu.options.removeAll { if case .authentication = $0 { return true }; return false }
            }
            bu.options.removeAll { if case .authentication = $0 { return true }; return false }
            bu.options.append(.authentication(MobilityAuthentication(spi: fuzzKey.spi)))
            let coa = HomeAgent.authenticatedCareOf(bu.options)
            var mh = MobilityMessage.bindingUpdate(bu).encode(source: fuzzHoA, destination: fuzzHA, authentication: fuzzKey,
                                                              careOfAddress: coa, homeAddress: fuzzHoA)
            var before: Int?
            if op & 0x40 != 0 {
                // Append a Binding Identifier option after the MN-HA option (Header Len and checksum fixed).
                mh.writeBytes([35, 4, 0, 9, 0, 1, 1, 0])
                mh.setInteger(UInt8(clamping: mh.readableBytes / 8 - 1), at: 1)
                mh.setInteger(UInt16(0), at: 4)
                mh.setInteger(InternetChecksum.mobilityHeader(mh.readableBytesView, source: fuzzHoA, destination: fuzzHA), at: 4)
                before = ha.cacheRevision
            }
            let haOut = ha.receive(mobilityHeader: mh, innerSource: fuzzHoA, innerDestination: fuzzHA, from: path(uplink), now: now)
            if let before { precondition(ha.cacheRevision == before, "a BU with an option after the MN-HA option changed the cache") }
            for reply in haOut.signals {
                deliver(mr.receive(mobilityHeader: reply.mobilityHeader, innerSource: reply.innerSource,
                                   innerDestination: reply.innerDestination, via: uplink, now: now))
            }
        case 4:
            // The clock moves (up to ~18 h), timers run.
            let seconds = chunk.prefix(2).reduce(0) { $0 << 8 | Int($1) }
            now = now + .milliseconds(seconds * 1000 + Int(chunk.dropFirst(2).first ?? 0) * 4)
            _ = ha.expire(now: now)
            deliver(mr.tick(now: now))
        case 5:
            // An uplink goes down or comes up with another care-of address.
            let coa: IPAddress? = chunk.first.map { fuzzCoAs[Int($0) % fuzzCoAs.count] }
            deliver(mr.uplinkChanged(uplink, careOf: chunk.first.map { $0 & 0x80 != 0 } == true ? nil : coa, now: now))
        case 6:
            // Data: a packet from the tunnel at the HA and at the MR, and one to route downlink.
            let packet = chunk
            packet.withUnsafeBytes { raw in
                if let flow = FlowKey(packet: raw) {
                    _ = ha.acceptsUplink(from: path(uplink), source: flow.source)
                    _ = ha.unknownPathSignal(from: path(uplink), source: flow.source, now: now)
                    _ = ha.downlinkPaths(for: flow)
                    _ = mr.uplink(for: flow)
                    _ = mr.acceptsDownlink(destination: flow.destination)
                }
            }
        case 7:
            // A saved binding cache restored into a fresh home agent (fields from the bytes).
            var fresh = StateMachines().ha
            let text = String(decoding: chunk.prefix(64), as: UTF8.self)
            let hexFlows = chunk.count > 64 ? [Hex.encode(chunk.dropFirst(64))] : []
            let n = Int64(chunk.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } >> 1)
            let first = chunk.first ?? 0
            let home: String = first & 1 == 0 ? fuzzHoA.description : text
            let prefixes: [String] = first & 2 == 0 ? ["2001:db8:aaaa:1::/64"] : [text]
            let count = Int(chunk.last ?? 1) % 6
            var bindings: [BindingCacheSnapshot.SavedBinding] = []
            for k in 0..<count {
                let careOf: String = k == 1 ? text : "2001:db8:1::100"
                let expires: Int64 = k == 2 ? Int64.max : n &* Int64(k)
                bindings.append(BindingCacheSnapshot.SavedBinding(bid: UInt16(k), careOf: careOf, pathAddress: "2001:db8:1::100",
                                                                  pathPort: UInt16(truncatingIfNeeded: n), priority: UInt8(truncatingIfNeeded: k),
                                                                  registeredAt: n, expires: expires))
            }
            let saved = BindingCacheSnapshot.SavedEntry(homeAddress: home, isMobileRouter: true, lastSequence: UInt16(truncatingIfNeeded: n),
                                                        lastTimestamp: UInt64(bitPattern: n), prefixes: prefixes, bindings: bindings, flows: hexFlows)
            let (out, _) = fresh.restore(BindingCacheSnapshot(version: chunk.count % 3 == 0 ? 2 : 1, entries: [saved]), now: now)
            _ = out
            _ = fresh.expire(now: now + .seconds(1000))
            _ = BindingCacheSnapshot(fresh.cache)
        default:
            // A Binding Error or Refresh Request to the MR (unauthenticated by design).
            let be = MobilityMessage.bindingError(BindingError(status: chunk.first ?? 1, homeAddress: fuzzHoA))
            deliver(mr.receive(mobilityHeader: be.encode(source: fuzzHA, destination: fuzzHoA), innerSource: fuzzHA,
                               innerDestination: fuzzHoA, via: uplink, now: now))
        }
    }
}
