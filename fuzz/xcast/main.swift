import NIOCore

/// libFuzzer entry: the Xcast header parser, the branching decision and the control messages,
/// up to where their values are used. Invariants that must hold for any input trap when broken.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let buffer = ByteBuffer(bytes: bytes)
    let table = RouteTable(routes: [
        .init(prefix: IPv6Address(high: 0x2001_0db8_0001_0000, low: 0), length: 48, nextHop: .relay(Endpoint(address: IPv6Address(high: 0x2001_0db8_00aa_0000, low: 1), port: 4000))),
        .init(prefix: IPv6Address(high: 0x2001_0db8_0002_0000, low: 0), length: 48, nextHop: .relay(Endpoint(address: IPv6Address(high: 0x2001_0db8_00bb_0000, low: 1), port: 4000))),
        .init(prefix: IPv6Address(high: 0x2001_0000_0000_0000, low: 0), length: 16, nextHop: .direct),
    ], local: [Endpoint(address: IPv6Address(high: 0x2001_0db8_0003_0000, low: 5), port: 5004)])
    for policy in [DestinationPolicy.standard, DestinationPolicy(allowLoopback: true)] {
        guard let d = try? XcastDatagram(parsing: buffer, policy: policy) else { continue }
        var plan = BranchPlan()
        Brancher.plan(d, table: table, into: &plan)
        var owners = [Int](repeating: 0, count: d.count)
        for r in plan.relayBitmaps { for i in 0..<d.count where r[i] { owners[i] += 1 } }
        for i in plan.unicast + plan.directXcast + plan.local { owners[i] += 1 }
        var live = 0
        for i in 0..<d.count where d.bitmap[i] { live += 1; if owners[i] > 1 { fatalError("bit \(i) owned twice") } }
        for i in 0..<d.count where !d.bitmap[i] { if owners[i] != 0 { fatalError("dead bit \(i) delivered") } }
        if owners.reduce(0, +) + plan.noRoute + plan.hopLimitDrops != live { fatalError("a live bit got lost") }
        for bm in plan.relayBitmaps where !bm.isEmpty {
            var copy = ByteBuffer()
            d.writeHeader(to: &copy, bitmap: bm, hopLimit: plan.forwardHopLimit)
            var payload = d.payload
            copy.writeBuffer(&payload)
            guard let again = try? XcastDatagram(parsing: copy, policy: policy) else { fatalError("a relay copy does not parse") }
            if again.bitmap != bm || again.count != d.count { fatalError("copy changed") }
        }
        var reader = buffer
        guard let h = try? XcastHeader(parsing: &reader, policy: policy) else { fatalError("view parsed, value did not") }
        _ = h.destinations.count
    }
    // RTP/JPEG: the input as packets [length (2)][octets]…, into one assembler; every frame it
    // rebuilds must be a JPEG that RTP/JPEG can carry again.
    var assembler = JPEGFrameAssembler(maxFrameSize: 1 << 20)
    var rest = buffer
    while let n = rest.readInteger(as: UInt16.self), let packet = rest.readSlice(length: Swift.min(Int(n), rest.readableBytes)) {
        guard let frame = try? assembler.add(packet: packet) else { continue }
        guard let picture = try? JPEGPicture(frame.jpeg), picture.width == frame.width, picture.height == frame.height else {
            fatalError("a rebuilt frame is not a carriable JPEG")
        }
    }
    var b = buffer
    if let m = try? ControlMessage(parsing: &b) {
        var out = ByteBuffer()
        m.write(to: &out)
        guard let back = try? ControlMessage(parsing: &out), back == m else { fatalError("control message does not round-trip") }
    }
    return 0
}
