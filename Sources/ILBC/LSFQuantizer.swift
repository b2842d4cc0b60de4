/// The LSF quantiser (RFC 3951 §3.2.4): split vector quantisation of each 10-coefficient
/// LSF vector in three parts (3 + 3 + 4 coefficients, 64/128/128 entries, 20 bits), and the
/// stability pass both sides run on the quantised vectors.
enum LSFQuantizer {
    /// Looks up the split-VQ codebook entries for the indices of `count` LSF vectors.
    static func dequantize(_ lsf: FloatPointer, indices: UnsafePointer<Int32>, count: Int) {
        let codebook = Tables.lsfCodebook
        for vector in 0..<count {
            var position = 0, codebookPosition = 0
            for split in 0..<3 {
                let dim = Constants.lsfSplitDimensions[split]
                let index = Int(indices[3 * vector + split])
                for j in 0..<dim {
                    lsf[vector * Sizes.order + position + j] = codebook[codebookPosition + index * dim + j]
                }
                position += dim
                codebookPosition += Constants.lsfSplitSizes[split] * dim
            }
        }
    }

    /// Split vector quantisation of `count` LSF vectors: nearest codebook entry per split.
    static func quantize(
        _ quantized: FloatPointer, indices: UnsafeMutablePointer<Int32>, _ lsf: ConstFloatPointer, count: Int
    ) {
        Tables.lsfCodebook.withUnsafeBufferPointer { cbBuffer in
            let codebook = cbBuffer.baseAddress!
            for vector in 0..<count {
                var position = 0, codebookPosition = 0
                for split in 0..<3 {
                    let dim = Constants.lsfSplitDimensions[split]
                    let size = Constants.lsfSplitSizes[split]
                    let x = lsf + vector * Sizes.order + position
                    let cb = codebook + codebookPosition
                    var best = 0
                    var minDistance = Constants.floatMax
                    var entry = cb
                    for j in 0..<size {
                        var d = x[0] - entry[0]
                        d *= d
                        for i in 1..<dim {
                            let t = x[i] - entry[i]
                            d += t * t
                        }
                        if d < minDistance {
                            minDistance = d
                            best = j
                        }
                        entry += dim
                    }
                    for i in 0..<dim { quantized[vector * Sizes.order + position + i] = cb[best * dim + i] }
                    indices[3 * vector + split] = Int32(best)
                    position += dim
                    codebookPosition += size * dim
                }
            }
        }
    }

    /// Keeps LSF vectors ordered and separated (stability), as the reference does twice over.
    static func enforceStability(_ lsf: FloatPointer, count: Int) {
        let minSeparation = Float(0.039 as Double)
        let push = Float(0.0195 as Double)
        let maxLSF = Float(3.14 as Double)
        let minLSF = Float(0.01 as Double)
        for _ in 0..<2 {
            for m in 0..<count {
                for k in 0..<(Sizes.order - 1) {
                    let pos = m * Sizes.order + k
                    if lsf[pos + 1] - lsf[pos] < minSeparation {
                        if lsf[pos + 1] < lsf[pos] {
                            lsf[pos + 1] = lsf[pos] + push
                            lsf[pos] = lsf[pos + 1] - push
                        } else {
                            lsf[pos] -= push
                            lsf[pos + 1] += push
                        }
                    }
                    if lsf[pos] < minLSF { lsf[pos] = minLSF }
                    if lsf[pos] > maxLSF { lsf[pos] = maxLSF }
                }
            }
        }
    }
}
