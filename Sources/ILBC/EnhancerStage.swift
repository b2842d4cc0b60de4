/// The enhancer's per-frame driver: keeps the 640-sample residual history, estimates the
/// pitch of each 80-sample block on a 2x downsampled signal, smooths the seam after a
/// concealed frame, and enhances the blocks that are now complete.
enum EnhancerStage {
    static let scratchSize = 2 * Enhancer.block + 6 + 180 + Enhancer.scratchSize

    /// Returns the pitch lag for concealment of a following lost frame.
    static func run(
        out: FloatPointer, input: ConstFloatPointer, mode: ILBCMode, buffer: FloatPointer, period: FloatPointer,
        previousConcealed: Bool, scratch: FloatPointer
    ) -> Int {
        let block = Enhancer.block
        let blockLength = mode.samplesPerFrame
        let bufferLength = Sizes.enhancerBuffer
        let blocksPerFrameMax = Sizes.maxBlock / block  // 3
        let extraBlocks = 5
        let total = Sizes.enhancerBlocksTotal

        for i in 0..<(bufferLength - blockLength) { buffer[i] = buffer[i + blockLength] }
        for i in 0..<blockLength { buffer[bufferLength - blockLength + i] = input[i] }

        let plcBlock = mode == .ms30 ? block : 40
        let offset = mode == .ms20 ? 1 : 0
        let shift = 3 - offset
        for i in 0..<(total - shift) { period[i] = period[i + shift] }

        let predicted = scratch
        let lowPassState = scratch + block
        let downsampled = lowPassState + 6
        let blockScratch = downsampled + 180
        let inputLength = blocksPerFrameMax * block + 120
        let source = buffer + (extraBlocks + offset) * block
        for i in 0..<6 { lowPassState[i] = source[-126 + i] }
        Filter.downsample(source - 120, length: inputLength - offset * block, state: lowPassState, output: downsampled)

        var lag = 0
        for blockIndex in 0..<(blocksPerFrameMax - offset) {
            let target = downsampled + 60 + blockIndex * Enhancer.halfBlock
            lag = PitchSearch.bestLag(target: target, count: Enhancer.halfBlock, lags: 10...59)
            period[blockIndex + extraBlocks + offset] = Float(lag) * 2
        }

        if previousConcealed {
            // Re-estimate the lag at the seam, then blend the concealed look-ahead with a
            // backward prediction from the new frame.
            let inLag = Int(period[extraBlocks + offset])
            lag = inLag - 1
            var maxCC = Enhancer.correlationMeasure(input, input + lag, count: plcBlock)
            for candidate in inLag...(inLag + 1) {
                let cc = Enhancer.correlationMeasure(input, input + candidate, count: plcBlock)
                if cc > maxCC {
                    maxCC = cc
                    lag = candidate
                }
            }
            period[extraBlocks + offset - 1] = Float(lag)

            var write = plcBlock - 1
            var read = lag - 1
            let start = lag > plcBlock ? plcBlock : lag
            for _ in 0..<start {
                predicted[write] = input[read]
                write -= 1
                read -= 1
            }
            var history = bufferLength - 1 - blockLength
            var remaining = plcBlock - 1 - lag
            while remaining >= 0 {
                predicted[write] = buffer[history]
                write -= 1
                history -= 1
                remaining -= 1
            }

            var oldEnergy: Float = 0, newEnergy: Float = 0
            for i in 0..<plcBlock {
                let v = buffer[bufferLength - 1 - blockLength - i]
                oldEnergy += v * v
                newEnergy += predicted[i] * predicted[i]
            }
            let newRMS = squareRoot(newEnergy / Float(plcBlock))
            let oldRMS = squareRoot(oldEnergy / Float(plcBlock))
            if newRMS > Float(2.0) * oldRMS && newRMS > 0 {
                for i in 0..<(plcBlock - 10) { predicted[i] *= Float(2.0) * oldRMS / newRMS }
                for i in (plcBlock - 10)..<plcBlock {
                    predicted[i] *= Float(i - plcBlock + 10) * (Float(1.0) - Float(2.0) * oldRMS / newRMS) / Float(10)
                        + Float(2.0) * oldRMS / newRMS
                }
            }
            var position = bufferLength - 1 - blockLength
            for i in 0..<plcBlock {
                let weight = Float(i + 1) / Float(plcBlock + 1)
                buffer[position] *= weight
                buffer[position] += (Float(1.0) - weight) * predicted[plcBlock - 1 - i]
                position -= 1
            }
        }

        Tables.polyphaseUpsampler.withUnsafeBufferPointer { poly in
            Tables.enhancerPitchLocations.withUnsafeBufferPointer { locations in
                if mode == .ms20 {
                    for blockIndex in 0..<2 {
                        Enhancer.enhanceBlock(
                            out + blockIndex * block, data: buffer, dataLength: bufferLength,
                            centerStart: (5 + blockIndex) * block + 40, alpha0: Constants.enhancerAlpha, period: period,
                            locations: locations.baseAddress!, periodCount: total, polyphase: poly.baseAddress!,
                            scratch: blockScratch)
                    }
                } else {
                    for blockIndex in 0..<3 {
                        Enhancer.enhanceBlock(
                            out + blockIndex * block, data: buffer, dataLength: bufferLength,
                            centerStart: (4 + blockIndex) * block, alpha0: Constants.enhancerAlpha, period: period,
                            locations: locations.baseAddress!, periodCount: total, polyphase: poly.baseAddress!,
                            scratch: blockScratch)
                    }
                }
            }
        }
        return lag * 2
    }
}
