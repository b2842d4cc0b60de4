/// The decoder's pitch enhancer (RFC 3951 §4.6): each 80-sample block of residual is
/// smoothed with pitch-synchronous segments from up to three periods before and after it,
/// under a constraint on how much it may change. It needs one block of look-ahead, which
/// delays the output by 40 (20 ms mode) or 80 (30 ms mode) samples.
enum Enhancer {
    static let block = 80
    static let halfBlock = 40
    static let sideSegments = 3
    static let slop = 2
    static let overhang = 2
    static let upsampling = 4
    static let filterHalfLength = 3
    static let vectorLength = block + 2 * filterHalfLength
    static let correlationLength = 2 * slop + 1

    /// Index of the element of `array` closest to `value`.
    @inline(__always)
    static func nearest(_ array: ConstFloatPointer, _ value: Float, count: Int) -> Int {
        var crit = array[0] - value
        var best = crit * crit
        var index = 0
        for i in 1..<count {
            crit = array[i] - value
            crit = crit * crit
            if crit < best {
                best = crit
                index = i
            }
        }
        return index
    }

    /// `corr[i] = sum_j seq1[i+j] * seq2[j]` for `i` in `0...dim1-dim2`.
    ///
    /// Outputs are computed 8 or 4 at a time in SIMD lanes, each lane summing in the scalar
    /// order, so results are bit-identical to the plain loop.
    @inline(__always)
    static func correlate(_ corr: FloatPointer, _ seq1: ConstFloatPointer, _ dim1: Int, _ seq2: ConstFloatPointer, _ dim2: Int) {
        if dim1 < dim2 { return }
        let outputs = dim1 - dim2 + 1
        var i = 0
        while i + 8 <= outputs {
            var sum = SIMD8<Float>(repeating: 0)
            for j in 0..<dim2 {
                sum += UnsafeRawPointer(seq1 + i + j).loadUnaligned(as: SIMD8<Float>.self) * SIMD8(repeating: seq2[j])
            }
            UnsafeMutableRawPointer(corr + i).storeBytes(of: sum, as: SIMD8<Float>.self)
            i += 8
        }
        while i + 4 <= outputs {
            var sum = SIMD4<Float>(repeating: 0)
            for j in 0..<dim2 {
                sum += UnsafeRawPointer(seq1 + i + j).loadUnaligned(as: SIMD4<Float>.self) * SIMD4(repeating: seq2[j])
            }
            UnsafeMutableRawPointer(corr + i).storeBytes(of: sum, as: SIMD4<Float>.self)
            i += 4
        }
        while i < outputs {
            var sum: Float = 0
            for j in 0..<dim2 { sum += seq1[i + j] * seq2[j] }
            corr[i] = sum
            i += 1
        }
    }

    /// Upsamples `dim1` values by 4 with the polyphase filter, zeros outside the array.
    static func upsample(_ out: FloatPointer, _ seq: ConstFloatPointer, _ dim1: Int, polyphase: ConstFloatPointer) {
        var hfl = filterHalfLength
        var filterLength = 2 * hfl + 1
        var phaseOffset = 0
        if filterLength > dim1 {
            let reduced = dim1 / 2
            phaseOffset = hfl - reduced
            hfl = reduced
            filterLength = 2 * hfl + 1
        }
        let fullLength = 2 * filterHalfLength + 1
        @inline(__always) func phase(_ j: Int) -> ConstFloatPointer { polyphase + j * fullLength + phaseOffset }
        var pu = out
        // The filter overhangs the left edge.
        for i in hfl..<filterLength {
            for j in 0..<upsampling {
                var sum: Float = 0
                let pp = phase(j)
                for k in 0...i { sum += seq[i - k] * pp[k] }
                pu.pointee = sum
                pu += 1
            }
        }
        if filterLength < dim1 {
            for i in filterLength..<dim1 {
                for j in 0..<upsampling {
                    var sum: Float = 0
                    let pp = phase(j)
                    for k in 0..<filterLength { sum += seq[i - k] * pp[k] }
                    pu.pointee = sum
                    pu += 1
                }
            }
        }
        // The filter overhangs the right edge.
        if hfl >= 1 {
            for q in 1...hfl {
                for j in 0..<upsampling {
                    var sum: Float = 0
                    let pp = phase(j) + q
                    for k in 0..<(filterLength - q) { sum += seq[dim1 - 1 - k] * pp[k] }
                    pu.pointee = sum
                    pu += 1
                }
            }
        }
    }

