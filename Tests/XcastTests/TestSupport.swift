import NIOCore
@testable import Xcast

/// Shared helpers for the Xcast suites.
enum Fixture {
    static let channel = ChannelID(name: "car42")!

    static func endpoint(_ text: String) -> Endpoint { Endpoint(text)! }

    /// `count` destinations spread over prefixes 2001:db8:N::/48, N = i % prefixes + 1.
    static func destinations(_ count: Int, prefixes: Int = 1, port: UInt16 = 5004) -> [Endpoint] {
        (0..<count).map { i in
            Endpoint(address: IPv6Address(high: 0x2001_0db8_0000_0000 | UInt64(i % prefixes + 1) << 16, low: UInt64(i + 1)), port: port &+ UInt16(2 * i))
        }
    }

    static func datagram(_ header: XcastHeader, payload: [UInt8] = [0x80, 26, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7]) -> ByteBuffer {
        var b = ByteBuffer()
        header.write(to: &b)
        b.writeBytes(payload)
        return b
    }

    static func bytes(_ b: ByteBuffer) -> [UInt8] { Array(b.readableBytesView) }

    /// Recomputes the checksum after a test edited header octets (so the edit, not the checksum, is what fails).
    static func fixChecksum(_ b: inout ByteBuffer) {
        let r = 8
        let n = Int(b.getInteger(at: r + 5, as: UInt8.self)! & 0x7F)
        let rh = (Int(b.getInteger(at: r + 1, as: UInt8.self)!) + 1) * 8
        guard b.readableBytes >= r + rh + 2 else { return }
        let ports = (Int(b.getInteger(at: r + rh + 1, as: UInt8.self)!) + 1) * 8
        _ = n
        guard b.readableBytes >= r + rh + ports else { return }
        b.setInteger(XcastChecksum.compute(b, start: r, count: rh + ports, fieldIndex: r + 6), at: r + 6)
    }
}
