import Mobility

/// The home agent's receive path decides whether a tunnelled data packet belongs to a binding
/// once per run of packets with the same path and inner source, not once per packet: a UDP GRO
/// receive hands over up to 64 datagrams of one flow from one path, and the per-packet lock and
/// hash lookups (path → socket, path → router, router → entry) were a quarter of the HA's CPU
/// under bulk traffic (perf, 2026-12-04). A decision is reused for at most `maximumReuse`
/// packets, so a change (a revocation) takes effect within one batch even under a flood that
/// keeps the receive loop from ever finding its socket empty. Its counters are added once, by
/// whoever holds the lock next (`take`).
struct ReceiveBatchMemo {
    static let maximumReuse = 64

    /// The inner source address as read from the packet, without building an address value.
    struct RawSource: Equatable {
        var high: UInt64
        var low: UInt64

        /// IPv6: octets 8..<24; IPv4: octets 12..<16 (marked so no IPv6 source can equal it).
        init?(packet p: UnsafeRawBufferPointer) {
            guard let first = p.first else { return nil }
            switch first >> 4 {
            case 6 where p.count >= 40:
                high = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                low = p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
            case 4 where p.count >= 20:
                high = .max
                low = UInt64(p.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
            default:
                return nil
            }
        }
    }

    private var path: TransportAddress?
    private var source: RawSource?
    private var reuses = 0
    /// The path whose socket was recorded last (the HA answers each path on the socket it came in on).
    var recordedPath: TransportAddress?
    private(set) var packets = 0
    private(set) var bytes = 0

    /// Whether a packet from `path` with inner `source` is accepted on the strength of the last
    /// full check; counts it if so.
    mutating func accepts(from path: TransportAddress, source: RawSource?, bytes count: Int) -> Bool {
        guard let source, reuses < Self.maximumReuse, self.source == source, self.path == path else { return false }
        reuses += 1
        packets += 1
        bytes += count
        return true
    }

    /// A full check accepted a packet from `path` with `source`: the next ones may reuse it.
    mutating func remember(path: TransportAddress, source: RawSource?) {
        self.path = path
        self.source = source
        reuses = 0
    }

    /// A full check refused one: nothing is reused until the next acceptance.
    mutating func forget() {
        path = nil
        source = nil
    }

    /// The counts gathered so far, reset.
    mutating func take() -> (packets: Int, bytes: Int) {
        defer { packets = 0; bytes = 0 }
        return (packets, bytes)
    }
}
