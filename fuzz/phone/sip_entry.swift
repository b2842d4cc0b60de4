// libFuzzer entry: SIP message parsing, writing, stream framing and the UAS checks.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let m = try SIPMessage(parsing: bytes)
        // what we write must parse back to the same message
        let again = try? SIPMessage(parsing: m.bytes)
        precondition(again == m, "round trip changed the message")
        if case .request(let r) = m { _ = UASCapabilities().rejection(of: r) }
        _ = m.headers.vias; _ = m.headers.contacts; _ = m.headers.cseq; _ = m.headers.from
    } catch {
        _ = SIPResponse.answering(unparsable: bytes, error: error)
    }
    var framer = SIPStreamFramer()
    framer.append(bytes)
    while let m = try? framer.nextMessage() { _ = try? SIPMessage(parsing: m, datagram: false) }
    _ = try? SIPURI(parsing: String(decoding: bytes, as: UTF8.self))
    _ = try? SIPAddress(parsing: String(decoding: bytes, as: UTF8.self))
    let text = String(decoding: bytes, as: UTF8.self)
    if let ch = try? DigestChallenge(parsing: text) { _ = try? DigestChallenge(parsing: ch.headerValue) }
    if let cr = try? DigestCredentials(parsing: text) { precondition((try? DigestCredentials(parsing: cr.headerValue)) != nil) }
    return 0
}
