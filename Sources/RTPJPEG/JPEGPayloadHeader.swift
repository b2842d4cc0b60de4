import NIOCore

/// The RTP/JPEG main header and its optional Restart Marker and Quantization Table headers
/// (RFC 2435 §3.1), in the order they follow the RTP header.
public struct JPEGPayloadHeader: Hashable, Sendable {
    public var typeSpecific: UInt8
    /// Byte offset of this fragment in the frame's scan data (24 bits).
    public var fragmentOffset: Int
    public var type: UInt8
    public var q: UInt8
    /// Width and height in pixels (multiples of 8, ≤ 2040).
    public var width: Int
    public var height: Int
    /// Restart Marker header (types 64–127).
    public var restartInterval: UInt16
    public var restartFirst: Bool
    public var restartLast: Bool
    public var restartCount: UInt16
    /// Quantization Table header (Q ≥ 128, offset 0 only): 64-octet tables, zig-zag order, 8-bit.
    public var quantizationTables: [UInt8]?

    public init(type: UInt8, q: UInt8, width: Int, height: Int, fragmentOffset: Int = 0, restartInterval: UInt16 = 0,
                quantizationTables: [UInt8]? = nil) {
        typeSpecific = 0
        self.fragmentOffset = fragmentOffset
        self.type = type
        self.q = q
        self.width = width
        self.height = height
        self.restartInterval = restartInterval
        restartFirst = true
        restartLast = true
        restartCount = 0x3FFF
        self.quantizationTables = quantizationTables
    }

    public var hasRestart: Bool { type >= 64 && type < 128 }

    public var encodedLength: Int {
        8 + (hasRestart ? 4 : 0) + (quantizationTables.map { 4 + $0.count } ?? 0)
    }

    public init(parsing buffer: inout ByteBuffer) throws(RTPJPEGError) {
        guard buffer.readableBytes >= 8 else { throw .truncated(needed: 8, available: buffer.readableBytes) }
        let word = buffer.readInteger(as: UInt32.self)!
        typeSpecific = UInt8(word >> 24)
        fragmentOffset = Int(word & 0xFF_FFFF)
        type = buffer.readInteger(as: UInt8.self)!
        q = buffer.readInteger(as: UInt8.self)!
        width = Int(buffer.readInteger(as: UInt8.self)!) * 8
        height = Int(buffer.readInteger(as: UInt8.self)!) * 8
        guard [0, 1, 64, 65].contains(type) else { throw .unsupportedType(type) }
        guard q != 0, !(100...127).contains(q) else { throw .reservedQ(q) }
        guard width > 0, height > 0 else { throw .zeroSize }
        restartInterval = 0
        restartFirst = true
        restartLast = true
        restartCount = 0x3FFF
        if type >= 64 {
            guard buffer.readableBytes >= 4 else { throw .truncated(needed: 4, available: buffer.readableBytes) }
            restartInterval = buffer.readInteger(as: UInt16.self)!
            guard restartInterval != 0 else { throw .zeroRestartInterval }
            let flags = buffer.readInteger(as: UInt16.self)!
            restartFirst = flags & 0x8000 != 0
            restartLast = flags & 0x4000 != 0
            restartCount = flags & 0x3FFF
        }
        quantizationTables = nil
        if q >= 128 && fragmentOffset == 0 {
            guard buffer.readableBytes >= 4 else { throw .truncated(needed: 4, available: buffer.readableBytes) }
            buffer.moveReaderIndex(forwardBy: 1)        // MBZ
            let precision = buffer.readInteger(as: UInt8.self)!
            let length = Int(buffer.readInteger(as: UInt16.self)!)
            guard precision == 0, length % 64 == 0, length <= 192, length <= buffer.readableBytes else { throw .badQuantizationLength(length) }
            if length > 0 { quantizationTables = buffer.readBytes(length: length)! }
        }
    }

    public func write(to out: inout ByteBuffer) {
        out.writeInteger(UInt32(typeSpecific) << 24 | UInt32(fragmentOffset & 0xFF_FFFF))
        out.writeInteger(type)
        out.writeInteger(q)
        out.writeInteger(UInt8(truncatingIfNeeded: width / 8))
        out.writeInteger(UInt8(truncatingIfNeeded: height / 8))
        if hasRestart {
            out.writeInteger(restartInterval)
            out.writeInteger((restartFirst ? 0x8000 : 0) | (restartLast ? 0x4000 : 0) | restartCount & 0x3FFF)
        }
        if let t = quantizationTables {
            out.writeInteger(UInt8(0))
            out.writeInteger(UInt8(0))
            out.writeInteger(UInt16(t.count))
            out.writeBytes(t)
        }
    }
}
