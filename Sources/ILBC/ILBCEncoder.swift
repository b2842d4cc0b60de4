/// An iLBC encoder (RFC 3951 §3) for one stream.
///
/// A value type: run one instance per stream on any thread. Encoding allocates nothing per
/// frame except the returned bytes (use ``encode(_:into:)`` to avoid that too).
public struct ILBCEncoder: Sendable {
    /// The frame size of the stream.
    public let mode: ILBCMode

    private var memory: [Float]
    private var parameters: FrameParameters

    private enum Layout {
        static let analysisState = 0
        static let lsfPrevious = analysisState + Sizes.order
        static let lsfQuantizedPrevious = lsfPrevious + Sizes.order
        static let lpcBuffer = lsfQuantizedPrevious + Sizes.order
        static let highPassState = lpcBuffer + LPCAnalysis.bufferLength
        // Per-frame scratch.
        static let data = highPassState + 4
        static let lsf = data + Sizes.maxBlock
        static let lsfQuantized = lsf + 2 * Sizes.order
        static let synthesis = lsfQuantized + 2 * Sizes.order
        static let weighting = synthesis + Sizes.orderPlusOne * Sizes.maxSubblocks
        static let residual = weighting + Sizes.orderPlusOne * Sizes.maxSubblocks
        static let reversedResidual = residual + Sizes.maxBlock
        static let decoded = reversedResidual + Sizes.maxBlock
        static let reversedDecoded = decoded + Sizes.maxBlock
        static let codebookMemory = reversedDecoded + Sizes.maxBlock
        static let search = codebookMemory + Sizes.codebookMemory
        static let total = search + CodebookSearch.scratchSize
    }

    /// Creates an encoder in the reference's initial state.
    public init(mode: ILBCMode) {
        self.mode = mode
        parameters = FrameParameters(mode: mode)
        memory = [Float](repeating: 0, count: Layout.total)
        for i in 0..<Sizes.order {
            memory[Layout.lsfPrevious + i] = Tables.lsfMean[i]
            memory[Layout.lsfQuantizedPrevious + i] = Tables.lsfMean[i]
        }
    }

    /// Encodes one frame of `mode.samplesPerFrame` samples.
    public mutating func encode(_ samples: [Int16]) -> [UInt8] {
        precondition(samples.count == mode.samplesPerFrame, "a frame is \(mode.samplesPerFrame) samples")
        var bytes = [UInt8](repeating: 0, count: mode.bytesPerFrame)
        samples.withUnsafeBufferPointer { input in
            bytes.withUnsafeMutableBufferPointer { encode(input, into: $0) }
        }
        return bytes
    }

    /// Encodes `mode.samplesPerFrame` samples into `out` (`mode.bytesPerFrame` bytes).
    public mutating func encode(_ samples: UnsafeBufferPointer<Int16>, into out: UnsafeMutableBufferPointer<UInt8>) {
        precondition(samples.count >= mode.samplesPerFrame && out.count >= mode.bytesPerFrame)
        let mode = self.mode
        parameters.slots.withUnsafeMutableBufferPointer { slots in
            memory.withUnsafeMutableBufferPointer { m in
                let data = m.baseAddress! + Layout.data
                for i in 0..<mode.samplesPerFrame { data[i] = Float(samples[i]) }
                Self.encodeFrame(memory: m.baseAddress!, parameters: slots.baseAddress!, mode: mode)
            }
        }
        parameters.pack(into: out)
    }

    /// The frame's parameters after the last `encode`, for inspection.
    public var lastParameters: FrameParameters { parameters }

