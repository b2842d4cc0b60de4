import RTP

/// Every way an RTP/JPEG packet, or a JPEG picture offered for sending, can be unusable.
public enum RTPJPEGError: Error, Hashable, Sendable {
    /// The RTP header (RFC 3550 §5.1), read by the `RTP` target.
    case rtp(RTPParseError)
    // RTP/JPEG payload headers (RFC 2435 §3.1)
    /// Fewer octets than the JPEG payload header being read needs.
    case truncated(needed: Int, available: Int)
    /// A Type this receiver cannot rebuild (only 0, 1, 64, 65).
    case unsupportedType(UInt8)
    /// Q 0 or 100–127 (reserved).
    case reservedQ(UInt8)
    /// Width or height of 0.
    case zeroSize
    /// Restart Interval of 0 in a type 64/65 packet.
    case zeroRestartInterval
    /// A Quantization Table header whose length is not 0/64/128/192 or overruns the packet.
    case badQuantizationLength(Int)
    /// Q ≥ 128 without the tables in the first packet (and none known for that Q).
    case missingQuantizationTables(q: UInt8)
    /// Fragment offset plus length past 2^24.
    case offsetOverflow(Int)
    // JPEG pictures to send
    case notJPEG
    case jpegTruncated(at: Int)
    /// Not baseline sequential 8-bit (SOF0): progressive, lossless, 12-bit...
    case notBaseline(marker: UInt8)
    /// Not three components with 4:2:0 or 4:2:2 sampling (RFC 2435 types 0 and 1).
    case unsupportedSampling(String)
    /// Huffman tables other than the standard ones (RFC 2435 requires those).
    case nonStandardHuffmanTables
    /// A 16-bit quantization table or one not defined.
    case badQuantizationTable(id: Int)
    /// Width or height not in 8…2040 or not a multiple of 8.
    case unsupportedSize(width: Int, height: Int)
    case noScan
    case frameTooLarge(Int)

    public var counterName: String {
        switch self {
        case .rtp: "bad_rtp"
        case .truncated, .unsupportedType, .reservedQ, .zeroSize, .zeroRestartInterval, .badQuantizationLength, .missingQuantizationTables, .offsetOverflow: "bad_jpeg_header"
        default: "bad_picture"
        }
    }
}
