/// Exhaustive pitch-lag search by normalised correlation, shared by the enhancer and the
/// concealment lag estimate.
enum PitchSearch {
    /// The lag in `lags` maximising `(x·y)^2/(y·y)` (0 when `x·y <= 0`), where `x` is the
    /// `count` samples at `target` and `y` the samples `lag` earlier; the first maximum wins.
    ///
    /// Eight lags run side by side in SIMD lanes; each lane adds its products in the same
    /// order as the scalar loop, so the result is bit-identical to it.
    @inline(__always)
    static func bestLag(target: ConstFloatPointer, count: Int, lags: ClosedRange<Int>) -> Int {
        var bestLag = lags.lowerBound
        var best = Enhancer.correlationMeasure(target, target - bestLag, count: count)
        var lag = lags.lowerBound + 1
        while lag + 7 <= lags.upperBound {
            // Lane m holds lag + 7 - m, so one contiguous load feeds all lanes.
            var cross = SIMD8<Float>(repeating: 0)
            var energy = SIMD8<Float>(repeating: 0)
            let base = target - lag - 7
            for i in 0..<count {
                let y = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD8<Float>.self)
                cross += SIMD8<Float>(repeating: target[i]) * y
                energy += y * y
            }
            for m in stride(from: 7, through: 0, by: -1) {
                let measure = cross[m] > 0 ? cross[m] * cross[m] / energy[m] : 0
                if measure > best {
                    best = measure
                    bestLag = lag + 7 - m
                }
            }
            lag += 8
        }
        while lag <= lags.upperBound {
            let measure = Enhancer.correlationMeasure(target, target - lag, count: count)
            if measure > best {
                best = measure
                bestLag = lag
            }
            lag += 1
        }
        return bestLag
    }
}
