/// The encoder's three-stage adaptive codebook search with gain quantisation
/// (RFC 3951 §3.6): in the perceptually weighted domain, each stage picks the codebook
/// vector that best matches what the previous stages left of the target.
enum CodebookSearch {
    static let searchRanges: [[Int]] = [[58, 58, 58], [108, 44, 44], [108, 108, 108], [108, 108, 108], [108, 108, 108]]
    static let restrictedRange = 34

    /// Weighted memory and target with the filter's 10-sample history.
    private static let weightedLength = Sizes.order + Sizes.codebookMemory + Sizes.subblock + Sizes.order
    /// Codebook entries per section pair (energies are kept for all of them).
    private static let codebookSize = 256
    /// Scratch floats `search` needs.
    static let scratchSize = weightedLength + 2 * codebookSize + Sizes.codebookMemory + 3 * Sizes.subblock
        + Sizes.stages + 128

    /// Searches three stages for `target` (`length` samples) against the codebook memory
    /// (`memoryLength` samples ending at `memory + memoryLength`), weighted with `weighting`.
    /// `block` is 0 for the start state's remainder, else the sub-block counter + 1.
    static func search(
        indices: UnsafeMutablePointer<Int32>, gainIndices: UnsafeMutablePointer<Int32>, target inputTarget: ConstFloatPointer,
        memory: ConstFloatPointer, memoryLength lMem: Int, length lTarget: Int, weighting: ConstFloatPointer,
        block: Int, scalarStateLength: Int, scratch: FloatPointer
    ) {
        let order = Sizes.order
        let subblock = Sizes.subblock
        let buf = scratch
        let energy = buf + weightedLength
        let invEnergy = energy + codebookSize
        let cbVectors = invEnergy + codebookSize
        let target = cbVectors + Sizes.codebookMemory
        let codedVector = target + subblock
        let augmented = codedVector + subblock
        let gains = augmented + subblock
        let crosses = gains + Sizes.stages
        let maxGain = Constants.maxCodebookGain
        let floor: Float = -10_000_000.0

        for i in 0..<lTarget { codedVector[i] = 0 }
        var baseSize = lMem - lTarget + 1
        if lTarget == subblock { baseSize = lMem - lTarget + 1 + lTarget / 2 }

        for i in 0..<order { buf[i] = 0 }
        for i in 0..<lMem { buf[order + i] = memory[i] }
        for i in 0..<lTarget { buf[order + lMem + i] = inputTarget[i] }
        Filter.allPole(buf + order, weighting, length: lMem + lTarget)
        let weighted = buf + order
        for i in 0..<lTarget { target[i] = weighted[lMem + i] }
        var targetEnergy: Float = 0
        for i in 0..<lTarget { targetEnergy += target[i] * target[i] }

        expansionVectors(cbVectors, memory: weighted, length: lMem)

        for stage in 0..<Sizes.stages {
            let range = searchRanges[block][stage]
            var maxMeasure = floor
            var gain: Float = 0
            var bestIndex = 0

            @inline(__always) func consider(_ index: Int, _ cross: Float) {
                var measure: Float
                if stage == 0 {
                    measure = floor
                    if cross > 0 { measure = cross * cross * invEnergy[index] }
                } else {
                    measure = cross * cross * invEnergy[index]
                }
                let g = cross * invEnergy[index]
                if measure > maxMeasure && abs(g) < maxGain {
                    bestIndex = index
                    maxMeasure = measure
                    gain = g
                }
            }

            // First section: plain vectors from the memory.
            crossProducts(crosses, target: target, end: weighted + lMem - lTarget, first: 0, count: range, length: lTarget)
            var cross = crosses[0]
            var pp = weighted + lMem - lTarget
            var ppi = weighted + lMem - lTarget - 1
            var ppo = weighted + lMem - 1
            if stage == 0 {
                var e: Float = 0
                pp = weighted + lMem - lTarget
                for j in 0..<lTarget { e += pp[j] * pp[j] }
                energy[0] = e
                invEnergy[0] = e > 0 ? Float(1.0) / (e + Constants.epsilon) : 0
            }
            consider(0, cross)
            if range > 1 {
                for count in 1..<range {
                    cross = crosses[count]
                    if stage == 0 {
                        energy[count] = energy[count - 1] + ppi.pointee * ppi.pointee - ppo.pointee * ppo.pointee
                        ppo -= 1
                        ppi -= 1
                        invEnergy[count] = energy[count] > 0 ? Float(1.0) / (energy[count] + Constants.epsilon) : 0
                    }
                    consider(count, cross)
                }
            }

            if lTarget == subblock {
                searchAugmented(
                    low: 20, high: 39, stage: stage, startIndex: baseSize - lTarget / 2, target: target,
                    bufferEnd: weighted + lMem, maxMeasure: &maxMeasure, bestIndex: &bestIndex, gain: &gain,
                    energy: energy, invEnergy: invEnergy)
            }

            // Restrict the filtered section to a window around the best index so far.
            let baseIndex = bestIndex
            var sIndAug = 0, eIndAug = 0
            var sInd = baseIndex - restrictedRange / 2
            var eInd = sInd + restrictedRange
            if lTarget == subblock {
                if sInd < 0 {
                    sIndAug = 40 + sInd
                    eIndAug = 39
                    sInd = 0
                } else if baseIndex < baseSize - 20 {
                    if eInd > range {
                        sInd -= eInd - range
                        eInd = range
                    }
                } else if sInd < baseSize - 20 {
                    sIndAug = 20
                    sInd = 0
                    eInd = 0
                    eIndAug = 19 + restrictedRange
                    if eIndAug > 39 {
                        eInd = eIndAug - 39
                        eIndAug = 39
                    }
                } else {
                    sIndAug = 20 + sInd - (baseSize - 20)
                    eIndAug = 39
                    sInd = 0
                    eInd = restrictedRange - (eIndAug - sIndAug + 1)
                }
            } else {
                if sInd < 0 {
                    eInd -= sInd
                    sInd = 0
                }
                if eInd > range {
                    sInd -= eInd - range
                    eInd = range
                }
            }

            let counter = sInd
            sInd += baseSize
            eInd += baseSize
            if stage == 0 {
                let e = energy + baseSize
                var sum: Float = 0
                pp = cbVectors + lMem - lTarget
                for j in 0..<lTarget { sum += pp[j] * pp[j] }
                e[0] = sum
                var pi = cbVectors + lMem - 1 - lTarget
                var po = cbVectors + lMem - 1
                if range > 1 {
                    for j in 0..<(range - 1) {
                        e[j + 1] = e[j] + pi.pointee * pi.pointee - po.pointee * po.pointee
                        po -= 1
                        pi -= 1
                    }
                }
            }
            if sInd < eInd {
                crossProducts(
                    crosses, target: target, end: cbVectors + lMem - lTarget, first: counter, count: eInd - sInd,
                    length: lTarget)
                for count in sInd..<eInd {
                    cross = crosses[count - sInd]
                    invEnergy[count] = energy[count] > 0 ? Float(1.0) / (energy[count] + Constants.epsilon) : 0
                    consider(count, cross)
                }
            }

            if lTarget == subblock && sIndAug != 0 {
                searchAugmented(
                    low: sIndAug, high: eIndAug, stage: stage, startIndex: 2 * baseSize - 20, target: target,
                    bufferEnd: cbVectors + lMem, maxMeasure: &maxMeasure, bestIndex: &bestIndex, gain: &gain,
                    energy: energy, invEnergy: invEnergy)
            }

            indices[stage] = Int32(bestIndex)

            let quantized: (value: Float, index: Int)
            if stage == 0 {
                if gain < 0 { gain = 0 }
                if gain > maxGain { gain = maxGain }
                quantized = AdaptiveCodebook.quantizeGain(gain, maxGain: 1.0, levels: 32)
            } else {
                quantized = AdaptiveCodebook.quantizeGain(gain, maxGain: abs(gains[stage - 1]), levels: stage == 1 ? 16 : 8)
            }
            gain = quantized.value
            gainIndices[stage] = Int32(quantized.index)

            // The chosen vector, to subtract from the target.
            let chosen: ConstFloatPointer
            if lTarget == Sizes.stateLength - scalarStateLength {
                chosen = bestIndex < baseSize
                    ? ConstFloatPointer(weighted + lMem - lTarget - bestIndex)
                    : ConstFloatPointer(cbVectors + lMem - lTarget - bestIndex + baseSize)
            } else if bestIndex < baseSize {
                if bestIndex < baseSize - 20 {
                    chosen = ConstFloatPointer(weighted + lMem - lTarget - bestIndex)
                } else {
                    augmentedVector(augmented, index: bestIndex - baseSize + 40, bufferEnd: weighted + lMem)
                    chosen = ConstFloatPointer(augmented)
                }
            } else {
                let filterNumber = bestIndex / baseSize
                let position = bestIndex - filterNumber * baseSize
                if position < baseSize - 20 {
                    chosen = ConstFloatPointer(
                        cbVectors + filterNumber * lMem - lTarget - bestIndex + filterNumber * baseSize)
                } else {
                    augmentedVector(
                        augmented, index: bestIndex - (filterNumber + 1) * baseSize + 40,
                        bufferEnd: cbVectors + filterNumber * lMem)
                    chosen = ConstFloatPointer(augmented)
                }
            }
            for j in 0..<lTarget {
                codedVector[j] += gain * chosen[j]
                target[j] -= gain * chosen[j]
            }
            gains[stage] = gain
        }

        // Raise the first gain where that matches the target energy better.
        var codedEnergy: Float = 0
        for i in 0..<lTarget { codedEnergy += codedVector[i] * codedVector[i] }
        let levels = Tables.gainLevels5Bit
        var j = Int(gainIndices[0])
        for i in Int(gainIndices[0])..<32 {
            let ftmp = codedEnergy * levels[i] * levels[i]
            if ftmp < targetEnergy * gains[0] * gains[0] && Double(levels[j]) < 2.0 * Double(gains[0]) {
                j = i
            }
        }
        gainIndices[0] = Int32(j)
    }

