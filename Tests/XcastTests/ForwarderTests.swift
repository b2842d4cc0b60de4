import NIOCore
import Testing
import Xcast
@testable import xcast6

/// The relay's fast path over real loopback sockets: every receiver gets every payload once, whole
/// and in order, whether UDP GSO groups them or not (runs must split where sizes change).
@Suite struct ForwarderTests {
    @Test(arguments: [true, false])
    func x2uDeliversEveryPayloadInOrder(gso: Bool) throws {
        let receivers = try (0..<3).map { _ in try UDPSocket(bind: Endpoint("[::1]:1")!.withPort(0)) }
        let destinations = receivers.map { Endpoint(address: .loopback, port: $0.localPort) }
        let forwarder = Forwarder(socket: try UDPSocket(bind: nil), table: .allDirect, policy: DestinationPolicy(allowLoopback: true),
                                  metrics: Metrics(role: "test"), gso: gso)
        let sizes = [1400, 1400, 1400, 900, 1400, 1400, 700, 300, 1400, 50, 50, 1400, 1500, 1400]
        var all = ByteBuffer()
        var ranges: [Range<Int>] = []
        var payloads: [[UInt8]] = []
        for (k, size) in sizes.enumerated() {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ k) }
            payloads.append(payload)
            let start = all.writerIndex
            XcastHeader(channel: ChannelID(name: "t")!, destinations: destinations).write(to: &all)
            all.writeBytes(payload)
            ranges.append(start..<all.writerIndex)
        }
        all.withUnsafeReadableBytes { raw in
            for r in ranges { #expect(forwarder.forward(UnsafeRawBufferPointer(rebasing: raw[r])) == nil) }
            forwarder.flush()
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { buffer.deallocate() }
        for r in receivers {
            var got: [[UInt8]] = []
            while let (n, _) = r.receive(into: buffer, timeoutMilliseconds: 500) {
                got.append(Array(UnsafeRawBufferPointer(rebasing: buffer[0..<n])))
                if got.count == payloads.count { break }
            }
            #expect(got == payloads)
        }
        #expect(forwarder.gso == gso)
    }

    /// Relay copies (a new Xcast header each, the same payload) to a downstream relay: with GSO a run of
    /// equal-size copies is one send, and sizes change with the payload and with the header (3 or 5
    /// destinations): the relay still gets every copy once, whole and in order.
    @Test(arguments: [true, false])
    func relayCopiesArriveWholeAndInOrder(gso: Bool) throws {
        let relay = try UDPSocket(bind: Endpoint("[::1]:1")!.withPort(0))
        let relayAt = Endpoint(address: .loopback, port: relay.localPort)
        let forwarder = Forwarder(socket: try UDPSocket(bind: nil), table: .allVia(relayAt), policy: .standard,
                                  metrics: Metrics(role: "test"), gso: gso)
        #expect(forwarder.relaySegmentLimit == [65536 - 48])  // loopback's MTU
        let inputs: [(size: Int, receivers: Int)] = [(1400, 3), (1400, 3), (1400, 3), (900, 3), (1400, 5), (1400, 5), (1400, 3),
                                                     (300, 2), (1400, 3), (1400, 3), (50, 3), (1400, 5), (1500, 5), (1400, 5)]
        var all = ByteBuffer()
        var ranges: [Range<Int>] = []
        var payloads: [[UInt8]] = []
        for (k, input) in inputs.enumerated() {
            let payload = (0..<input.size).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ k) }
            payloads.append(payload)
            let destinations = (0..<input.receivers).map { Endpoint(address: IPv6Address(high: 0x2001_0db8_0000_0000, low: UInt64($0 + 1)), port: 5004) }
            let start = all.writerIndex
            XcastHeader(channel: ChannelID(name: "t")!, destinations: destinations).write(to: &all)
            all.writeBytes(payload)
            ranges.append(start..<all.writerIndex)
        }
        all.withUnsafeReadableBytes { raw in
            for r in ranges { #expect(forwarder.forward(UnsafeRawBufferPointer(rebasing: raw[r])) == nil) }
            forwarder.flush()
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { buffer.deallocate() }
        var got = 0
        while got < inputs.count, let (n, _) = relay.receive(into: buffer, timeoutMilliseconds: 500) {
            let d = try XcastDatagram(parsing: ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<n])), policy: .standard)
            #expect(d.count == inputs[got].receivers)
            #expect(Array(d.payload.readableBytesView) == payloads[got])
            got += 1
        }
        #expect(got == inputs.count)
        #expect(relay.receive(into: buffer, timeoutMilliseconds: 100) == nil)  // nothing twice
        #expect(forwarder.gso == gso)
        // runs: (3×1400+900), (2×1400 with 5), (1400, 300), (2×1400+50), (1400, then 1500 alone, 1400) with 5
        #expect(forwarder.sentDatagrams == inputs.count)
        if gso { #expect(forwarder.sentMessages < inputs.count) } else { #expect(forwarder.sentMessages == inputs.count) }
    }
}

extension Endpoint {
    func withPort(_ p: UInt16) -> Endpoint? { Endpoint(address: address, port: p) }
}
