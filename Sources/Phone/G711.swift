import AudioCodec

/// G.711 (ITU-T) μ-law and A-law: 8 kHz, one octet per sample, RTP payload types 0 and 8.
///
/// Lost frames are concealed by repeating the last good frame with a fading gain, then
/// silence (G.711 Appendix I does pitch repetition; a fade is the classic cheap form).
public struct G711Codec: AudioCodec, Sendable {
    public enum Law: Sendable { case mu, a }
    public let law: Law
    public let sampleRate = 8000
    public let samplesPerFrame: Int
    var lastFrame: [Int16] = []
    var lostInRow = 0

    /// `frameMs`: packet time; 20 ms gives 160 samples per frame.
    public init(law: Law, frameMs: Int = 20) {
        self.law = law
        self.samplesPerFrame = 8 * frameMs
    }

    public mutating func encode(_ samples: [Int16]) -> [UInt8] {
        switch law {
        case .mu: return samples.map(G711Codec.muLaw)
        case .a: return samples.map(G711Codec.aLaw)
        }
    }

    public mutating func decode(_ payload: [UInt8]?) -> [Int16] {
        guard let payload else {
            lostInRow += 1
            guard !lastFrame.isEmpty, lostInRow <= 5 else { return [Int16](repeating: 0, count: samplesPerFrame) }
            let gain = 1.0 - Double(lostInRow) * 0.2
            return lastFrame.map { Int16(Double($0) * gain) }
        }
        lostInRow = 0
        let out: [Int16] = law == .mu ? payload.map(G711Codec.muLawDecode) : payload.map(G711Codec.aLawDecode)
        lastFrame = out
        return out
    }

    static func muLaw(_ s: Int16) -> UInt8 {
        let bias = 0x84
        // μ-law works on 14 bits: round the 16-bit sample to the nearest step first
        var x = Swift.min(32767, ((Int(s) + 2) >> 2) << 2)
        let sign = x < 0 ? 0x80 : 0
        if x < 0 { x = -x }
        x = Swift.min(x, 32635) + bias
        var exponent = 7
        var mask = 0x4000
        while exponent > 0 && x & mask == 0 { exponent -= 1; mask >>= 1 }
        let mantissa = (x >> (exponent + 3)) & 0x0F
        return UInt8(~(sign | exponent << 4 | mantissa) & 0xFF)
    }

    static func muLawDecode(_ b: UInt8) -> Int16 {
        let u = Int(~b & 0xFF)
        let sign = u & 0x80
        let exponent = (u >> 4) & 0x07
        let mantissa = u & 0x0F
        let magnitude = ((mantissa << 3) + 0x84) << exponent
        return Int16(sign != 0 ? 0x84 - magnitude : magnitude - 0x84)
    }

    static func aLaw(_ s: Int16) -> UInt8 {
        var x = Swift.min(4095, (Int(s) + 4) >> 3)        // 13 bits, rounded
        let sign = x >= 0 ? 0x80 : 0
        if x < 0 { x = -x - 1 }
        var out: Int
        if x < 32 {
            out = x >> 1
        } else {
            var exponent = 1
            var v = x >> 5
            while v > 1 && exponent < 7 { v >>= 1; exponent += 1 }
            out = exponent << 4 | ((x >> exponent) & 0x0F)
        }
        return UInt8((out | sign) ^ 0x55)
    }

    static func aLawDecode(_ b: UInt8) -> Int16 {
        let a = Int(b ^ 0x55)
        let sign = a & 0x80
        let exponent = (a >> 4) & 0x07
        let mantissa = a & 0x0F
        var magnitude: Int
        if exponent == 0 {
            magnitude = (mantissa << 4) + 8
        } else {
            magnitude = ((mantissa << 4) + 0x108) << (exponent - 1)
        }
        return Int16(sign != 0 ? magnitude : -magnitude)
    }
}
