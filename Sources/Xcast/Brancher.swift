/// What a node does with one Xcast datagram (RFC 5058 §2, §11.4; docs/xcast.md §5): every live
/// destination lands in exactly one place, so no two copies ever own the same bit.
///
/// Reused from packet to packet (`reset` keeps capacity): no allocation in steady state.
public struct BranchPlan: Sendable {
    /// Per downstream relay (index into `RouteTable.relays`): the bits its copy owns; empty = no copy.
    public var relayBitmaps: [XcastBitmap] = []
    /// Hop limit the relay copies carry.
    public var forwardHopLimit: UInt8 = 0
    /// Destinations (indices) served directly as plain unicast (X2U).
    public var unicast: [Int] = []
    /// Destinations served directly but kept Xcast because X is set.
    public var directXcast: [Int] = []
    /// Destinations that are this node itself.
    public var local: [Int] = []
    /// Live destinations no route matched (dropped).
    public var noRoute = 0
    /// Live destinations not forwarded to a relay because the hop limit is spent (dropped).
    public var hopLimitDrops = 0

    public init() {}

    public mutating func reset(relays: Int) {
        if relayBitmaps.count != relays { relayBitmaps = Array(repeating: XcastBitmap(), count: relays) } else {
            for i in relayBitmaps.indices { relayBitmaps[i] = XcastBitmap() }
        }
        unicast.removeAll(keepingCapacity: true)
        directXcast.removeAll(keepingCapacity: true)
        local.removeAll(keepingCapacity: true)
        noRoute = 0
        hopLimitDrops = 0
        forwardHopLimit = 0
    }

    /// Copies to relays that this plan sends.
    public var relayCopies: Int { relayBitmaps.reduce(0) { $0 + ($1.isEmpty ? 0 : 1) } }
}

public enum Brancher {
    /// Fills `plan` for `datagram` under `table`.
    /// - local: the destination is one of `table.local`;
    /// - route `direct`: X2U (or an Xcast copy to the destination itself when X is set);
    /// - route `relay`: the bit goes into that relay's copy, sent with hop limit − 1 (none if that is 0);
    /// - no route: dropped and counted.
    public static func plan(_ datagram: XcastDatagram, table: RouteTable, into plan: inout BranchPlan) {
        plan.reset(relays: table.relays.count)
        let forward = datagram.hopLimit &- 1
        plan.forwardHopLimit = forward
        let bitmap = datagram.bitmap
        for i in 0..<datagram.count where bitmap[i] {
            let address = datagram.address(i)
            if !table.local.isEmpty, table.local.contains(Endpoint(address: address, port: datagram.port(i))) {
                plan.local.append(i)
                continue
            }
            guard let r = table.lookup(address) else { plan.noRoute += 1; continue }
            let relay = table.relayIndex[r]
            if relay < 0 {
                if datagram.stayXcast { plan.directXcast.append(i) } else { plan.unicast.append(i) }
            } else if forward == 0 {
                plan.hopLimitDrops += 1
            } else {
                plan.relayBitmaps[relay][i] = true
            }
        }
    }
}
