// libFuzzer entry: SDP parsing, writing and answering.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let sdp = try? SessionDescription(parsing: bytes) else { return 0 }
    let again = try? SessionDescription(parsing: sdp.text)
    precondition(again != nil, "written SDP does not parse")
    _ = try? OfferAnswer.answer(sdp, supported: [.opus, .pcmu, .pcma, .ilbc(mode: 20), .telephoneEvent],
                                address: "::1", port: 4000, sessionID: "1")
    return 0
}
