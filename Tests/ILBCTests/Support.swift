import Foundation
import TestSupport
import ILBC

/// The iLBC vectors in the project's shared folder (TestSupport's `SharedFolder`).
enum Shared {
    static let root: URL? = try? SharedFolder.root()

    static var vectors: URL? { root?.appendingPathComponent("vectors/ilbc") }

    static func bytes(_ name: String) throws -> [UInt8] {
        let vectors = try SharedFolder.url("vectors/ilbc")
        return [UInt8](try Data(contentsOf: vectors.appendingPathComponent(name)))
    }

    static func samples(_ name: String) throws -> [Int16] { pcm(try bytes(name)) }

    static let cases = [
        "sp_en_us_m1", "sp_en_gb_m3_slow", "sp_en_f4_fast", "sp_de_f3", "sp_es_f1", "sp_en_m7_lowpitch",
        "sp_it_m4", "sp_en_whisper", "sp_quiet", "ns_silence", "ns_sine1k", "ns_whitenoise", "ns_clipped_square",
    ]
    static let speechCases = cases.filter { $0.hasPrefix("sp_") }
    static let lossCases = ["sp_en_us_m1", "sp_de_f3"]
}

func pcm(_ bytes: [UInt8]) -> [Int16] {
    (0..<(bytes.count / 2)).map { Int16(bitPattern: UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8) }
}

func pcmBytes(_ samples: [Int16]) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(samples.count * 2)
    for s in samples {
        let u = UInt16(bitPattern: s)
        out.append(UInt8(u & 0xFF))
        out.append(UInt8(u >> 8))
    }
    return out
}

/// SNR in dB of `test` against `reference`; infinity when identical.
func snr(_ reference: [Int16], _ test: [Int16]) -> Double {
    var signal = 0.0, noise = 0.0
    for i in 0..<min(reference.count, test.count) {
        let r = Double(reference[i]), d = r - Double(test[i])
        signal += r * r
        noise += d * d
    }
    if noise == 0 { return .infinity }
    if signal == 0 { return -.infinity }
    return 10 * log10(signal / noise)
}

/// Decodes a whole file; `received[i] == false` conceals frame `i`.
func decodeFile(_ file: ILBCFile, enhancer: Bool, received: [Bool]? = nil) -> [Int16] {
    var decoder = ILBCDecoder(mode: file.mode, enhancer: enhancer)
    var out: [Int16] = []
    out.reserveCapacity(file.frames.count * file.mode.samplesPerFrame)
    for (i, frame) in file.frames.enumerated() {
        let lost = received.map { i < $0.count && !$0[i] } ?? false
        out += decoder.decode(lost ? nil : frame)
    }
    return out
}

func encodeSamples(_ samples: [Int16], mode: ILBCMode) -> ILBCFile {
    var encoder = ILBCEncoder(mode: mode)
    var file = ILBCFile(mode: mode)
    let n = mode.samplesPerFrame
    var i = 0
    while i + n <= samples.count {
        file.frames.append(encoder.encode(Array(samples[i..<(i + n)])))
        i += n
    }
    return file
}

func lossPattern(_ text: String) -> [Bool] {
    text.split(whereSeparator: \.isNewline).compactMap { line in
        let t = line.trimmingCharacters(in: .whitespaces)
        return t.isEmpty ? nil : t == "1"
    }
}
