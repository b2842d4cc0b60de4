import Foundation
import ILBC
import Testing

/// Concealment without the enhancer, where no reference output exists: a lost frame is
/// filled with signal of similar level, and decoding recovers right after it.
@Suite("Packet loss concealment")
struct ConcealmentTests {
    @Test("a lost frame is filled and decoding recovers after it", arguments: ILBCMode.allCases, [false, true])
    func recovery(mode: ILBCMode, enhancer: Bool) throws {
        let file = try ILBCFile(parsing: Shared.bytes("sp_en_m7_lowpitch.\(mode.rawValue).lbc"))
        let clean = decodeFile(file, enhancer: enhancer)
        let n = mode.samplesPerFrame
        func frame(_ samples: [Int16], _ index: Int) -> [Int16] { Array(samples[(index * n)..<((index + 1) * n)]) }
        func rms(_ samples: [Int16]) -> Double {
            (samples.map { Double($0) * Double($0) }.reduce(0, +) / Double(samples.count)).squareRoot()
        }
        var checked = 0
        // Lose single frames in voiced stretches (loud neighbours) across the file.
        for lost in stride(from: 12, to: file.frames.count - 12, by: 9) {
            let before = rms(frame(clean, lost - 1))
            guard before > 1000 else { continue }
            var received = [Bool](repeating: true, count: file.frames.count)
            received[lost] = false
            let concealed = decodeFile(file, enhancer: enhancer, received: received)
            // Everything before the loss is untouched (with the enhancer, the output lags
            // one or two sub-blocks, so the frame before the loss is only partly final).
            let untouched = enhancer ? lost - 1 : lost
            #expect(Array(concealed[0..<(untouched * n)]) == Array(clean[0..<(untouched * n)]))
            // The gap carries signal of comparable level, not silence.
            let filled = rms(frame(concealed, lost))
            #expect(filled > 0.1 * before && filled < 4 * before, "frame \(lost): \(filled) vs \(before)")
            // Once the concealed frame has left the decoder's history (3 frames; with the
            // enhancer, its 640-sample buffer too), the output is back to the clean decoding.
            let settle = enhancer ? 640 / n + 2 : 3
            guard lost + settle + 3 <= file.frames.count else { continue }
            let later = Array(concealed[((lost + settle) * n)..<((lost + settle + 3) * n)])
            let reference = Array(clean[((lost + settle) * n)..<((lost + settle + 3) * n)])
            #expect(snr(reference, later) >= 20, "frame \(lost) + \(settle): \(snr(reference, later)) dB")
            checked += 1
        }
        #expect(checked >= 5)
    }
}
