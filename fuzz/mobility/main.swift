import NIOCore

/// libFuzzer entry: every Mobility Header parser, the authenticator check and the
/// inner-packet flow-key reader must reject bad bytes with an error, never a trap; the
/// tunnel's segmentation and checksum completion must refuse what does not fit.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    var buffer = ByteBuffer(bytes: bytes)
    let source = IPv6Address(high: 0x2001_0db8_ffff_0000, low: 0x10)
    let destination = IPv6Address(high: 0x2001_0db8_ffff_0000, low: 0x1)
    if let message = try? MobilityMessage(parsing: &buffer, source: source, destination: destination) {
        // Whatever parses must write back to something that parses to the same value.
        var again = message.encode(source: source, destination: destination)
        let reparsed = try? MobilityMessage(parsing: &again, source: source, destination: destination)
        precondition(reparsed == message, "re-encoded message does not parse back equal")
    }
    var structural = ByteBuffer(bytes: bytes)
    _ = try? MobilityMessage(parsing: &structural)
    _ = MobilityAuthenticator.verify(ByteBuffer(bytes: bytes), keys: { _ in Array(1...16) }, careOfAddress: source, homeAddress: source)
    _ = FlowKey(packet: UnsafeRawBufferPointer(bytes))
    _ = UDPTunnelDatagram(parsing: UnsafeRawBufferPointer(bytes))
    // The fast path's packet surgery: any bytes, any segment size and checksum offsets.
    if size >= 4 {
        let mss = Int(bytes[0]) << 8 | Int(bytes[1])
        var headers = [UInt8](repeating: 0, count: 4096)
        _ = headers.withUnsafeMutableBytes { TunnelSegmentation.segmentTCPv6(UnsafeRawBufferPointer(bytes), segmentPayload: mss, headers: $0) }
        var copy = Array(bytes)
        _ = copy.withUnsafeMutableBytes { TunnelSegmentation.completeChecksum($0, start: Int(bytes[2]), offset: Int(bytes[3])) }
        var filter = DuplicatePacketFilter(slots: 16)
        _ = filter.isDuplicate(UnsafeRawBufferPointer(bytes), now: MobilityInstant(nanoseconds: 0))
    }
    return 0
}
