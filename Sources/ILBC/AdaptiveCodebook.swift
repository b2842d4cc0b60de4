/// The adaptive codebook built from past decoded residual, its gain quantiser, and the
/// construction of a coded vector from three stages (RFC 3951 §3.6, §4.3).
enum AdaptiveCodebook {
    /// Dequantised gain of one stage; `maxGain` is the magnitude of the previous stage's gain.
    @inline(__always)
    static func dequantizeGain(_ index: Int, maxGain: Float, levels: Int) -> Float {
        var scale = abs(maxGain)
        if scale < 0.1 { scale = Float(0.1 as Double) }
        switch levels {
        case 8: return scale * Tables.gainLevels3Bit[index]
        case 16: return scale * Tables.gainLevels4Bit[index]
        default: return scale * Tables.gainLevels5Bit[index]
        }
    }

    /// Quantises `gain` (bounded by `maxGain`), returning the level and its index.
    @inline(__always)
    static func quantizeGain(_ gain: Float, maxGain: Float, levels: Int) -> (value: Float, index: Int) {
        var scale = maxGain
        if scale < 0.1 { scale = Float(0.1 as Double) }
        let table = levels == 8 ? Tables.gainLevels3Bit : levels == 16 ? Tables.gainLevels4Bit : Tables.gainLevels5Bit
        var best = 0
        var minMeasure: Float = 10_000_000.0
        for i in 0..<levels {
            let d = gain - scale * table[i]
            let measure = d * d
            if measure < minMeasure {
                best = i
                minMeasure = measure
            }
        }
        return (scale * table[best], best)
    }

    /// The first sub-block's stage 2 and 3 indices are sent in 7 bits: map them back to the
    /// full codebook.
    static func expandIndices(_ index: UnsafeMutablePointer<Int32>) {
        for k in 1..<Sizes.stages {
            if index[k] >= 44 && index[k] < 108 {
                index[k] += 64
            } else if index[k] >= 108 && index[k] < 128 {
                index[k] += 128
            }
        }
    }

    /// Inverse of `expandIndices`, for the encoder.
    static func compactIndices(_ index: UnsafeMutablePointer<Int32>) {
        for k in 1..<Sizes.stages {
            if index[k] >= 108 && index[k] < 172 {
                index[k] -= 64
            } else if index[k] >= 236 {
                index[k] -= 128
            }
        }
    }

    /// Codebook vector `index` of length `length` from the `memoryLength` samples ending at
    /// `memory + memoryLength`.
    static func vector(_ out: FloatPointer, memory: ConstFloatPointer, index: Int, memoryLength lMem: Int, length: Int) {
        var baseSize = lMem - length + 1
        if length == Sizes.subblock { baseSize += length / 2 }
        let filter = Tables.codebookExpansionFilter
        let filterLength = 8, halfFilter = 4

        if index < lMem - length + 1 {
            let k = index + length
            for j in 0..<length { out[j] = memory[lMem - k + j] }
        } else if index < baseSize {
            let k = 2 * (index - (lMem - length + 1)) + length
            let high = k / 2, low = high - 5
            for j in 0..<low { out[j] = memory[lMem - k / 2 + j] }
            var alpha: Float = 0
            for j in low..<high {
                out[j] = (Float(1.0) - alpha) * memory[lMem - k / 2 + j] + alpha * memory[lMem - k + j]
                alpha += Float(0.2 as Double)
            }
            for j in high..<length { out[j] = memory[lMem - k + j] }
        } else {
            // Under 1 KB, so the temporary lives on the stack.
            withUnsafeTemporaryAllocation(of: Float.self, capacity: Sizes.codebookMemory + filterLength + 1 + 80) { scratch in
                let padded = scratch.baseAddress!
                // Only samples start..<lMem of the filtered memory are used; `filtered` is
                // indexed as if it started at sample 0.
                let filteredBuffer = padded + Sizes.codebookMemory + filterLength + 1
                for i in 0..<halfFilter { padded[i] = 0 }
                for i in 0..<lMem { padded[halfFilter + i] = memory[i] }
                for i in 0...halfFilter { padded[lMem + halfFilter + i] = 0 }
                if index - baseSize < lMem - length + 1 {
                    let k = index - baseSize + length
                    let memIndex = lMem - k + 1 - halfFilter
                    for n in 0..<length {
                        var sum: Float = 0
                        let pp = padded + memIndex + n + halfFilter
                        for j in 0..<filterLength { sum += pp[j] * filter[filterLength - 1 - j] }
                        out[n] = sum
                    }
                } else {
                    let k = 2 * (index - baseSize - (lMem - length + 1)) + length
                    let start = lMem - k
                    let filtered = filteredBuffer - start
                    let memIndex = start + 1 - halfFilter
                    for i in 0..<k {
                        var sum: Float = 0
                        let pp = padded + memIndex + i + halfFilter
                        for j in 0..<filterLength { sum += pp[j] * filter[filterLength - 1 - j] }
                        filtered[start + i] = sum
                    }
                    let high = k / 2, low = high - 5
                    for j in 0..<low { out[j] = filtered[lMem - k / 2 + j] }
                    var alpha: Float = 0
                    for j in low..<high {
                        out[j] = (Float(1.0) - alpha) * filtered[lMem - k / 2 + j] + alpha * filtered[lMem - k + j]
                        alpha += Float(0.2 as Double)
                    }
                    for j in high..<length { out[j] = filtered[lMem - k + j] }
                }
            }
        }
    }

    /// Sum of the three gain-scaled codebook vectors.
    static func construct(
        _ out: FloatPointer, indices: UnsafePointer<Int32>, gainIndices: UnsafePointer<Int32>,
        memory: ConstFloatPointer, memoryLength: Int, length: Int
    ) {
        let g0 = dequantizeGain(Int(gainIndices[0]), maxGain: 1.0, levels: 32)
        let g1 = dequantizeGain(Int(gainIndices[1]), maxGain: abs(g0), levels: 16)
        let g2 = dequantizeGain(Int(gainIndices[2]), maxGain: abs(g1), levels: 8)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Sizes.subblock) { scratch in
            let v = scratch.baseAddress!
            vector(v, memory: memory, index: Int(indices[0]), memoryLength: memoryLength, length: length)
            for j in 0..<length { out[j] = g0 * v[j] }
            vector(v, memory: memory, index: Int(indices[1]), memoryLength: memoryLength, length: length)
            for j in 0..<length { out[j] += g1 * v[j] }
            vector(v, memory: memory, index: Int(indices[2]), memoryLength: memoryLength, length: length)
            for j in 0..<length { out[j] += g2 * v[j] }
        }
    }
}
