// libFuzzer entry: arbitrary bytes as an iLBC file and as a stream of frames for both modes,
// with and without the enhancer, with losses chosen by the input.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let file = try? ILBCFile(parsing: bytes) {
        var decoder = ILBCDecoder(mode: file.mode, enhancer: true)
        for frame in file.frames.prefix(64) { _ = decoder.decode(frame) }
    }
    guard let control = bytes.first else { return 0 }
    let mode: ILBCMode = control & 1 == 0 ? .ms20 : .ms30
    _ = try? RTPPayload.frames(in: Array(bytes.dropFirst()), mode: mode)
    var decoder = ILBCDecoder(mode: mode, enhancer: control & 2 == 0)
    var out = [Int16](repeating: 0, count: mode.samplesPerFrame)
    var offset = 1
    var frameNumber = 0
    while offset < bytes.count && frameNumber < 64 {
        // Bit k of the control byte (k >= 2) drops frame k-2: bursts of loss at the start.
        let lost = frameNumber < 6 && (control >> (2 + frameNumber)) & 1 == 1
        let end = min(offset + mode.bytesPerFrame, bytes.count)
        let payload = Array(bytes[offset..<end])
        out.withUnsafeMutableBufferPointer { _ = decoder.decode(lost ? nil : payload, into: $0) }
        _ = try? FrameParameters(parsing: payload, mode: mode)
        offset = end
        frameNumber += 1
    }
    return 0
}
