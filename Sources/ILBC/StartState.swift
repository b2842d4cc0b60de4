/// The start state: 57/58 samples of the residual around the frame's energy peak, coded
/// by a scalar quantiser in an all-pass filtered domain (RFC 3951 §3.5).
enum StartState {
    /// Rebuilds the scalar-coded start state residual (`length` samples into `out`).
    static func decode(
        scaleIndex: Int, indices: UnsafePointer<Int32>, synthesis a: ConstFloatPointer, out: FloatPointer, length: Int
    ) {
        let order = Sizes.order
        let maxValue = powerOfTen(Tables.stateMaxAmplitudeLevels[scaleIndex]) / Float(4.5)
        let levels = Tables.stateQuantizerLevels
        // Both temporaries stay under 1 KB, so they live on the stack.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Sizes.orderPlusOne) { numeratorBuffer in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * (order + 2 * 58)) { scratch in
            let s = scratch.baseAddress!
            let tmp = s + order
            let fout = s + (order + 2 * 58) + order
            let numerator = numeratorBuffer.baseAddress!
            for k in 0..<order {
                s[k] = 0
                fout[k - order] = 0
                numerator[k] = a[order - k]
            }
            numerator[order] = a[0]
            for k in 0..<length {
                tmp[k] = maxValue * levels[Int(indices[length - 1 - k])]
            }
            for k in length..<(2 * length) { tmp[k] = 0 }
            // Circular convolution with the all-pass filter, time reversed.
            Filter.zeroPole(tmp, zeros: numerator, poles: a, length: 2 * length, output: fout)
            for k in 0..<length {
                out[k] = fout[length - 1 - k] + fout[2 * length - 1 - k]
            }
        }
        }
    }
}

extension StartState {
    /// Quantises `length` samples of residual at `residual`: the maximum amplitude (6 bits)
    /// and each sample (3 bits) with predictive noise shaping. Returns the scale index.
    static func encode(
        residual: ConstFloatPointer, synthesis a: ConstFloatPointer, weighting: ConstFloatPointer,
        indices: UnsafeMutablePointer<Int32>, length: Int, stateFirst: Bool
    ) -> Int {
        let order = Sizes.order
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: Sizes.orderPlusOne) { numeratorBuffer in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * (order + 2 * 58)) { scratch in
            let s = scratch.baseAddress!
            let tmp = s + order
            let fout = s + (order + 2 * 58) + order
            let numerator = numeratorBuffer.baseAddress!
            for k in 0..<order {
                s[k] = 0
                fout[k - order] = 0
                numerator[k] = a[order - k]
            }
            numerator[order] = a[0]
            for k in 0..<length { tmp[k] = residual[k] }
            for k in length..<(2 * length) { tmp[k] = 0 }
            Filter.zeroPole(tmp, zeros: numerator, poles: a, length: 2 * length, output: fout)
            for k in 0..<length { fout[k] += fout[k + length] }

            var maxValue = fout[0]
            for k in 1..<length where fout[k] * fout[k] > maxValue * maxValue { maxValue = fout[k] }
            maxValue = abs(maxValue)
            if maxValue < 10 { maxValue = 10 }
            maxValue = logarithm10(maxValue)
            let scaleIndex = scalarQuantize(maxValue, levels: Tables.stateMaxAmplitudeLevels).index

            let scale = Float(4.5) / powerOfTen(Tables.stateMaxAmplitudeLevels[scaleIndex])
            for k in 0..<length { fout[k] *= scale }
            quantizeShaped(fout, synthesis: a, weighting: weighting, indices: indices, length: length, stateFirst: stateFirst)
            return scaleIndex
        }
        }
    }

    /// Nearest level of a sorted table, with the reference's tie rule.
    @inline(__always)
    static func scalarQuantize(_ x: Float, levels: [Float]) -> (value: Float, index: Int) {
        if x <= levels[0] { return (levels[0], 0) }
        var i = 0
        while x > levels[i] && i < levels.count - 1 { i += 1 }
        if x > (levels[i] + levels[i - 1]) / 2 { return (levels[i], i) }
        return (levels[i - 1], i - 1)
    }

    /// Scalar quantisation of the scaled state with the weighting filter's noise feedback.
    /// The weighting filter switches to the next sub-block's at the sub-block boundary.
    private static func quantizeShaped(
        _ input: FloatPointer, synthesis: ConstFloatPointer, weighting: ConstFloatPointer,
        indices: UnsafeMutablePointer<Int32>, length: Int, stateFirst: Bool
    ) {
        let order = Sizes.order
        let subblock = Sizes.subblock
        let levels = Tables.stateQuantizerLevels
        var weight = weighting
        let boundary = stateFirst ? subblock : length - subblock
        withUnsafeTemporaryAllocation(of: Float.self, capacity: order + 58) { scratch in
            let buffer = scratch.baseAddress!
            for i in 0..<order { buffer[i] = 0 }
            let out = buffer + order
            Filter.allPole(input, weight, length: boundary)
            for n in 0..<length {
                if n == boundary {
                    weight += Sizes.orderPlusOne
                    Filter.allPole(input + n, weight, length: length - n)
                }
                out[n] = 0
                Filter.allPole(out + n, weight, length: 1)
                let toQuantize = input[n] - out[n]
                let index = scalarQuantize(toQuantize, levels: levels).index
                indices[n] = Int32(index)
                out[n] = levels[index]
                Filter.allPole(out + n, weight, length: 1)
            }
        }
    }
}
