/// Rebuilds a frame's LPC residual from its start state and codebook parameters
/// (RFC 3951 §4.2-4.5): the start state, then the adaptive-codebook sub-blocks after it
/// (forward in time) and before it (coded backward in time).
enum ResidualDecoder {
    /// Scratch floats `decode` needs.
    static let scratchSize = Sizes.maxBlock + Sizes.codebookMemory

    static func decode(
        _ residual: FloatPointer, parameters p: UnsafePointer<Int32>, synthesis: ConstFloatPointer, mode: ILBCMode,
        scratch: FloatPointer
    ) {
        let reversed = scratch
        let mem = scratch + Sizes.maxBlock
        let memLength = Sizes.codebookMemory
        let subblock = Sizes.subblock
        let shortLength = mode.scalarStateLength
        let start = Int(p[Slot.start])
        let stateFirst = p[Slot.stateFirst] != 0
        let diff = Sizes.stateLength - shortLength
        let startPosition = stateFirst ? (start - 1) * subblock : (start - 1) * subblock + diff

        StartState.decode(
            scaleIndex: Int(p[Slot.scale]), indices: p + Slot.state,
            synthesis: synthesis + (start - 1) * Sizes.orderPlusOne, out: residual + startPosition, length: shortLength)

        // The rest of the 80-sample start state comes from a codebook over the scalar part.
        let stateMemory = Sizes.startStateMemory
        if stateFirst {
            for i in 0..<(memLength - shortLength) { mem[i] = 0 }
            for i in 0..<shortLength { mem[memLength - shortLength + i] = residual[startPosition + i] }
            AdaptiveCodebook.construct(
                residual + startPosition + shortLength, indices: p + Slot.extraIndex, gainIndices: p + Slot.extraGain,
                memory: mem + memLength - stateMemory, memoryLength: stateMemory, length: diff)
        } else {
            for k in 0..<shortLength { mem[memLength - 1 - k] = residual[startPosition + k] }
            for i in 0..<(memLength - shortLength) { mem[i] = 0 }
            AdaptiveCodebook.construct(
                reversed, indices: p + Slot.extraIndex, gainIndices: p + Slot.extraGain,
                memory: mem + memLength - stateMemory, memoryLength: stateMemory, length: diff)
            for k in 0..<diff { residual[startPosition - 1 - k] = reversed[k] }
        }

        var coded = 0
        let forward = mode.subblocks - start - 1
        if forward > 0 {
            for i in 0..<(memLength - Sizes.stateLength) { mem[i] = 0 }
            for i in 0..<Sizes.stateLength { mem[memLength - Sizes.stateLength + i] = residual[(start - 1) * subblock + i] }
            for sub in 0..<forward {
                let target = residual + (start + 1 + sub) * subblock
                AdaptiveCodebook.construct(
                    target, indices: p + Slot.index + coded * 3, gainIndices: p + Slot.gain + coded * 3,
                    memory: mem, memoryLength: memLength, length: subblock)
                shift(mem, memLength, appending: target)
                coded += 1
            }
        }

        let backward = start - 1
        if backward > 0 {
            var available = subblock * (mode.subblocks + 1 - start)
            if available > memLength { available = memLength }
            for k in 0..<available { mem[memLength - 1 - k] = residual[(start - 1) * subblock + k] }
            for i in 0..<(memLength - available) { mem[i] = 0 }
            for sub in 0..<backward {
                let target = reversed + sub * subblock
                AdaptiveCodebook.construct(
                    target, indices: p + Slot.index + coded * 3, gainIndices: p + Slot.gain + coded * 3,
                    memory: mem, memoryLength: memLength, length: subblock)
                shift(mem, memLength, appending: target)
                coded += 1
            }
            for i in 0..<(subblock * backward) { residual[subblock * backward - i - 1] = reversed[i] }
        }
    }

    /// Drops the oldest sub-block of the codebook memory and appends `block`.
    @inline(__always)
    static func shift(_ mem: FloatPointer, _ length: Int, appending block: ConstFloatPointer) {
        let subblock = Sizes.subblock
        for i in 0..<(length - subblock) { mem[i] = mem[i + subblock] }
        for i in 0..<subblock { mem[length - subblock + i] = block[i] }
    }
}
