/// The two frame sizes of RFC 3951.
public enum ILBCMode: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// 20 ms frames: 160 samples, 38 bytes, 15.2 kbit/s.
    case ms20 = 20
    /// 30 ms frames: 240 samples, 50 bytes, 13.33 kbit/s.
    case ms30 = 30

    /// Samples per frame at 8 kHz.
    public var samplesPerFrame: Int { self == .ms20 ? 160 : 240 }
    /// Bytes per encoded frame.
    public var bytesPerFrame: Int { self == .ms20 ? 38 : 50 }
    /// Frame duration in milliseconds.
    public var milliseconds: Int { rawValue }

    public var description: String { "\(rawValue) ms" }

    /// Finds the mode whose frames are `byteCount` bytes long.
    public init?(bytesPerFrame byteCount: Int) {
        switch byteCount {
        case 38: self = .ms20
        case 50: self = .ms30
        default: return nil
        }
    }

    /// 40-sample sub-blocks per frame.
    var subblocks: Int { self == .ms20 ? 4 : 6 }
    /// Sub-blocks coded with the adaptive codebook (all but the two holding the start state).
    var codedSubblocks: Int { self == .ms20 ? 2 : 4 }
    /// LPC analyses (LSF vectors) per frame.
    var lpcAnalyses: Int { self == .ms20 ? 1 : 2 }
    /// Samples of the start state coded by the scalar quantiser.
    var scalarStateLength: Int { self == .ms20 ? 57 : 58 }
}

/// Sizes shared by both modes.
enum Sizes {
    static let maxBlock = 240
    static let subblock = 40
    static let stateLength = 80
    static let order = 10
    static let orderPlusOne = 11
    static let maxSubblocks = 6
    static let codebookMemory = 147
    static let startStateMemory = 85
    static let stages = 3
    static let lpcLookback = 60
    static let enhancerBlock = 80
    static let enhancerBlocksTotal = 8
    static let enhancerBuffer = 640
}

/// Scalar constants of the reference, rounded to single precision as the reference does.
enum Constants {
    static let twoPi = Float(6.283185307 as Double)
    static let pi = Float(3.14159265358979323846 as Double)
    static let inverseTwoPi = Float(0.159154943 as Double)
    static let epsilon = Float(2.220446049250313e-016 as Double)
    static let floatMax = Float(1.0e37 as Double)
    static let synthesisChirp = Float(0.9025 as Double)
    static let weightingChirp = Float(0.4222 as Double)
    static let maxCodebookGain = Float(1.3 as Double)
    static let enhancerAlpha = Float(0.05 as Double)
    static let lsfWeights30: [Float] = [Float(1.0 / 2.0), 1, Float(2.0 / 3.0), Float(1.0 / 3.0), 0, 0]
    static let lsfWeights20: [Float] = [Float(3.0 / 4.0), Float(2.0 / 4.0), Float(1.0 / 4.0), 0]
    static let lsfSplitDimensions = [3, 3, 4]
    static let lsfSplitSizes = [64, 128, 128]
}
