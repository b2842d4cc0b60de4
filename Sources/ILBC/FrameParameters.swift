/// Every quantisation index of one iLBC frame, and the normative bit layout (RFC 3951 §3.8)
/// that carries them.
///
/// Parameters are written in three classes of decreasing perceptual importance; each class
/// carries the next most significant bits of every parameter, most significant bit first.
public struct FrameParameters: Sendable, Equatable {
    /// The frame size these parameters belong to.
    public let mode: ILBCMode
    /// All indices in one flat buffer; see `Slot` for the layout.
    var slots: [Int32]

    /// Creates all-zero parameters for `mode`.
    public init(mode: ILBCMode) {
        self.mode = mode
        slots = [Int32](repeating: 0, count: Slot.count)
    }

    /// Reads one frame's parameters.
    ///
    /// - Throws: ``FrameError`` when the payload has the wrong size, carries the empty-frame
    ///   flag, or names a start-state position that does not exist.
    public init(parsing payload: some Collection<UInt8>, mode: ILBCMode) throws(FrameError) {
        self.init(mode: mode)
        guard payload.count == mode.bytesPerFrame else {
            throw .wrongSize(expected: mode.bytesPerFrame, got: payload.count)
        }
        let bytes = Array(payload)
        let emptyFlag = bytes.withUnsafeBufferPointer { read(from: $0) }
        if emptyFlag { throw .emptyFrameFlag }
        if let problem = validationProblem { throw problem }
    }

    /// Reads the parameters from a frame of exactly `mode.bytesPerFrame` bytes.
    /// Returns the frame's last bit, the empty-frame indicator.
    @discardableResult
    mutating func read(from bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var reader = BitReader(bytes)
        for i in 0..<Slot.count { slots[i] = 0 }
        let layout = BitLayout.layout(for: mode)
        slots.withUnsafeMutableBufferPointer { values in
            for ulpClass in 0..<3 {
                for field in layout {
                    let bits = field.bits[ulpClass]
                    if bits == 0 { continue }
                    values[field.slot] = (values[field.slot] << Int32(bits)) | Int32(reader.read(bits))
                }
            }
        }
        return reader.read(1) == 1
    }

    /// The reason the decoder must conceal this frame instead of decoding it, if any.
    var validationProblem: FrameError? {
        let start = Int(slots[Slot.start])
        let last = mode == .ms20 ? 3 : 5
        if start < 1 || start > last { return .invalidStartPosition(start) }
        return nil
    }

    /// Packs the frame into `out` (`mode.bytesPerFrame` bytes); the empty-frame flag is 0.
    func pack(into out: UnsafeMutableBufferPointer<UInt8>) {
        for i in 0..<mode.bytesPerFrame { out[i] = 0 }
        var position = 0
        let layout = BitLayout.layout(for: mode)
        slots.withUnsafeBufferPointer { values in
            for ulpClass in 0..<3 {
                for field in layout {
                    let bits = field.bits[ulpClass]
                    if bits == 0 { continue }
                    let value = Int(values[field.slot]) >> field.laterBits[ulpClass]
                    for i in stride(from: bits - 1, through: 0, by: -1) {
                        if (value >> i) & 1 == 1 { out[position >> 3] |= UInt8(0x80 >> (position & 7)) }
                        position += 1
                    }
                }
            }
        }
    }

    /// Writes the frame; the empty-frame flag is written as 0.
    public func write(to bytes: inout [UInt8]) {
        var writer = BitWriter(capacity: mode.bytesPerFrame)
        let layout = BitLayout.layout(for: mode)
        for ulpClass in 0..<3 {
            for field in layout {
                let bits = field.bits[ulpClass]
                if bits == 0 { continue }
                let value = Int(slots[field.slot]) >> field.laterBits[ulpClass]
                writer.write(value & ((1 << bits) - 1), bits: bits)
            }
        }
        writer.write(0, bits: 1)
        bytes.append(contentsOf: writer.bytes)
    }

    // MARK: Named views of the slots

    /// Split-VQ indices of the LSF vectors (3 per analysis).
    public var lsfIndices: ArraySlice<Int32> { slots[Slot.lsf..<(Slot.lsf + 3 * mode.lpcAnalyses)] }
    /// Sub-block (1-based) where the start state begins.
    public var startSubblock: Int { Int(slots[Slot.start]) }
    /// Whether the scalar-coded part of the start state comes first within its two sub-blocks.
    public var stateFirst: Bool { slots[Slot.stateFirst] != 0 }
    /// Index of the start state's maximum amplitude.
    public var scaleIndex: Int { Int(slots[Slot.scale]) }
}

/// Why a payload cannot be decoded as a frame.
public enum FrameError: Error, Equatable, Sendable, CustomStringConvertible {
    case wrongSize(expected: Int, got: Int)
    /// The frame's last bit is set: the sender marks it as empty/lost.
    case emptyFrameFlag
    /// The start-state position is outside the frame (a corrupted frame).
    case invalidStartPosition(Int)

    public var description: String {
        switch self {
        case let .wrongSize(expected, got): "an iLBC frame of this mode is \(expected) bytes, got \(got)"
        case .emptyFrameFlag: "the frame's empty-frame bit is set"
        case let .invalidStartPosition(p): "start state position \(p) does not exist in this mode"
        }
    }
}

