/// Conversions between LPC coefficients and line spectral frequencies (LSF), and the LSF
/// interpolation shared by encoder and decoder (RFC 3951 §3.2.3, §3.2.5).
enum LineSpectralFrequencies {
    /// LSF (radians, 10 values) to LPC coefficients `a[0...10]` with `a[0] = 1`.
    /// `freq` is used as scratch.
    static func toLPC(_ a: FloatPointer, frequencies freq: FloatPointer) {
        let half = 5, order = Sizes.order
        for i in 0..<order { freq[i] = freq[i] * Constants.inverseTwoPi }

        // Repair ill-conditioned input by spreading the LSFs evenly.
        if freq[0] <= 0 || freq[order - 1] >= 0.5 {
            if freq[0] <= 0 { freq[0] = Float(0.022 as Double) }
            if freq[order - 1] >= 0.5 { freq[order - 1] = Float(0.499 as Double) }
            let step = (freq[order - 1] - freq[0]) / Float(order - 1)
            for i in 1..<order { freq[i] = freq[i - 1] + step }
        }

        withUnsafeTemporaryAllocation(of: Float.self, capacity: 42) { scratch in
            let s = scratch.baseAddress!
            s.initialize(repeating: 0, count: 42)
            // p/q: cosines of the even/odd LSFs; av/bv: running sums of the two polynomial
            // recursions; av1/av2, bv1/bv2: their one- and two-step delays.
            let p = s, q = s + 5, av = s + 10, bv = s + 16, av1 = s + 22, av2 = s + 27, bv1 = s + 32, bv2 = s + 37
            for i in 0..<half {
                p[i] = cosine(Constants.twoPi * freq[2 * i])
                q[i] = cosine(Constants.twoPi * freq[2 * i + 1])
            }
            func recurse() {
                for i in 0..<half {
                    av[i + 1] = av[i] - 2 * p[i] * av1[i] + av2[i]
                    bv[i + 1] = bv[i] - 2 * q[i] * bv1[i] + bv2[i]
                    av2[i] = av1[i]
                    av1[i] = av[i]
                    bv2[i] = bv1[i]
                    bv1[i] = bv[i]
                }
            }
            av[0] = 0.25
            bv[0] = 0.25
            recurse()
            for j in 0..<order {
                av[0] = j == 0 ? 0.25 : 0
                bv[0] = j == 0 ? -0.25 : 0
                recurse()
                a[j + 1] = 2 * (av[half] + bv[half])
            }
        }
        a[0] = 1
    }

    /// LPC coefficients `a[0...10]` to LSF (radians) by a grid search for the roots of the
    /// two LSP polynomials, refined in four steps.
    static func fromLPC(_ freq: FloatPointer, _ a: ConstFloatPointer) {
        let order = Sizes.order
        let steps: (Float, Float, Float, Float) = (
            Float(0.00635 as Double), Float(0.003175 as Double), Float(0.0015875 as Double), Float(0.00079375 as Double)
        )
        @inline(__always) func stepSize(_ i: Int) -> Float {
            switch i {
            case 0: steps.0
            case 1: steps.1
            case 2: steps.2
            default: steps.3
            }
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 20) { scratch in
            let s = scratch.baseAddress!
            let p = s, q = s + 5, pPre = s + 10, qPre = s + 15
            for i in 0..<5 {
                p[i] = Float(-1.0) * (a[i + 1] + a[order - i])
                q[i] = a[order - i] - a[i + 1]
            }
            pPre[0] = Float(-1.0) - p[0]
            pPre[1] = -pPre[0] - p[1]
            pPre[2] = -pPre[1] - p[2]
            pPre[3] = -pPre[2] - p[3]
            pPre[4] = -pPre[3] - p[4]
            pPre[4] = pPre[4] / 2
            qPre[0] = Float(1.0) - q[0]
            qPre[1] = qPre[0] - q[1]
            qPre[2] = qPre[1] - q[2]
            qPre[3] = qPre[2] - q[3]
            qPre[4] = qPre[3] - q[4]
            qPre[4] = qPre[4] / 2

            var omega: Float = 0
            var oldOmega: Float = 0
            var oldP = Constants.floatMax
            var oldQ = Constants.floatMax
            for lspIndex in 0..<order {
                let even = lspIndex & 1 == 0
                let coef = even ? pPre : qPre
                var old = even ? oldP : oldQ
                var stepIndex = 0
                var step = stepSize(0)
                while stepIndex < 4 {
                    let hlp = cosine(omega * Constants.twoPi)
                    let hlp1 = Float(2.0) * hlp + coef[0]
                    let hlp2 = Float(2.0) * hlp * hlp1 - Float(1.0) + coef[1]
                    let hlp3 = Float(2.0) * hlp * hlp2 - hlp1 + coef[2]
                    let hlp4 = Float(2.0) * hlp * hlp3 - hlp2 + coef[3]
                    let hlp5 = hlp * hlp4 - hlp3 + coef[4]
                    if hlp5 * old <= 0 || omega >= 0.5 {
                        if stepIndex == 3 {
                            freq[lspIndex] = abs(hlp5) >= abs(old) ? omega - step : omega
                            old = old >= 0 ? -Constants.floatMax : Constants.floatMax
                            omega = oldOmega
                            stepIndex = 4
                        } else {
                            if stepIndex == 0 { oldOmega = omega }
                            stepIndex += 1
                            omega -= stepSize(stepIndex)
                            step = stepSize(stepIndex)
                        }
                    } else {
                        old = hlp5
                        omega += step
                    }
                }
                if even { oldP = old } else { oldQ = old }
            }
        }
        for i in 0..<order { freq[i] = freq[i] * Constants.twoPi }
    }

    /// `out = coef * in1 + (1 - coef) * in2`, element-wise.
    @inline(__always)
    static func interpolate(
        _ out: FloatPointer, _ in1: ConstFloatPointer, _ in2: ConstFloatPointer, coef: Float, length: Int = Sizes.order
    ) {
        let inverse = Float(1.0) - coef
        for i in 0..<length { out[i] = coef * in1[i] + inverse * in2[i] }
    }

    /// Interpolates two LSF vectors and converts the result to LPC coefficients.
    static func interpolateToLPC(_ a: FloatPointer, _ lsf1: ConstFloatPointer, _ lsf2: ConstFloatPointer, coef: Float) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Sizes.order) { tmp in
            interpolate(tmp.baseAddress!, lsf1, lsf2, coef: coef)
            toLPC(a, frequencies: tmp.baseAddress!)
        }
    }

    /// Bandwidth expansion: `out[i] = chirp^i * in[i]`.
    static func bandwidthExpand(_ out: FloatPointer, _ input: ConstFloatPointer, chirp coef: Float, length: Int = Sizes.orderPlusOne) {
        var chirp = coef
        out[0] = input[0]
        for i in 1..<length {
            out[i] = chirp * input[i]
            chirp *= coef
        }
    }
}
