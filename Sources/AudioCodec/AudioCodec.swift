/// A speech codec as the softphone uses it: fixed-size frames of 16-bit mono samples in,
/// opaque payloads out, and back.
///
/// Conforming types are value types holding the state of one direction pair (one call);
/// they keep no global state, so any number of instances may run on any threads.
public protocol AudioCodec: Sendable {
    /// Sampling rate of the samples passed to ``encode(_:)`` and returned by ``decode(_:)``.
    var sampleRate: Int { get }
    /// Number of samples in one frame (for example 160 for 20 ms at 8 kHz).
    var samplesPerFrame: Int { get }

    /// Encodes exactly ``samplesPerFrame`` samples into one payload.
    mutating func encode(_ samples: [Int16]) throws(AudioCodecError) -> [UInt8]

    /// Decodes one payload into ``samplesPerFrame`` samples.
    ///
    /// Pass `nil` when the frame was lost: the codec then conceals the gap from its history.
    mutating func decode(_ payload: [UInt8]?) throws(AudioCodecError) -> [Int16]
}

/// Why a codec refused a frame.
public enum AudioCodecError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `encode` got a frame of the wrong length.
    case wrongSampleCount(expected: Int, got: Int)
    /// `decode` got a payload whose size is not one this codec produces.
    case wrongPayloadSize(expected: [Int], got: Int)
    /// The payload has the right size but cannot be decoded.
    case malformedPayload(String)

    public var description: String {
        switch self {
        case let .wrongSampleCount(expected, got):
            "a frame must have \(expected) samples, got \(got)"
        case let .wrongPayloadSize(expected, got):
            "a payload must be \(expected.map(String.init).joined(separator: " or ")) bytes, got \(got)"
        case let .malformedPayload(why):
            "malformed payload: \(why)"
        }
    }
}
