import Timekeeping

/// Drops the second copy of a packet that arrived over two bindings (the home agent's
/// `duplicateDownlink`, make-before-break): a packet is a copy when the same octets were seen
/// less than `window` ago. Fixed memory: a slot per hash bucket, the newest packet wins, so a
/// bucket collision can only let a copy through, never drop an original; an application that
/// sends identical packets within the window would see the second one dropped, as for a copy.
public struct DuplicatePacketFilter: Sendable {
    private var hashes: [UInt64]
    private var seen: [Int64]
    private let mask: Int
    public let window: Duration

    /// `slots` is rounded up to a power of two.
    public init(slots: Int = 4096, window: Duration = .milliseconds(500)) {
        var n = 1
        while n < slots { n <<= 1 }
        hashes = [UInt64](repeating: 0, count: n)
        seen = [Int64](repeating: .min, count: n)
        mask = n - 1
        self.window = window
    }

    /// A 64-bit FNV-1a style hash, eight octets a step.
    public static func hash(_ packet: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        guard let base = packet.baseAddress else { return h }
        var i = 0
        while i + 8 <= packet.count {
            h = (h ^ base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x0000_0100_0000_01B3
            h ^= h >> 29
            i += 8
        }
        while i < packet.count {
            h = (h ^ UInt64(base.load(fromByteOffset: i, as: UInt8.self))) &* 0x0000_0100_0000_01B3
            i += 1
        }
        return h ^ UInt64(packet.count)
    }

    /// Whether `packet` is a copy of one seen within the window; records it otherwise.
    public mutating func isDuplicate(_ packet: UnsafeRawBufferPointer, now: Instant) -> Bool {
        let h = DuplicatePacketFilter.hash(packet)
        let slot = Int(truncatingIfNeeded: h) & mask
        let t = now.nanoseconds
        if hashes[slot] == h, seen[slot] != .min, now - Instant(nanoseconds: seen[slot]) < window { return true }
        hashes[slot] = h
        seen[slot] = t
        return false
    }
}