    /// Finds the segment near `estimatedStart` most correlated with the block at `centerStart`
    /// at quarter-sample resolution; writes it to `segment` and returns its refined start.
    static func refine(
        _ segment: FloatPointer, data: ConstFloatPointer, dataLength: Int, centerStart: Int, estimatedStart: Float,
        polyphase: ConstFloatPointer
    ) -> Float {
        let rounded = Int(Double(estimatedStart) - 0.5)
        var searchStart = rounded - slop
        if searchStart < 0 { searchStart = 0 }
        var searchEnd = rounded + slop
        if searchEnd + block >= dataLength { searchEnd = dataLength - block - 1 }
        let corrDim = searchEnd - searchStart + 1

        return withUnsafeTemporaryAllocation(of: Float.self, capacity: vectorLength + correlationLength * (1 + upsampling)) {
            scratch in
            let vect = scratch.baseAddress!
            let corrVec = vect + vectorLength
            let corrUp = corrVec + correlationLength
            correlate(corrVec, data + searchStart, corrDim + block - 1, data + centerStart, block)
            upsample(corrUp, corrVec, corrDim, polyphase: polyphase)
            var tloc = 0
            var maxv = corrUp[0]
            if upsampling * corrDim > 1 {
                for i in 1..<(upsampling * corrDim) where corrUp[i] > maxv {
                    tloc = i
                    maxv = corrUp[i]
                }
            }
            let updatedStart = Float(searchStart) + Float(tloc) / Float(upsampling) + Float(1.0)
            var tloc2 = tloc / upsampling
            if tloc > tloc2 * upsampling { tloc2 += 1 }
            let st = searchStart + tloc2 - filterHalfLength
            if st < 0 {
                for i in 0..<(-st) { vect[i] = 0 }
                for i in 0..<(vectorLength + st) { vect[-st + i] = data[i] }
            } else {
                let en = st + vectorLength
                if en > dataLength {
                    let available = vectorLength - (en - dataLength)
                    for i in 0..<available { vect[i] = data[st + i] }
                    for i in available..<vectorLength { vect[i] = 0 }
                } else {
                    for i in 0..<vectorLength { vect[i] = data[st + i] }
                }
            }
            let fraction = tloc2 * upsampling - tloc
            correlate(segment, vect, vectorLength, polyphase + (2 * filterHalfLength + 1) * fraction, 2 * filterHalfLength + 1)
            return updatedStart
        }
    }

    /// Smoothed block from the 7 pitch-synchronous segments in `segments`.
    static func smooth(_ out: FloatPointer, segments: ConstFloatPointer, alpha0: Float) {
        let hl = sideSegments
        withUnsafeTemporaryAllocation(of: Float.self, capacity: block + 2 * hl + 1) { scratch in
            let surround = scratch.baseAddress!
            let weights = surround + block
            for i in 1...(2 * hl + 1) {
                let angle = 2 * Constants.pi * Float(i) / Float(2 * hl + 2)
                weights[i - 1] = Float(0.5) * (1 - cosine(angle))
            }
            weights[hl] = 0
            for i in 0..<block { surround[i] = segments[i] * weights[0] }
            for k in 1..<hl {
                let s = segments + k * block
                for i in 0..<block { surround[i] += s[i] * weights[k] }
            }
            for k in (hl + 1)...(2 * hl) {
                let s = segments + k * block
                for i in 0..<block { surround[i] += s[i] * weights[k] }
            }
            var w00: Float = 0, w10: Float = 0, w11: Float = 0
            let current = segments + hl * block
            for i in 0..<block {
                w00 += current[i] * current[i]
                w11 += surround[i] * surround[i]
                w10 += surround[i] * current[i]
            }
            if abs(w11) < 1 { w11 = 1 }
            let c = squareRoot(w00 / w11)
            var errs: Float = 0
            for i in 0..<block {
                out[i] = c * surround[i]
                let err = current[i] - out[i]
                errs += err * err
            }
            // Limit the change to a fraction alpha0 of the block's energy.
            if errs > alpha0 * w00 {
                if w00 < 1 { w00 = 1 }
                let denom = (w11 * w00 - w10 * w10) / (w00 * w00)
                let a: Float, b: Float
                if denom > 0.0001 {
                    a = squareRoot((alpha0 - alpha0 * alpha0 / 4) / denom)
                    b = (-alpha0 / 2 - a * w10 / w00) + 1
                } else {
                    a = 0
                    b = 1
                }
                for i in 0..<block { out[i] = a * surround[i] + b * current[i] }
            }
        }
    }

