/// Packet loss concealment (RFC 3951 §4.5): a lost frame's residual is a mix of pitch
/// repetition and noise taken from the last good residual, fading with consecutive losses;
/// its LPC filter is the last one received.
struct PacketLossConcealment: Sendable {
    var previousLag = 120
    var consecutiveLosses = 0
    var previousWasLost = false
    var periodicity: Float = 0
    var seed: UInt64 = 777

    /// Correlation, gain and periodicity of the last `searchLength` samples of `buffer` with
    /// the samples `lag` earlier.
    @inline(__always)
    static func correlation(_ buffer: ConstFloatPointer, lag: Int, bufferLength: Int, searchLength: Int)
        -> (cc: Float, gain: Float, periodicity: Float)
    {
        var range = searchLength
        if bufferLength - range - lag < 0 { range = bufferLength - lag }
        var cross: Float = 0, laggedEnergy: Float = 0, energy: Float = 0
        if range > 0 {
            let base = bufferLength - range
            for i in 0..<range {
                cross += buffer[base + i] * buffer[base + i - lag]
                laggedEnergy += buffer[base + i - lag] * buffer[base + i - lag]
                energy += buffer[base + i] * buffer[base + i]
            }
        }
        if laggedEnergy > 0 {
            return (
                cross * cross / laggedEnergy, abs(cross / laggedEnergy),
                abs(cross) / (squareRoot(laggedEnergy) * squareRoot(energy))
            )
        }
        return (0, 0, 0)
    }

    /// Produces the concealed residual (`blockLength` samples) and LPC filter for a lost
    /// frame. `previousResidual` and `previousLPC` hold the last frame's, and are updated.
    mutating func conceal(
        residual out: FloatPointer, lpc: FloatPointer, lag inLag: Int, blockLength: Int,
        previousResidual: FloatPointer, previousLPC: FloatPointer, noise: FloatPointer
    ) {
        consecutiveLosses += 1
        var lag: Int
        var maxPeriodicity: Float
        if !previousWasLost {
            // Search around the last pitch lag for the best period.
            lag = inLag - 3
            var best = Self.correlation(previousResidual, lag: lag, bufferLength: blockLength, searchLength: 60)
            maxPeriodicity = best.periodicity
            if inLag - 2 <= inLag + 3 {
                for candidate in (inLag - 2)...(inLag + 3) {
                    let c = Self.correlation(previousResidual, lag: candidate, bufferLength: blockLength, searchLength: 60)
                    if c.cc > best.cc {
                        best = c
                        lag = candidate
                        maxPeriodicity = c.periodicity
                    }
                }
            }
        } else {
            lag = previousLag
            maxPeriodicity = periodicity
        }

        // The reference only ever reaches its first attenuation step.
        var useGain: Float = 1
        if consecutiveLosses * blockLength > 320 { useGain = Float(0.9 as Double) }

        let ftmp = squareRoot(maxPeriodicity)
        let pitchFactor: Float
        if ftmp > Float(0.7 as Double) {
            pitchFactor = 1
        } else if ftmp > Float(0.4 as Double) {
            pitchFactor = (ftmp - Float(0.4 as Double)) / (Float(0.7 as Double) - Float(0.4 as Double))
        } else {
            pitchFactor = 0
        }

        // Repeat two periods of short pitch to avoid a buzz of one repeated cycle.
        let useLag = lag < 80 ? 2 * lag : lag
        @inline(__always) func history(_ offset: Int) -> Float {
            // Offsets before the stored frame can only come from corrupted lags; read silence.
            let i = blockLength + offset
            return i >= 0 ? previousResidual[i] : 0
        }
        var energy: Float = 0
        for i in 0..<blockLength {
            seed = (seed &* 69069 &+ 1) & 0x7FFF_FFFF
            let randomLag = 50 + Int(seed % 70)
            var pick = i - randomLag
            noise[i] = pick < 0 ? history(pick) : noise[pick]
            pick = i - useLag
            out[i] = pick < 0 ? history(pick) : out[pick]
            let mixed = pitchFactor * out[i] + (Float(1.0) - pitchFactor) * noise[i]
            if i < 80 {
                out[i] = useGain * mixed
            } else if i < 160 {
                out[i] = Float(0.95 as Double) * useGain * mixed
            } else {
                out[i] = Float(0.9 as Double) * useGain * mixed
            }
            energy += out[i] * out[i]
        }
        // Below 30 dB use only noise.
        if Double(energy / Float(blockLength)).squareRoot() < 30.0 {
            for i in 0..<blockLength { out[i] = noise[i] }
        }
        for i in 0...Sizes.order { lpc[i] = previousLPC[i] }

        previousLag = lag
        periodicity = maxPeriodicity
        previousWasLost = true
        for i in 0..<blockLength { previousResidual[i] = out[i] }
    }

    /// Records a correctly received frame.
    mutating func receive(residual: ConstFloatPointer, lpc: ConstFloatPointer, blockLength: Int,
                          previousResidual: FloatPointer, previousLPC: FloatPointer) {
        consecutiveLosses = 0
        previousWasLost = false
        for i in 0...Sizes.order { previousLPC[i] = lpc[i] }
        for i in 0..<blockLength { previousResidual[i] = residual[i] }
    }
}