    private static func encodeFrame(memory m: FloatPointer, parameters p: UnsafeMutablePointer<Int32>, mode: ILBCMode) {
        let stride = Sizes.orderPlusOne
        let subblock = Sizes.subblock
        let blockLength = mode.samplesPerFrame
        let subblocks = mode.subblocks
        let shortLength = mode.scalarStateLength
        let data = m + Layout.data

        Filter.highPass(
            data, length: blockLength, output: data, state: m + Layout.highPassState,
            zeros: Tables.highPassInputZeros, poles: Tables.highPassInputPoles)

        // LPC analysis, LSF quantisation and the per-sub-block filters.
        let lsf = m + Layout.lsf
        let lsfQ = m + Layout.lsfQuantized
        let synthesis = m + Layout.synthesis
        let weighting = m + Layout.weighting
        LPCAnalysis.analyze(lsf, data: data, buffer: m + Layout.lpcBuffer, mode: mode)
        LSFQuantizer.quantize(lsfQ, indices: p + Slot.lsf, lsf, count: mode.lpcAnalyses)
        LSFQuantizer.enforceStability(lsfQ, count: mode.lpcAnalyses)
        interpolate(
            synthesis: synthesis, weighting: weighting, lsf: lsf, lsfQuantized: lsfQ,
            previous: m + Layout.lsfPrevious, previousQuantized: m + Layout.lsfQuantizedPrevious, mode: mode)

        let residual = m + Layout.residual
        for n in 0..<subblocks {
            Filter.analysis(
                data + n * subblock, synthesis + n * stride, length: subblock, output: residual + n * subblock,
                state: m + Layout.analysisState)
        }

        // Start state: the two sub-blocks with the most energy, then which end of them the
        // scalar-coded part covers.
        let start = startSubblock(residual, mode: mode)
        let diff = Sizes.stateLength - shortLength
        var firstEnergy: Float = 0, lastEnergy: Float = 0
        for i in 0..<shortLength {
            let a = residual[(start - 1) * subblock + i]
            firstEnergy += a * a
        }
        for i in 0..<shortLength {
            let b = residual[(start - 1) * subblock + diff + i]
            lastEnergy += b * b
        }
        let stateFirst = firstEnergy > lastEnergy
        let startPosition = stateFirst ? (start - 1) * subblock : (start - 1) * subblock + diff
        p[Slot.start] = Int32(start)
        p[Slot.stateFirst] = stateFirst ? 1 : 0

        let decoded = m + Layout.decoded
        let scaleIndex = StartState.encode(
            residual: residual + startPosition, synthesis: synthesis + (start - 1) * stride,
            weighting: weighting + (start - 1) * stride, indices: p + Slot.state, length: shortLength,
            stateFirst: stateFirst)
        p[Slot.scale] = Int32(scaleIndex)
        StartState.decode(
            scaleIndex: scaleIndex, indices: p + Slot.state, synthesis: synthesis + (start - 1) * stride,
            out: decoded + startPosition, length: shortLength)

        let mem = m + Layout.codebookMemory
        let memLength = Sizes.codebookMemory
        let stateMemory = Sizes.startStateMemory
        let reversedResidual = m + Layout.reversedResidual
        let reversedDecoded = m + Layout.reversedDecoded
        let search = m + Layout.search
        if stateFirst {
            for i in 0..<(memLength - shortLength) { mem[i] = 0 }
            for i in 0..<shortLength { mem[memLength - shortLength + i] = decoded[startPosition + i] }
            CodebookSearch.search(
                indices: p + Slot.extraIndex, gainIndices: p + Slot.extraGain, target: residual + startPosition + shortLength,
                memory: mem + memLength - stateMemory, memoryLength: stateMemory, length: diff,
                weighting: weighting + start * stride, block: 0, scalarStateLength: shortLength, scratch: search)
            AdaptiveCodebook.construct(
                decoded + startPosition + shortLength, indices: p + Slot.extraIndex, gainIndices: p + Slot.extraGain,
                memory: mem + memLength - stateMemory, memoryLength: stateMemory, length: diff)
        } else {
            for k in 0..<diff { reversedResidual[k] = residual[(start + 1) * subblock - 1 - (k + shortLength)] }
            for k in 0..<shortLength { mem[memLength - 1 - k] = decoded[startPosition + k] }
            for i in 0..<(memLength - shortLength) { mem[i] = 0 }
            CodebookSearch.search(
                indices: p + Slot.extraIndex, gainIndices: p + Slot.extraGain, target: reversedResidual,
                memory: mem + memLength - stateMemory, memoryLength: stateMemory, length: diff,
                weighting: weighting + (start - 1) * stride, block: 0, scalarStateLength: shortLength, scratch: search)
            AdaptiveCodebook.construct(
                reversedDecoded, indices: p + Slot.extraIndex, gainIndices: p + Slot.extraGain,
                memory: mem + memLength - stateMemory, memoryLength: stateMemory, length: diff)
            for k in 0..<diff { decoded[startPosition - 1 - k] = reversedDecoded[k] }
        }

        var coded = 0
        let forward = subblocks - start - 1
        if forward > 0 {
            for i in 0..<(memLength - Sizes.stateLength) { mem[i] = 0 }
            for i in 0..<Sizes.stateLength { mem[memLength - Sizes.stateLength + i] = decoded[(start - 1) * subblock + i] }
            for sub in 0..<forward {
                let position = (start + 1 + sub) * subblock
                CodebookSearch.search(
                    indices: p + Slot.index + 3 * coded, gainIndices: p + Slot.gain + 3 * coded, target: residual + position,
                    memory: mem, memoryLength: memLength, length: subblock,
                    weighting: weighting + (start + 1 + sub) * stride, block: coded + 1, scalarStateLength: shortLength,
                    scratch: search)
                AdaptiveCodebook.construct(
                    decoded + position, indices: p + Slot.index + 3 * coded, gainIndices: p + Slot.gain + 3 * coded,
                    memory: mem, memoryLength: memLength, length: subblock)
                ResidualDecoder.shift(mem, memLength, appending: decoded + position)
                coded += 1
            }
        }

        let backward = start - 1
        if backward > 0 {
            for n in 0..<backward {
                for k in 0..<subblock {
                    reversedResidual[n * subblock + k] = residual[(start - 1) * subblock - 1 - n * subblock - k]
                    reversedDecoded[n * subblock + k] = decoded[(start - 1) * subblock - 1 - n * subblock - k]
                }
            }
            var available = subblock * (subblocks + 1 - start)
            if available > memLength { available = memLength }
            for k in 0..<available { mem[memLength - 1 - k] = decoded[(start - 1) * subblock + k] }
            for i in 0..<(memLength - available) { mem[i] = 0 }
            for sub in 0..<backward {
                CodebookSearch.search(
                    indices: p + Slot.index + 3 * coded, gainIndices: p + Slot.gain + 3 * coded,
                    target: reversedResidual + sub * subblock, memory: mem, memoryLength: memLength, length: subblock,
                    weighting: weighting + (start - 2 - sub) * stride, block: coded + 1, scalarStateLength: shortLength,
                    scratch: search)
                AdaptiveCodebook.construct(
                    reversedDecoded + sub * subblock, indices: p + Slot.index + 3 * coded,
                    gainIndices: p + Slot.gain + 3 * coded, memory: mem, memoryLength: memLength, length: subblock)
                ResidualDecoder.shift(mem, memLength, appending: reversedDecoded + sub * subblock)
                coded += 1
            }
        }
        AdaptiveCodebook.compactIndices(p + Slot.index)
    }

