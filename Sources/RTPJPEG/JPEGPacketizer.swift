import NIOCore
import RTP

/// Cuts JPEG pictures into RTP/JPEG packets (RFC 2435): payload type 26, 90 kHz clock, Q 255 with
/// both quantization tables in the first packet of every frame, marker on the last packet.
/// Sans-I/O: the caller gives the RTP timestamp; packets are written into one ByteBuffer each.
public struct JPEGPacketizer: Sendable {
    public static let payloadType: UInt8 = 26
    public static let clockRate = 90_000

    public let ssrc: UInt32
    /// Most RTP octets (header included) per packet.
    public var maxPacketSize: Int
    public private(set) var sequenceNumber: UInt16
    public private(set) var packetsSent: UInt32 = 0
    public private(set) var octetsSent: UInt32 = 0

    public init(ssrc: UInt32, initialSequence: UInt16 = 0, maxPacketSize: Int = 1400) {
        precondition(maxPacketSize >= 12 + 8 + 4 + 132 + 1, "an RTP/JPEG packet needs room for its headers")
        self.ssrc = ssrc
        self.sequenceNumber = initialSequence
        self.maxPacketSize = maxPacketSize
    }

    /// The RTP packets of one picture, in order. Throws (and sends nothing) for a picture RTP/JPEG cannot carry.
    public mutating func packets(jpeg: [UInt8], timestamp: UInt32, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws(RTPJPEGError) -> [ByteBuffer] {
        let picture = try JPEGPicture(jpeg)
        var out: [ByteBuffer] = []
        var offset = 0
        let total = picture.scan.count
        repeat {
            var header = JPEGPayloadHeader(type: picture.type, q: 255, width: picture.width, height: picture.height,
                                           fragmentOffset: offset, restartInterval: picture.restartInterval,
                                           quantizationTables: offset == 0 ? picture.quantizationTables : nil)
            header.restartFirst = true
            header.restartLast = true
            header.restartCount = 0x3FFF
            let room = maxPacketSize - RTPHeader.fixedLength - header.encodedLength
            let chunk = Swift.min(room, total - offset)
            let last = offset + chunk == total
            let rtp = RTPHeader(marker: last, payloadType: Self.payloadType, sequenceNumber: sequenceNumber, timestamp: timestamp, ssrc: ssrc)
            var b = allocator.buffer(capacity: rtp.encodedLength + header.encodedLength + chunk)
            rtp.write(to: &b)
            header.write(to: &b)
            jpeg.withUnsafeBufferPointer { p in
                b.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(p)[(picture.scan.lowerBound + offset)..<(picture.scan.lowerBound + offset + chunk)]))
            }
            out.append(b)
            sequenceNumber &+= 1
            packetsSent &+= 1
            octetsSent &+= UInt32(truncatingIfNeeded: b.readableBytes - rtp.encodedLength)
            offset += chunk
        } while offset < total
        return out
    }
}
