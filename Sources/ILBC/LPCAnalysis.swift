/// The encoder's linear prediction analysis (RFC 3951 §3.2): windowed autocorrelation,
/// lag windowing, Levinson-Durbin recursion and bandwidth expansion, one or two times per
/// frame, giving unquantised LSF vectors.
enum LPCAnalysis {
    /// Size of the analysis history the encoder keeps.
    static let bufferLength = Sizes.lpcLookback + Sizes.maxBlock

    /// Appends `data` to `buffer` and computes `mode.lpcAnalyses` LSF vectors into `lsf`.
    static func analyze(_ lsf: FloatPointer, data: ConstFloatPointer, buffer: FloatPointer, mode: ILBCMode) {
        let blockLength = mode.samplesPerFrame
        let order = Sizes.order
        let keep = bufferLength - blockLength
        for i in 0..<blockLength { buffer[keep + i] = data[i] }

        // Two temporaries under 1 KB each, so both live on the stack.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Sizes.maxBlock) { window in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * Sizes.orderPlusOne) { scratch in
            let windowed = window.baseAddress!
            let r = scratch.baseAddress!
            let lp = r + Sizes.orderPlusOne
            let expanded = lp + Sizes.orderPlusOne
            let reflection = expanded + Sizes.orderPlusOne
            Tables.lpcHanningWindow.withUnsafeBufferPointer { hanning in
                Tables.lpcAsymmetricWindow.withUnsafeBufferPointer { asymmetric in
                    for k in 0..<mode.lpcAnalyses {
                        if k < mode.lpcAnalyses - 1 {
                            for i in 0..<Sizes.maxBlock { windowed[i] = hanning[i] * buffer[i] }
                        } else {
                            let source = buffer + Sizes.lpcLookback
                            for i in 0..<Sizes.maxBlock { windowed[i] = asymmetric[i] * source[i] }
                        }
                        autocorrelation(r, windowed, count: Sizes.maxBlock, order: order)
                        for i in 0...order { r[i] = r[i] * Tables.lpcLagWindow[i] }
                        levinsonDurbin(lp, reflection: reflection, r)
                        LineSpectralFrequencies.bandwidthExpand(expanded, lp, chirp: Constants.synthesisChirp)
                        LineSpectralFrequencies.fromLPC(lsf + k * order, expanded)
                    }
                }
            }
        }
        }
        for i in 0..<keep { buffer[i] = buffer[i + blockLength] }
    }

    @inline(__always)
    static func autocorrelation(_ r: FloatPointer, _ x: ConstFloatPointer, count n: Int, order: Int) {
        for lag in 0...order {
            var sum: Float = 0
            for i in 0..<(n - lag) { sum += x[i] * x[i + lag] }
            r[lag] = sum
        }
    }

    /// Levinson-Durbin recursion: LPC coefficients `a[0...10]` from autocorrelation `r`.
    static func levinsonDurbin(_ a: FloatPointer, reflection k: FloatPointer, _ r: ConstFloatPointer) {
        let order = Sizes.order
        a[0] = 1
        if r[0] < Constants.epsilon {
            for i in 0..<order {
                k[i] = 0
                a[i + 1] = 0
            }
            return
        }
        k[0] = -r[1] / r[0]
        a[1] = k[0]
        var alpha = r[0] + r[1] * k[0]
        for m in 1..<order {
            var sum = r[m + 1]
            for i in 0..<m { sum += a[i + 1] * r[m - i] }
            k[m] = -sum / alpha
            alpha += k[m] * sum
            let half = (m + 1) >> 1
            for i in 0..<half {
                let t = a[i + 1] + k[m] * a[m - i]
                a[m - i] += k[m] * a[i + 1]
                a[i + 1] = t
            }
            a[m + 1] = k[m]
        }
    }
}
