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
}

extension Endpoint {
    func withPort(_ p: UInt16) -> Endpoint? { Endpoint(address: address, port: p) }
}
