// libFuzzer entry: WAV headers (the files `softphone --play` and `ilbc encode` read).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let wav = try? WAVAudio(parsing: bytes) else { return 0 }
    precondition(wav.sampleRate >= 1 && wav.sampleRate <= WAVAudio.maximumSampleRate, "rate \(wav.sampleRate) read")
    precondition(wav.samples.count <= size / 2, "more samples than the file holds")
    // what we write reads back as the same mono audio
    let again = try? WAVAudio(parsing: WAVAudio(sampleRate: wav.sampleRate, samples: wav.samples).bytes)
    precondition(again?.samples == wav.samples && again?.sampleRate == wav.sampleRate, "written WAV does not read back")
    return 0
}
