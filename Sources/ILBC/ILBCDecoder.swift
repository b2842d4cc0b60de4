/// An iLBC decoder (RFC 3951 §4) for one stream.
///
/// A value type: copy it to fork a stream's state; run one instance per stream on any
/// thread. Decoding allocates nothing per frame.
public struct ILBCDecoder: Sendable {
    /// The frame size of the stream.
    public let mode: ILBCMode
    /// Whether the pitch enhancer runs (the reference default). It delays the output by
    /// 40 samples (20 ms mode) or 80 samples (30 ms mode).
    public let usesEnhancer: Bool

    /// All float state and per-frame scratch, at the offsets of `Layout`.
    private var memory: [Float]
    private var parameters: FrameParameters
    private var concealment = PacketLossConcealment()
    /// Pitch lag found by the enhancer (or the lag search without it), used by concealment.
    private var lastLag = 20
    private var previousFrameConcealed = false

    private enum Layout {
        static let synthesisState = 0
        static let lsfPrevious = synthesisState + Sizes.order
        static let previousLPC = lsfPrevious + Sizes.order
        static let previousResidual = previousLPC + Sizes.orderPlusOne
        static let previousSynthesis = previousResidual + Sizes.maxBlock
        static let highPassState = previousSynthesis + Sizes.orderPlusOne * Sizes.maxSubblocks
        static let enhancerBuffer = highPassState + 4
        static let enhancerPeriod = enhancerBuffer + Sizes.enhancerBuffer
        // Per-frame scratch.
        static let lsf = enhancerPeriod + Sizes.enhancerBlocksTotal
        static let synthesis = lsf + 2 * Sizes.order
        static let residual = synthesis + Sizes.orderPlusOne * Sizes.maxSubblocks
        static let output = residual + Sizes.maxBlock
        static let concealedLPC = output + Sizes.maxBlock
        static let noise = concealedLPC + Sizes.orderPlusOne
        static let work = noise + Sizes.maxBlock
        static let total = work + max(ResidualDecoder.scratchSize, EnhancerStage.scratchSize)
    }

    /// Creates a decoder in the reference's initial state.
    public init(mode: ILBCMode, enhancer: Bool = true) {
        self.mode = mode
        usesEnhancer = enhancer
        parameters = FrameParameters(mode: mode)
        memory = [Float](repeating: 0, count: Layout.total)
        for i in 0..<Sizes.order { memory[Layout.lsfPrevious + i] = Tables.lsfMean[i] }
        for i in 0..<Sizes.maxSubblocks { memory[Layout.previousSynthesis + i * Sizes.orderPlusOne] = 1 }
        memory[Layout.previousLPC] = 1
        for i in 0..<Sizes.enhancerBlocksTotal { memory[Layout.enhancerPeriod + i] = 40 }
    }

    /// Decodes one frame into `mode.samplesPerFrame` float samples (not yet clipped).
    ///
    /// `payload` is one frame of `mode.bytesPerFrame` bytes, or `nil` for a lost frame. A
    /// payload of another size, with the empty-frame bit set, or with an impossible
    /// start-state position is concealed like a lost frame.
    /// Returns whether the frame was concealed.
    @discardableResult
    public mutating func decode(_ payload: UnsafeBufferPointer<UInt8>?, into out: UnsafeMutableBufferPointer<Float>) -> Bool {
        precondition(out.count >= mode.samplesPerFrame, "output buffer too small")
        var good = false
        if let payload, payload.count == mode.bytesPerFrame {
            let emptyFlag = parameters.read(from: payload)
            good = !emptyFlag && parameters.validationProblem == nil
        }
        let mode = self.mode
        let enhance = usesEnhancer
        var plc = concealment
        var lag = lastLag
        let concealedBefore = previousFrameConcealed
        parameters.slots.withUnsafeMutableBufferPointer { slots in
            memory.withUnsafeMutableBufferPointer { m in
                Self.decodeFrame(
                    memory: m.baseAddress!, parameters: slots.baseAddress!, good: good, mode: mode, enhance: enhance,
                    concealment: &plc, lastLag: &lag, previousConcealed: concealedBefore, out: out.baseAddress!)
            }
        }
        concealment = plc
        lastLag = lag
        previousFrameConcealed = !good
        return !good
    }

