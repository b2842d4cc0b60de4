import NIOCore
import Testing
@testable import Xcast

@Suite struct BranchingTests {
    static let relayA = Endpoint("[2001:db8:a::1]:4000")!
    static let relayB = Endpoint("[2001:db8:b::1]:4000")!
    /// Prefix 1 → relay A, prefix 2 → relay B, prefix 3 direct, nothing else routed.
    static let table = RouteTable(routes: [
        .init(prefix: IPv6Address("2001:db8:1::")!, length: 48, nextHop: .relay(relayA)),
        .init(prefix: IPv6Address("2001:db8:2::")!, length: 48, nextHop: .relay(relayB)),
        .init(prefix: IPv6Address("2001:db8:3::")!, length: 48, nextHop: .direct),
    ])

    func plan(_ h: XcastHeader, table: RouteTable = Self.table) throws -> (XcastDatagram, BranchPlan) {
        let d = try XcastDatagram(parsing: Fixture.datagram(h))
        var p = BranchPlan()
        Brancher.plan(d, table: table, into: &p)
        return (d, p)
    }

    @Test(arguments: [1, 2, 7, 64, 65, 125])
    func everyLiveBitLandsExactlyOnce(count: Int) throws {
        var bm = XcastBitmap(allOf: count)
        for i in stride(from: 0, to: count, by: 5) { bm[i] = false }
        if bm.isEmpty { bm[0] = true }
        let h = XcastHeader(channel: Fixture.channel, destinations: Fixture.destinations(count, prefixes: 4), bitmap: bm)
        let (d, p) = try plan(h)
        var owners = [Int](repeating: 0, count: count)
        for r in p.relayBitmaps { for i in 0..<count where r[i] { owners[i] += 1 } }
        for i in p.unicast + p.local + p.directXcast { owners[i] += 1 }
        for i in 0..<count {
            let prefix = Int((d.address(i).high >> 16) & 0xFFFF)
            if !bm[i] || prefix == 4 { #expect(owners[i] == 0) } else { #expect(owners[i] == 1, "destination \(i)") }
        }
        // split by next hop: relay A's copy owns exactly the prefix-1 bits, B's the prefix-2 bits
        for i in 0..<count where bm[i] {
            let prefix = Int((d.address(i).high >> 16) & 0xFFFF)
            #expect(p.relayBitmaps[0][i] == (prefix == 1))
            #expect(p.relayBitmaps[1][i] == (prefix == 2))
            #expect(p.unicast.contains(i) == (prefix == 3))
        }
        #expect(p.noRoute == (0..<count).filter { bm[$0] && (d.address($0).high >> 16) & 0xFFFF == 4 }.count)
        #expect(p.forwardHopLimit == h.hopLimit - 1)
    }

    @Test func relayCopyCarriesOnlyItsBitsAndTheSamePayload() throws {
        let h = XcastHeader(channel: Fixture.channel, destinations: Fixture.destinations(6, prefixes: 3), anonymous: true)
        let payload: [UInt8] = [0x80, 26, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xAB, 0xCD]
        let d = try XcastDatagram(parsing: Fixture.datagram(h, payload: payload))
        var p = BranchPlan()
        Brancher.plan(d, table: Self.table, into: &p)
        var copy = ByteBuffer()
        d.writeHeader(to: &copy, bitmap: p.relayBitmaps[0], hopLimit: p.forwardHopLimit)
        var payloadBuffer = d.payload
        copy.writeBuffer(&payloadBuffer)
        var reader = copy
        let back = try XcastHeader(parsing: &reader)
        #expect(back.hopLimit == h.hopLimit - 1)
        #expect(back.bitmap == p.relayBitmaps[0])
        #expect(back.bitmap.count == 2)
        // A set: the addresses of bits this copy does not own are zeroed, its own kept
        for i in 0..<6 { #expect((back.destinations[i].address == .unspecified) == !back.bitmap[i]) }
        #expect(back.destinations.map(\.port) == h.destinations.map(\.port))
        #expect(reader.readBytes(length: reader.readableBytes)! == payload)
        // a relay downstream of A (all direct) serves exactly those two by X2U
        let d2 = try XcastDatagram(parsing: copy)
        var p2 = BranchPlan()
        Brancher.plan(d2, table: .allDirect, into: &p2)
        #expect(p2.unicast.map { d2.destination($0) } == [0, 3].map { h.destinations[$0] })
    }

    @Test func localDeliveryWhenTheRelayIsAMember() throws {
        let dests = Fixture.destinations(3, prefixes: 1)
        let table = RouteTable(routes: Self.table.routes, local: [dests[1]])
        let (_, p) = try plan(XcastHeader(channel: Fixture.channel, destinations: dests), table: table)
        #expect(p.local == [1])
        #expect(p.relayBitmaps[0].count == 2)
        #expect(!p.relayBitmaps[0][1])
    }

    @Test func stayXcastKeepsDirectDestinationsXcast() throws {
        let dests = Fixture.destinations(3, prefixes: 3)
        let (_, p) = try plan(XcastHeader(channel: Fixture.channel, destinations: dests, stayXcast: true))
        #expect(p.unicast.isEmpty)
        #expect(p.directXcast == [2])
    }

    @Test func spentHopLimitStopsRelayCopiesButNotDirectDelivery() throws {
        let dests = Fixture.destinations(3, prefixes: 3)
        let (_, p) = try plan(XcastHeader(channel: Fixture.channel, destinations: dests, hopLimit: 1))
        #expect(p.relayCopies == 0)
        #expect(p.hopLimitDrops == 2)
        #expect(p.unicast == [2])
    }

    /// A table that points back at an earlier relay cannot loop forever: every pass costs a hop.
    @Test func loopingTablesEndAfterTheHopLimit() throws {
        let loop = RouteTable.allVia(Self.relayA)
        var b = Fixture.datagram(XcastHeader(channel: Fixture.channel, destinations: Fixture.destinations(2), hopLimit: 16))
        var hops = 0
        var p = BranchPlan()
        while let d = try? XcastDatagram(parsing: b) {
            Brancher.plan(d, table: loop, into: &p)
            guard p.relayCopies == 1 else { break }
            var next = ByteBuffer()
            d.writeHeader(to: &next, bitmap: p.relayBitmaps[0], hopLimit: p.forwardHopLimit)
            var payload = d.payload
            next.writeBuffer(&payload)
            b = next
            hops += 1
            #expect(hops < 100)
        }
        #expect(hops == 15)
        #expect(p.hopLimitDrops == 2)
    }

    @Test func planReuseDoesNotAllocateNewRelaySlots() throws {
        let h = XcastHeader(channel: Fixture.channel, destinations: Fixture.destinations(10, prefixes: 3))
        let d = try XcastDatagram(parsing: Fixture.datagram(h))
        var p = BranchPlan()
        Brancher.plan(d, table: Self.table, into: &p)
        let first = (p.relayBitmaps, p.unicast)
        Brancher.plan(d, table: Self.table, into: &p)
        #expect(p.relayBitmaps == first.0)
        #expect(p.unicast == first.1)
    }
}