    /// Scratch floats `enhanceBlock` needs.
    static let scratchSize = (2 * sideSegments + 1) * (block + 1) + Sizes.enhancerBlocksTotal

    /// Enhances the 80-sample block at `centerStart` of `data`.
    static func enhanceBlock(
        _ out: FloatPointer, data: ConstFloatPointer, dataLength: Int, centerStart: Int, alpha0: Float,
        period: ConstFloatPointer, locations: ConstFloatPointer, periodCount: Int, polyphase: ConstFloatPointer,
        scratch: FloatPointer
    ) {
        let hl = sideSegments
        let segmentCount = 2 * hl + 1
        do {
            let segments = scratch
            let blockStart = segments + segmentCount * block
            let locations2 = blockStart + segmentCount
            var lagBlock = (0, 0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &lagBlock) { raw in
                let lag = raw.baseAddress!.assumingMemoryBound(to: Int.self)
                let centerEnd = centerStart + block - 1
                lag[hl] = nearest(locations, Float(0.5) * Float(centerStart + centerEnd), count: periodCount)
                blockStart[hl] = Float(centerStart)
                for i in 0..<block { segments[hl * block + i] = data[centerStart + i] }
                // Segments in the past.
                for q in stride(from: hl - 1, through: 0, by: -1) {
                    blockStart[q] = blockStart[q + 1] - period[lag[q + 1]]
                    lag[q] = nearest(
                        locations, blockStart[q] + Float(halfBlock) - period[lag[q + 1]], count: periodCount)
                    if blockStart[q] - Float(overhang) >= 0 {
                        blockStart[q] = refine(
                            segments + q * block, data: data, dataLength: dataLength, centerStart: centerStart,
                            estimatedStart: blockStart[q], polyphase: polyphase)
                    } else {
                        for i in 0..<block { segments[q * block + i] = 0 }
                    }
                }
                // Segments in the future.
                for i in 0..<periodCount { locations2[i] = locations[i] - period[i] }
                for q in (hl + 1)...(2 * hl) {
                    lag[q] = nearest(locations2, blockStart[q - 1] + Float(halfBlock), count: periodCount)
                    blockStart[q] = blockStart[q - 1] + period[lag[q]]
                    if blockStart[q] + Float(block + overhang) < Float(dataLength) {
                        blockStart[q] = refine(
                            segments + q * block, data: data, dataLength: dataLength, centerStart: centerStart,
                            estimatedStart: blockStart[q], polyphase: polyphase)
                    } else {
                        for i in 0..<block { segments[q * block + i] = 0 }
                    }
                }
            }
            smooth(out, segments: segments, alpha0: alpha0)
        }
    }

    /// Normalised cross-correlation measure used by the pitch searches:
    /// `(x·y)^2 / (y·y)` when `x·y > 0`, else 0.
    @inline(__always)
    static func correlationMeasure(_ target: ConstFloatPointer, _ regressor: ConstFloatPointer, count: Int) -> Float {
        var cross: Float = 0
        var energy: Float = 0
        for i in 0..<count {
            cross += target[i] * regressor[i]
            energy += regressor[i] * regressor[i]
        }
        return cross > 0 ? cross * cross / energy : 0
    }
}