    private static func decodeFrame(
        memory m: FloatPointer, parameters p: UnsafeMutablePointer<Int32>, good: Bool, mode: ILBCMode, enhance: Bool,
        concealment plc: inout PacketLossConcealment, lastLag: inout Int, previousConcealed: Bool, out: FloatPointer
    ) {
        let blockLength = mode.samplesPerFrame
        let subblocks = mode.subblocks
        let stride = Sizes.orderPlusOne
        let synthesis = m + Layout.synthesis
        let residual = m + Layout.residual

        if good {
            AdaptiveCodebook.expandIndices(p + Slot.index)
            let lsf = m + Layout.lsf
            LSFQuantizer.dequantize(lsf, indices: p + Slot.lsf, count: mode.lpcAnalyses)
            LSFQuantizer.enforceStability(lsf, count: mode.lpcAnalyses)
            interpolateLSF(synthesis, lsf: lsf, previous: m + Layout.lsfPrevious, mode: mode)
            ResidualDecoder.decode(residual, parameters: p, synthesis: synthesis, mode: mode, scratch: m + Layout.work)
            plc.receive(
                residual: residual, lpc: synthesis + (subblocks - 1) * stride, blockLength: blockLength,
                previousResidual: m + Layout.previousResidual, previousLPC: m + Layout.previousLPC)
        } else {
            let lpc = m + Layout.concealedLPC
            plc.conceal(
                residual: residual, lpc: lpc, lag: lastLag, blockLength: blockLength,
                previousResidual: m + Layout.previousResidual, previousLPC: m + Layout.previousLPC,
                noise: m + Layout.noise)
            for i in 0..<subblocks {
                for k in 0..<stride { synthesis[i * stride + k] = lpc[k] }
            }
        }

        let data = m + Layout.output
        let synthesisState = m + Layout.synthesisState
        let previousSynthesis = m + Layout.previousSynthesis
        let subblock = Sizes.subblock
        if enhance {
            lastLag = EnhancerStage.run(
                out: data, input: residual, mode: mode, buffer: m + Layout.enhancerBuffer,
                period: m + Layout.enhancerPeriod, previousConcealed: previousConcealed, scratch: m + Layout.work)
            // The enhanced signal lags by one (20 ms) or two (30 ms) sub-blocks, so it is
            // filtered with the filters of the sub-blocks it came from.
            let delay = mode == .ms20 ? 1 : 2
            for i in 0..<subblocks {
                let a = i < delay
                    ? previousSynthesis + (i + subblocks - delay) * stride
                    : synthesis + (i - delay) * stride
                Filter.synthesis(data + i * subblock, a, length: subblock, state: synthesisState)
            }
        } else {
            // Pitch lag of the last 80 samples, for concealment. The reference always looks
            // 240 samples in, which in 20 ms mode reads past the frame; we stay inside it, so
            // 20 ms frames allow lags up to 80.
            let end = residual + blockLength - Sizes.enhancerBlock
            let maxLag = min(119, blockLength - Sizes.enhancerBlock)
            lastLag = PitchSearch.bestLag(target: end, count: Sizes.enhancerBlock, lags: 20...maxLag)
            for i in 0..<blockLength { data[i] = residual[i] }
            for i in 0..<subblocks {
                Filter.synthesis(data + i * subblock, synthesis + i * stride, length: subblock, state: synthesisState)
            }
        }

        Filter.highPass(
            data, length: blockLength, output: out, state: m + Layout.highPassState,
            zeros: Tables.highPassOutputZeros, poles: Tables.highPassOutputPoles)
        for i in 0..<(subblocks * stride) { previousSynthesis[i] = synthesis[i] }
    }

    /// Per-sub-block synthesis filters from the dequantised LSFs, interpolated with the
    /// previous frame's.
    private static func interpolateLSF(_ synthesis: FloatPointer, lsf: FloatPointer, previous: FloatPointer, mode: ILBCMode) {
        let stride = Sizes.orderPlusOne
        if mode == .ms30 {
            LineSpectralFrequencies.interpolateToLPC(synthesis, previous, lsf, coef: Constants.lsfWeights30[0])
            for i in 1..<6 {
                LineSpectralFrequencies.interpolateToLPC(
                    synthesis + i * stride, lsf, lsf + Sizes.order, coef: Constants.lsfWeights30[i])
            }
            for i in 0..<Sizes.order { previous[i] = lsf[Sizes.order + i] }
        } else {
            for i in 0..<4 {
                LineSpectralFrequencies.interpolateToLPC(synthesis + i * stride, previous, lsf, coef: Constants.lsfWeights20[i])
            }
            for i in 0..<Sizes.order { previous[i] = lsf[i] }
        }
    }
}

extension ILBCDecoder {
    /// Decodes one frame (`nil` = lost) to 16-bit samples, clipped and truncated toward zero
    /// as the reference does. A payload of the wrong size is concealed.
    public mutating func decode(_ payload: [UInt8]?) -> [Int16] {
        var samples = [Int16](repeating: 0, count: mode.samplesPerFrame)
        _ = samples.withUnsafeMutableBufferPointer { decode(payload, into: $0) }
        return samples
    }

    /// Decodes one frame (`nil` = lost) into `out` (at least `mode.samplesPerFrame` samples).
    /// Returns whether the frame was concealed.
    @discardableResult
    public mutating func decode(_ payload: [UInt8]?, into out: UnsafeMutableBufferPointer<Int16>) -> Bool {
        precondition(out.count >= mode.samplesPerFrame, "output buffer too small")
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: Sizes.maxBlock) { floats in
            let concealed: Bool
            if let payload {
                concealed = payload.withUnsafeBufferPointer { decode($0, into: floats) }
            } else {
                concealed = decode(nil, into: floats)
            }
            for i in 0..<mode.samplesPerFrame { out[i] = Int16(clippingAndTruncating: floats[i]) }
            return concealed
        }
    }
}

extension Int16 {
    /// The reference's float-to-sample conversion: clip to the 16-bit range, then truncate.
    @inline(__always)
    init(clippingAndTruncating value: Float) {
        if value < -32768 {
            self = .min
        } else if value > 32767 {
            self = .max
        } else if value.isNaN {
            self = 0
        } else {
            self = Int16(value.rounded(.towardZero))
        }
    }
}
