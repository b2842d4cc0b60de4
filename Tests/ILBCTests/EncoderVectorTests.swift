import Foundation
import ILBC
import Testing

/// Our encoder against the reference encoder's bitstreams.
@Suite("Encoder against the RFC 3951 reference")
struct EncoderVectorTests {
    @Test("bitstream: frames identical to the reference encoder's", arguments: [20, 30])
    func identicalFrames(mode: Int) throws {
        var identical = 0, total = 0
        var worst = (name: "", fraction: 1.0)
        for name in Shared.cases {
            let input = try Shared.samples("\(name).pcm")
            let reference = try ILBCFile(parsing: Shared.bytes("\(name).\(mode).lbc"))
            let ours = encodeSamples(input, mode: ILBCMode(rawValue: mode)!)
            #expect(ours.frames.count == reference.frames.count)
            let same = zip(ours.frames, reference.frames).filter { $0 == $1 }.count
            identical += same
            total += reference.frames.count
            let fraction = Double(same) / Double(reference.frames.count)
            if fraction < worst.fraction { worst = (name, fraction) }
        }
        let fraction = Double(identical) / Double(total)
        print("encoder \(mode) ms: \(identical)/\(total) frames identical to the reference (\(fraction * 100) %), worst \(worst.name) \(worst.fraction * 100) %")
        // docs/ilbc.md: every reference bitstream reproduced frame for frame.
        #expect(identical == total, "worst \(worst.name): \(worst.fraction * 100) % identical")
    }

    @Test("GIPS input: frames identical to the official bitstream", arguments: [20, 30])
    func officialInput(mode: Int) throws {
        let input = try Shared.samples("official-gips/iLBC.INP")
        let reference = try ILBCFile(parsing: Shared.bytes("official-gips/iLBC_\(mode)ms.lbc"))
        let ours = encodeSamples(input, mode: ILBCMode(rawValue: mode)!)
        let same = zip(ours.frames, reference.frames).filter { $0 == $1 }.count
        print("encoder GIPS \(mode) ms: \(same)/\(reference.frames.count) frames identical (x87 reference)")
        #expect(ours.frames.count == reference.frames.count)
        // The known exception (docs/ilbc.md): the official bitstreams come from an x87 build; the
        // shared README reports 468/474 (20 ms) and 313/316 (30 ms) identical for the reference
        // compiled for SSE, as ours is. Exactly those counts: fewer is a regression, more a surprise.
        #expect(same == (mode == 20 ? 468 : 313))
    }

    @Test("encode then decode keeps speech close to the reference chain", arguments: [20, 30])
    func roundTrip(mode: Int) throws {
        for name in Shared.speechCases {
            let input = try Shared.samples("\(name).pcm")
            let ours = decodeFile(encodeSamples(input, mode: ILBCMode(rawValue: mode)!), enhancer: true)
            let reference = try Shared.samples("\(name).\(mode).out.pcm")
            #expect(ours.count == reference.count)
            // Waveform SNR against the input is low for CELP (4-7 dB); the chain must match the
            // reference chain's, and stay far above noise.
            let lag = mode == 20 ? 40 : 80
            let aligned = Array(input[0..<(input.count - lag)])
            let oursSNR = snr(aligned, Array(ours[lag...]))
            let refSNR = snr(aligned, Array(reference[lag...]))
            #expect(abs(oursSNR - refSNR) < 0.5, "\(name) \(mode) ms: \(oursSNR) dB vs reference \(refSNR) dB")
        }
    }
}
