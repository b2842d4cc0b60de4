import Mobility

/// Both ends' receive paths decide whether a tunnelled data packet belongs to a binding once per
/// run of packets with the same path and inner address (source at the HA, destination at the
/// MR), not once per packet: a UDP GRO
/// receive hands over up to 64 datagrams of one flow from one path, and the per-packet lock and
/// hash lookups (path → socket, path → router, router → entry) were a quarter of the HA's CPU
/// under bulk traffic (perf, 2026-12-04). A decision is reused for at most `maximumReuse`
/// packets, so a change (a revocation) takes effect within one batch even under a flood that
/// keeps the receive loop from ever finding its socket empty. Its counters are added once, by
/// whoever holds the lock next (`take`).
struct ReceiveBatchMemo {
    static let maximumReuse = 64

    /// An inner address as read from the packet, without building an address value.
    struct RawAddress: Equatable {
        var high: UInt64
        var low: UInt64

        /// The packet's source address (IPv6 octets 8..<24, IPv4 12..<16).
        static func source(of p: UnsafeRawBufferPointer) -> RawAddress? { RawAddress(p, ipv6At: 8, ipv4At: 12) }
        /// The packet's destination address (IPv6 octets 24..<40, IPv4 16..<20).
        static func destination(of p: UnsafeRawBufferPointer) -> RawAddress? { RawAddress(p, ipv6At: 24, ipv4At: 16) }

        /// An IPv4 address is marked so that no IPv6 address can equal it.
        private init?(_ p: UnsafeRawBufferPointer, ipv6At v6: Int, ipv4At v4: Int) {
            guard let first = p.first else { return nil }
            switch first >> 4 {
            case 6 where p.count >= 40:
                high = p.loadUnaligned(fromByteOffset: v6, as: UInt64.self)
                low = p.loadUnaligned(fromByteOffset: v6 + 8, as: UInt64.self)
            case 4 where p.count >= 20:
                high = .max
                low = UInt64(p.loadUnaligned(fromByteOffset: v4, as: UInt32.self))
            default:
                return nil
            }
        }
    }

    private var path: TransportAddress?
    private var address: RawAddress?
    private var reuses = 0
    /// The path whose socket was recorded last (the HA answers each path on the socket it came in on).
    var recordedPath: TransportAddress?
    private(set) var packets = 0
    private(set) var bytes = 0

    /// Whether a packet from `path` with inner `address` (the source at the HA, the destination at
    /// the MR) is accepted on the strength of the last full check; counts it if so.
    mutating func accepts(from path: TransportAddress, address: RawAddress?, bytes count: Int) -> Bool {
        guard let address, reuses < Self.maximumReuse, self.address == address, self.path == path else { return false }
        reuses += 1
        packets += 1
        bytes += count
        return true
    }

    /// A full check accepted a packet from `path` with `address`: the next ones may reuse it.
    mutating func remember(path: TransportAddress, address: RawAddress?) {
        self.path = path
        self.address = address
        reuses = 0
    }

    /// A full check refused one: nothing is reused until the next acceptance.
    mutating func forget() {
        path = nil
        address = nil
    }

    /// The counts gathered so far, reset.
    mutating func take() -> (packets: Int, bytes: Int) {
        defer { packets = 0; bytes = 0 }
        return (packets, bytes)
    }
}