    /// `out[k] = sum_j target[j] * end[j - first - k]` for `k` in `0..<count`: the target's
    /// correlation with `count` consecutive codebook vectors.
    ///
    /// Eight vectors run side by side in SIMD lanes, each summing in the scalar order, so the
    /// result is bit-identical to the plain loop.
    @inline(__always)
    static func crossProducts(
        _ out: FloatPointer, target: ConstFloatPointer, end: ConstFloatPointer, first: Int, count: Int, length: Int
    ) {
        var k = 0
        while k + 8 <= count {
            // Lane m holds vector first + k + 7 - m, so one contiguous load feeds all lanes.
            let base = end - first - k - 7
            var sum = SIMD8<Float>(repeating: 0)
            for j in 0..<length {
                sum += SIMD8(repeating: target[j]) * UnsafeRawPointer(base + j).loadUnaligned(as: SIMD8<Float>.self)
            }
            for m in 0..<8 { out[k + 7 - m] = sum[m] }
            k += 8
        }
        while k < count {
            let pp = end - first - k
            var sum: Float = 0
            for j in 0..<length { sum += target[j] * pp[j] }
            out[k] = sum
            k += 1
        }
    }

    /// The codebook section made by filtering the memory with the expansion filter.
    static func expansionVectors(_ out: FloatPointer, memory: ConstFloatPointer, length lMem: Int) {
        let filter = Tables.codebookExpansionFilter
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Sizes.codebookMemory + 8) { scratch in
            let padded = scratch.baseAddress!
            for i in 0..<3 { padded[i] = 0 }
            for i in 0..<lMem { padded[3 + i] = memory[i] }
            for i in 0..<5 { padded[lMem + 3 + i] = 0 }
            for k in 0..<lMem {
                var sum: Float = 0
                for j in 0..<8 { sum += padded[k + j] * filter[7 - j] }
                out[k] = sum
            }
        }
    }

    /// Searches the interpolated ("augmented") vectors `low...high` whose samples end at
    /// `bufferEnd`, computing their energies on the way.
    static func searchAugmented(
        low: Int, high: Int, stage: Int, startIndex: Int, target: ConstFloatPointer, bufferEnd buffer: ConstFloatPointer,
        maxMeasure: inout Float, bestIndex: inout Int, gain: inout Float, energy: FloatPointer, invEnergy: FloatPointer
    ) {
        var recursive: Float = 0
        var pp = buffer - low + 1
        if low - 5 > 0 {
            for _ in 0..<(low - 5) {
                recursive += pp.pointee * pp.pointee
                pp += 1
            }
        }
        var ppe = buffer - low
        if low > high { return }
        for count in low...high {
            let index = startIndex + count - 20
            let ilow = count - 4
            recursive = recursive + ppe.pointee * ppe.pointee
            ppe -= 1
            energy[index] = recursive

            var cross: Float = 0
            pp = buffer - count
            for j in 0..<ilow { cross += target[j] * pp[j] }
            var alpha = Float(0.2 as Double)
            var ppo = buffer - 4
            var ppi = buffer - count - 4
            for j in ilow..<count {
                let w = (Float(1.0) - alpha) * ppo.pointee + alpha * ppi.pointee
                ppo += 1
                ppi += 1
                energy[index] += w * w
                cross += target[j] * w
                alpha += Float(0.2 as Double)
            }
            pp = buffer - count
            for j in count..<Sizes.subblock {
                energy[index] += pp[j - count] * pp[j - count]
                cross += target[j] * pp[j - count]
            }
            invEnergy[index] = energy[index] > 0 ? Float(1.0) / (energy[index] + Constants.epsilon) : 0

            var measure: Float
            if stage == 0 {
                measure = -10_000_000.0
                if cross > 0 { measure = cross * cross * invEnergy[index] }
            } else {
                measure = cross * cross * invEnergy[index]
            }
            let g = cross * invEnergy[index]
            if measure > maxMeasure && abs(g) < Constants.maxCodebookGain {
                bestIndex = index
                maxMeasure = measure
                gain = g
            }
        }
    }

    /// Rebuilds augmented vector `index` (20...39) whose samples end at `bufferEnd`.
    static func augmentedVector(_ out: FloatPointer, index: Int, bufferEnd buffer: ConstFloatPointer) {
        let ilow = index - 5
        var pp = buffer - index
        for j in 0..<index { out[j] = pp[j] }
        var alpha: Float = 0
        var ppo = buffer - 5
        var ppi = buffer - index - 5
        for j in ilow..<index {
            out[j] = (Float(1.0) - alpha) * ppo.pointee + alpha * ppi.pointee
            ppo += 1
            ppi += 1
            alpha += Float(0.2 as Double)
        }
        pp = buffer - index
        for j in index..<Sizes.subblock { out[j] = pp[j - index] }
    }
}
