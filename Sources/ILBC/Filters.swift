// Linear filters of the codec, written over raw pointers because they run on every sample.
// Summation order follows RFC 3951 Appendix A so results agree with the reference.

typealias FloatPointer = UnsafeMutablePointer<Float>
typealias ConstFloatPointer = UnsafePointer<Float>

enum Filter {
    /// All-pole filter in place: `io[-order..<0]` holds the past outputs; `coefficients[0]` is 1.
    @inline(__always)
    static func allPole(_ io: FloatPointer, _ coefficients: ConstFloatPointer, length: Int, order: Int = Sizes.order) {
        var p = io
        for _ in 0..<length {
            var y = p[0]
            for k in 1...order { y -= coefficients[k] * p[-k] }
            p[0] = y
            p += 1
        }
    }

    /// All-zero filter: `input[-order..<0]` holds the past inputs.
    @inline(__always)
    static func allZero(
        _ input: ConstFloatPointer, _ coefficients: ConstFloatPointer, length: Int, order: Int = Sizes.order,
        output: FloatPointer
    ) {
        for n in 0..<length {
            var y = coefficients[0] * input[n]
            for k in 1...order { y += coefficients[k] * input[n - k] }
            output[n] = y
        }
    }

    /// Pole-zero filter: all-zero section with `zeros`, then all-pole section with `poles`
    /// (`output[-order..<0]` holds its past outputs).
    static func zeroPole(
        _ input: ConstFloatPointer, zeros: ConstFloatPointer, poles: ConstFloatPointer, length: Int,
        output: FloatPointer
    ) {
        allZero(input, zeros, length: length, output: output)
        allPole(output, poles, length: length)
    }

    /// LPC synthesis filter 1/A(z) in place, with a 10-sample state.
    static func synthesis(_ io: FloatPointer, _ a: ConstFloatPointer, length: Int, state: FloatPointer) {
        let order = Sizes.order
        for i in 0..<order {
            var y = io[i]
            var j = 1
            while j <= i { y -= a[j] * io[i - j]; j += 1 }
            while j <= order { y -= a[j] * state[order - 1 - (j - i - 1)]; j += 1 }
            io[i] = y
        }
        if length > order {
            for i in order..<length {
                var y = io[i]
                for j in 1...order { y -= a[j] * io[i - j] }
                io[i] = y
            }
        }
        for k in 0..<order { state[k] = io[length - order + k] }
    }

    /// LPC analysis filter A(z), with a 10-sample state of past inputs.
    static func analysis(
        _ input: ConstFloatPointer, _ a: ConstFloatPointer, length: Int, output: FloatPointer, state: FloatPointer
    ) {
        let order = Sizes.order
        for i in 0..<order {
            var y: Float = 0
            var j = 0
            while j <= i { y += a[j] * input[i - j]; j += 1 }
            while j <= order { y += a[j] * state[order - 1 - (j - i - 1)]; j += 1 }
            output[i] = y
        }
        for i in order..<length {
            var y: Float = 0
            for j in 0...order { y += a[j] * input[i - j] }
            output[i] = y
        }
        for k in 0..<order { state[k] = input[length - order + k] }
    }

    /// Second-order high-pass filter (direct form, zeros then poles), 4-value state.
    static func highPass(
        _ input: ConstFloatPointer, length: Int, output: FloatPointer, state: FloatPointer,
        zeros: [Float], poles: [Float]
    ) {
        let z0 = zeros[0], z1 = zeros[1], z2 = zeros[2], p1 = poles[1], p2 = poles[2]
        for i in 0..<length {
            var y = z0 * input[i]
            y += z1 * state[0]
            y += z2 * state[1]
            state[1] = state[0]
            state[0] = input[i]
            output[i] = y
        }
        for i in 0..<length {
            var y = output[i]
            y -= p1 * state[2]
            y -= p2 * state[3]
            state[3] = state[2]
            state[2] = y
            output[i] = y
        }
    }

    /// Low-pass filter and decimation by 2 for the enhancer's pitch estimate. `state` holds
    /// the 6 samples before `input`.
    static func downsample(_ input: ConstFloatPointer, length: Int, state: ConstFloatPointer, output: FloatPointer) {
        let order = 7, delay = 3, factor = 2
        let coef = Tables.downsamplingFilter
        var out = output
        var i = delay
        while i < length {
            var o: Float = 0
            let stop = i < order ? i + 1 : order
            var c = 0
            for j in 0..<stop { o += coef[c] * input[i - j]; c += 1 }
            var s = order - 2
            var j = i + 1
            while j < order { o += coef[c] * state[s]; c += 1; s -= 1; j += 1 }
            out.pointee = o
            out += 1
            i += factor
        }
        // The tail uses zeros as future input.
        i = length + factor
        while i < length + delay {
            var o: Float = 0
            var c = i - length
            var p = length - 1
            for _ in 0..<(order - (i - length)) { o += coef[c] * input[p]; c += 1; p -= 1 }
            out.pointee = o
            out += 1
            i += factor
        }
    }
}
