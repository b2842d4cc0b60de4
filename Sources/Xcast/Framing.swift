import NIOCore

/// The 8-octet framing every Xcast-over-UDP datagram starts with (docs/xcast.md §2):
/// magic "X6", framing version, message type, hop limit (data only), three reserved octets.
public struct XcastFraming: Hashable, Sendable {
    public static let magic: UInt16 = 0x5836
    public static let version: UInt8 = 1
    public static let length = 8

    public enum MessageType: UInt8, Sendable, Hashable {
        case data = 0
        case join = 1
        case leave = 2
        case accepted = 3
        case refused = 4
        case query = 5
        case members = 6
    }

    public var type: MessageType
    /// Relay hops this datagram may still take (data only; 0 in control messages).
    public var hopLimit: UInt8

    public init(type: MessageType, hopLimit: UInt8 = 0) {
        self.type = type
        self.hopLimit = hopLimit
    }

    public init(parsing buffer: inout ByteBuffer) throws(XcastParseError) {
        guard buffer.readableBytes >= Self.length else { throw .truncated(needed: Self.length, available: buffer.readableBytes) }
        let magic = buffer.readInteger(as: UInt16.self)!
        guard magic == Self.magic else { throw .notXcast(magic: magic) }
        let version = buffer.readInteger(as: UInt8.self)!
        guard version == Self.version else { throw .unknownFramingVersion(version) }
        let raw = buffer.readInteger(as: UInt8.self)!
        guard let type = MessageType(rawValue: raw) else { throw .unknownMessageType(raw) }
        self.type = type
        hopLimit = buffer.readInteger(as: UInt8.self)!
        buffer.moveReaderIndex(forwardBy: 3)   // reserved: sent as 0, ignored
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(Self.magic)
        buffer.writeInteger(Self.version)
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(hopLimit)
        buffer.writeRepeatingByte(0, count: 3)
    }
}