/// Offsets of each parameter in `FrameParameters.slots`.
enum Slot {
    static let lsf = 0
    static let start = 6
    static let stateFirst = 7
    static let scale = 8
    static let state = 9
    static let extraIndex = 67
    static let extraGain = 70
    static let index = 73
    static let gain = 85
    static let count = 97
}

/// The normative order of the parameters and their bits per class (RFC 3951 Table 3.2).
enum BitLayout {
    struct Field {
        let slot: Int
        let bits: [Int]
        /// Bits of this field carried by the classes after each class.
        let laterBits: [Int]

        init(slot: Int, bits: [Int]) {
            self.slot = slot
            self.bits = bits
            laterBits = [bits[1] + bits[2], bits[2], 0]
        }
    }

    static let mode20 = build(
        lsf: [[6, 0, 0], [7, 0, 0], [7, 0, 0]],
        start: [2, 0, 0], scalarStateLength: 57,
        extraIndex: [[6, 0, 1], [0, 0, 7], [0, 0, 7]],
        extraGain: [[2, 0, 3], [1, 1, 2], [0, 0, 3]],
        index: [[[7, 0, 1], [0, 0, 7], [0, 0, 7]], [[0, 0, 8], [0, 0, 8], [0, 0, 8]]],
        gain: [[[1, 2, 2], [1, 1, 2], [0, 0, 3]], [[1, 1, 3], [0, 2, 2], [0, 0, 3]]]
    )

    static let mode30 = build(
        lsf: [[6, 0, 0], [7, 0, 0], [7, 0, 0], [6, 0, 0], [7, 0, 0], [7, 0, 0]],
        start: [3, 0, 0], scalarStateLength: 58,
        extraIndex: [[4, 2, 1], [0, 0, 7], [0, 0, 7]],
        extraGain: [[1, 1, 3], [1, 1, 2], [0, 0, 3]],
        index: [
            [[6, 1, 1], [0, 0, 7], [0, 0, 7]], [[0, 7, 1], [0, 0, 8], [0, 0, 8]],
            [[0, 7, 1], [0, 0, 8], [0, 0, 8]], [[0, 7, 1], [0, 0, 8], [0, 0, 8]],
        ],
        gain: [
            [[1, 2, 2], [1, 2, 1], [0, 0, 3]], [[0, 2, 3], [0, 2, 2], [0, 0, 3]],
            [[0, 1, 4], [0, 1, 3], [0, 0, 3]], [[0, 1, 4], [0, 1, 3], [0, 0, 3]],
        ]
    )

    static func layout(for mode: ILBCMode) -> [Field] { mode == .ms20 ? mode20 : mode30 }

    private static func build(
        lsf: [[Int]], start: [Int], scalarStateLength: Int,
        extraIndex: [[Int]], extraGain: [[Int]], index: [[[Int]]], gain: [[[Int]]]
    ) -> [Field] {
        var fields: [Field] = []
        for (k, bits) in lsf.enumerated() { fields.append(Field(slot: Slot.lsf + k, bits: bits)) }
        fields.append(Field(slot: Slot.start, bits: start))
        fields.append(Field(slot: Slot.stateFirst, bits: [1, 0, 0]))
        fields.append(Field(slot: Slot.scale, bits: [6, 0, 0]))
        for k in 0..<scalarStateLength { fields.append(Field(slot: Slot.state + k, bits: [0, 1, 2])) }
        for (k, bits) in extraIndex.enumerated() { fields.append(Field(slot: Slot.extraIndex + k, bits: bits)) }
        for (k, bits) in extraGain.enumerated() { fields.append(Field(slot: Slot.extraGain + k, bits: bits)) }
        for (i, stages) in index.enumerated() {
            for (k, bits) in stages.enumerated() { fields.append(Field(slot: Slot.index + 3 * i + k, bits: bits)) }
        }
        for (i, stages) in gain.enumerated() {
            for (k, bits) in stages.enumerated() { fields.append(Field(slot: Slot.gain + 3 * i + k, bits: bits)) }
        }
        return fields
    }
}

/// Reads bit fields most significant bit first.
struct BitReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var bitPosition = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func read(_ count: Int) -> Int {
        var value = 0
        for _ in 0..<count {
            let byte = bitPosition >> 3
            let bit = byte < bytes.count ? (Int(bytes[byte]) >> (7 - (bitPosition & 7))) & 1 : 0
            value = (value << 1) | bit
            bitPosition += 1
        }
        return value
    }
}

/// Writes bit fields most significant bit first.
struct BitWriter {
    var bytes: [UInt8]
    var bitPosition = 0

    init(capacity: Int) { bytes = [UInt8](repeating: 0, count: capacity) }

    mutating func write(_ value: Int, bits count: Int) {
        for i in stride(from: count - 1, through: 0, by: -1) {
            if (value >> i) & 1 == 1 { bytes[bitPosition >> 3] |= UInt8(0x80 >> (bitPosition & 7)) }
            bitPosition += 1
        }
    }
}
