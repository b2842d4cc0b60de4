#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials

/// A streaming band-limited resampler (windowed sinc, Blackman window), for a WAV file
/// or a device that runs at another rate than the codec.
public struct Resampler: Sendable {
    public let inputRate: Int
    public let outputRate: Int
    let halfTaps: Int
    let cutoff: Double
    /// Samples kept from earlier calls, so frames join without clicks.
    var history: [Double] = []
    /// Position of the next output sample, in input samples relative to history[0].
    var position: Double = 0

    public init(from inputRate: Int, to outputRate: Int, halfTaps: Int = 16) {
        self.inputRate = inputRate
        self.outputRate = outputRate
        // below the lower Nyquist frequency, with a little room for the transition band
        let cutoff = Swift.min(1.0, Double(outputRate) / Double(inputRate)) * 0.95
        self.cutoff = cutoff
        // the kernel spans `halfTaps` zero crossings of the (narrower) low-pass sinc
        self.halfTaps = Int((Double(halfTaps) / cutoff).rounded(.up))
        self.history = [Double](repeating: 0, count: self.halfTaps)
        self.position = Double(self.halfTaps)
    }

    public var isIdentity: Bool { inputRate == outputRate }

    /// Converts the next chunk of input; output length follows the rate ratio.
    public mutating func process(_ input: [Int16]) -> [Int16] {
        if isIdentity { return input }
        history.append(contentsOf: input.map(Double.init))
        let step = Double(inputRate) / Double(outputRate)
        var out: [Int16] = []
        out.reserveCapacity(Int(Double(input.count) / step) + 2)
        while position + Double(halfTaps) < Double(history.count) {
            let center = Int(position.rounded(.down))
            let frac = position - Double(center)
            var acc = 0.0
            for k in (-halfTaps + 1)...halfTaps {
                let x = Double(k) - frac
                let idx = center + k
                guard idx >= 0, idx < history.count else { continue }
                acc += history[idx] * Resampler.kernel(x, cutoff: cutoff, halfWidth: Double(halfTaps))
            }
            out.append(Int16(clamping: Int(acc.rounded())))
            position += step
        }
        // keep what the next call still needs
        let keep = Int(position.rounded(.down)) - halfTaps
        if keep > 0 {
            history.removeFirst(keep)
            position -= Double(keep)
        }
        return out
    }

    static func kernel(_ x: Double, cutoff: Double, halfWidth: Double) -> Double {
        let sinc = x == 0 ? 1.0 : sin(Double.pi * cutoff * x) / (Double.pi * cutoff * x)
        let n = (x + halfWidth) / (2 * halfWidth)
        guard n >= 0, n <= 1 else { return 0 }
        let window = 0.42 - 0.5 * cos(2 * .pi * n) + 0.08 * cos(4 * .pi * n)
        return cutoff * sinc * window
    }
}
