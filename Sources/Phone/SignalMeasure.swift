#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials

/// Measurements that tell whether a known test signal came through a call.
public enum SignalMeasure {
    /// Power of one frequency relative to the total power (Goertzel), 0…1.
    public static func toneShare(_ x: [Int16], frequency: Double, sampleRate: Int) -> Double {
        guard !x.isEmpty else { return 0 }
        let w = 2 * Double.pi * frequency / Double(sampleRate)
        let c = 2 * cos(w)
        var s1 = 0.0, s2 = 0.0, total = 0.0
        for v in x {
            let d = Double(v)
            let s = d + c * s1 - s2
            s2 = s1; s1 = s
            total += d * d
        }
        let power = s1 * s1 + s2 * s2 - c * s1 * s2
        guard total > 0 else { return 0 }
        // a pure tone of N samples gives power = N/2 * total
        return min(1, power / (Double(x.count) / 2 * total))
    }

    /// RMS level relative to full scale.
    public static func rms(_ x: [Int16]) -> Double {
        guard !x.isEmpty else { return 0 }
        return sqrt(x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)) / 32768
    }

    /// Highest normalised cross-correlation of `probe` against offsets of `recording`
    /// (every `stride` samples, within `offsets` when given): 1 means an exact (scaled) copy is there.
    public static func bestCorrelation(probe: [Int16], in recording: [Int16], stride: Int = 1,
                                       offsets: ClosedRange<Int>? = nil) -> (value: Double, offset: Int) {
        guard probe.count > 0, recording.count >= probe.count else { return (0, 0) }
        let p = probe.map(Double.init)
        let r = recording.map(Double.init)
        let pn = sqrt(p.reduce(0) { $0 + $1 * $1 })
        guard pn > 0 else { return (0, 0) }
        let last = r.count - p.count
        let lo = max(0, offsets?.lowerBound ?? 0), hi = min(last, offsets?.upperBound ?? last)
        guard lo <= hi else { return (0, 0) }
        var best = (0.0, lo)
        p.withUnsafeBufferPointer { pp in
            r.withUnsafeBufferPointer { rp in
                var off = lo
                while off <= hi {
                    var dot = 0.0, rn = 0.0
                    for i in 0..<pp.count { let v = rp[off + i]; dot += pp[i] * v; rn += v * v }
                    if rn > 0 {
                        let v = dot / (pn * sqrt(rn))
                        if v > best.0 { best = (v, off) }
                    }
                    off += stride
                }
            }
        }
        return best
    }

    /// How much of a known signal a recording holds despite small time jumps (jitter
    /// buffer adaptation, a peer's clock): the median over `probes` consecutive
    /// `probeLength`-sample stretches of `reference` (from `start` on) of each one's best
    /// correlation anywhere in the recording (coarse search, then refined).
    public static func signalMatch(reference: [Int16], recording: [Int16], start: Int, probeLength: Int, probes: Int) -> Double {
        var values: [Double] = []
        for k in 0..<probes {
            let s = start + k * probeLength
            guard s + probeLength <= reference.count else { break }
            let probe = Array(reference[s..<(s + probeLength)])
            let coarse = bestCorrelation(probe: probe, in: recording, stride: 4)
            let fine = bestCorrelation(probe: probe, in: recording, offsets: (coarse.offset - 4)...(coarse.offset + 4))
            values.append(max(coarse.value, fine.value))
        }
        guard !values.isEmpty else { return 0 }
        return values.sorted()[values.count / 2]
    }

    /// ITU-T G.107 E-model, reduced: MOS from one-way delay, loss and the codec's
    /// equipment impairment (Ie, Bpl from G.113 Appendix I).
    public static func mos(codec: String, lossRatio: Double, delaySeconds: Double) -> Double {
        let (ie, bpl): (Double, Double)
        switch codec.lowercased() {
        case "pcmu", "pcma": (ie, bpl) = (0, 25.1)
        case "opus": (ie, bpl) = (0, 30)
        case "ilbc": (ie, bpl) = (11, 32)
        default: (ie, bpl) = (10, 20)
        }
        let ppl = lossRatio * 100
        let ieEff = ie + (95 - ie) * ppl / (ppl + bpl)
        let d = delaySeconds * 1000
        let id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0)
        let r = max(0, min(100, 93.2 - id - ieEff))
        let mos = 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6
        return max(1, min(4.5, mos))
    }
}
