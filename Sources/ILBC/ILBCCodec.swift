import AudioCodec

/// iLBC behind the softphone's codec protocol: an encoder and a decoder for one call.
public struct ILBCCodec: AudioCodec {
    public var encoder: ILBCEncoder
    public var decoder: ILBCDecoder
    public var mode: ILBCMode { encoder.mode }

    public init(mode: ILBCMode, enhancer: Bool = true) {
        encoder = ILBCEncoder(mode: mode)
        decoder = ILBCDecoder(mode: mode, enhancer: enhancer)
    }

    public var sampleRate: Int { 8000 }
    public var samplesPerFrame: Int { mode.samplesPerFrame }

    public mutating func encode(_ samples: [Int16]) throws(AudioCodecError) -> [UInt8] {
        guard samples.count == mode.samplesPerFrame else {
            throw .wrongSampleCount(expected: mode.samplesPerFrame, got: samples.count)
        }
        return encoder.encode(samples)
    }

    public mutating func decode(_ payload: [UInt8]?) throws(AudioCodecError) -> [Int16] {
        if let payload, payload.count != mode.bytesPerFrame {
            throw .wrongPayloadSize(expected: [mode.bytesPerFrame], got: payload.count)
        }
        return decoder.decode(payload)
    }
}