    /// Synthesis filters from the quantised LSFs and weighting filters from the unquantised
    /// ones, interpolated per sub-block with the previous frame's.
    private static func interpolate(
        synthesis: FloatPointer, weighting: FloatPointer, lsf: FloatPointer, lsfQuantized: FloatPointer,
        previous: FloatPointer, previousQuantized: FloatPointer, mode: ILBCMode
    ) {
        let stride = Sizes.orderPlusOne
        let order = Sizes.order
        withUnsafeTemporaryAllocation(of: Float.self, capacity: stride) { scratch in
            let lp = scratch.baseAddress!
            if mode == .ms30 {
                let w = Constants.lsfWeights30
                LineSpectralFrequencies.interpolateToLPC(synthesis, previousQuantized, lsfQuantized, coef: w[0])
                LineSpectralFrequencies.interpolateToLPC(lp, previous, lsf, coef: w[0])
                LineSpectralFrequencies.bandwidthExpand(weighting, lp, chirp: Constants.weightingChirp)
                for i in 1..<mode.subblocks {
                    LineSpectralFrequencies.interpolateToLPC(
                        synthesis + i * stride, lsfQuantized, lsfQuantized + order, coef: w[i])
                    LineSpectralFrequencies.interpolateToLPC(lp, lsf, lsf + order, coef: w[i])
                    LineSpectralFrequencies.bandwidthExpand(weighting + i * stride, lp, chirp: Constants.weightingChirp)
                }
                for i in 0..<order {
                    previous[i] = lsf[order + i]
                    previousQuantized[i] = lsfQuantized[order + i]
                }
            } else {
                let w = Constants.lsfWeights20
                for i in 0..<mode.subblocks {
                    LineSpectralFrequencies.interpolateToLPC(synthesis + i * stride, previousQuantized, lsfQuantized, coef: w[i])
                    LineSpectralFrequencies.interpolateToLPC(lp, previous, lsf, coef: w[i])
                    LineSpectralFrequencies.bandwidthExpand(weighting + i * stride, lp, chirp: Constants.weightingChirp)
                }
                for i in 0..<order {
                    previous[i] = lsf[i]
                    previousQuantized[i] = lsfQuantized[i]
                }
            }
        }
    }

    /// The 1-based sub-block where the start state's 80 samples begin: the pair of
    /// sub-blocks with the most (edge-tapered, position-weighted) residual energy.
    private static func startSubblock(_ residual: ConstFloatPointer, mode: ILBCMode) -> Int {
        let subblock = Sizes.subblock
        let subblocks = mode.subblocks
        let positionWeights = SIMD8<Float>(Float(0.8 as Double), Float(0.9 as Double), 1, Float(0.9 as Double),
                                           Float(0.8 as Double), 0, 0, 0)
        let taper = SIMD8<Float>(Float(1.0) / Float(6.0), Float(2.0) / Float(6.0), Float(3.0) / Float(6.0),
                                 Float(4.0) / Float(6.0), Float(5.0) / Float(6.0), 0, 0, 0)
        var front = SIMD8<Float>(repeating: 0)
        var back = SIMD8<Float>(repeating: 0)
        var pp = residual
        for l in 0..<5 { front[0] += taper[l] * pp[l] * pp[l] }
        for l in 5..<subblock { front[0] += pp[l] * pp[l] }
        for n in 1..<(subblocks - 1) {
            pp = residual + n * subblock
            for l in 0..<5 {
                front[n] += taper[l] * pp[l] * pp[l]
                back[n] += pp[l] * pp[l]
            }
            for l in 5..<(subblock - 5) {
                front[n] += pp[l] * pp[l]
                back[n] += pp[l] * pp[l]
            }
            for l in (subblock - 5)..<subblock {
                front[n] += pp[l] * pp[l]
                back[n] += taper[subblock - l - 1] * pp[l] * pp[l]
            }
        }
        let n = subblocks - 1
        pp = residual + n * subblock
        for l in 0..<(subblock - 5) { back[n] += pp[l] * pp[l] }
        for l in (subblock - 5)..<subblock { back[n] += taper[subblock - l - 1] * pp[l] * pp[l] }

        var l = mode == .ms20 ? 1 : 0
        var maxEnergy = (front[0] + back[1]) * positionWeights[l]
        var best = 1
        for n in 2..<subblocks {
            l += 1
            let e = (front[n - 1] + back[n]) * positionWeights[l]
            if e > maxEnergy {
                maxEnergy = e
                best = n
            }
        }
        return best
    }
}
