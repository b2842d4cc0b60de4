import NIOCore
import RTP

/// Puts RTP/JPEG packets back together into JPEG files (RFC 2435 §4.3, Appendix B): fragments of
/// one timestamp in offset order, the frame complete when the marker packet arrives and no octet is
/// missing. A frame with a hole is dropped and counted, never half-written.
public struct JPEGFrameAssembler: Sendable {
    /// One rebuilt picture.
    public struct Frame: Hashable, Sendable {
        public var timestamp: UInt32
        public var width: Int
        public var height: Int
        /// A complete JPEG file (SOI … EOI).
        public var jpeg: [UInt8]
    }

    public private(set) var framesCompleted = 0
    public private(set) var framesDropped = 0
    public private(set) var packetsRejected = 0
    /// Largest frame accepted (scan octets).
    public var maxFrameSize: Int

    var timestamp: UInt32?
    var header: JPEGPayloadHeader?
    var tables: [UInt8]?
    var data: [UInt8] = []
    var broken = false
    var knownTables: [UInt8: [UInt8]] = [:]

    public init(maxFrameSize: Int = 8 << 20) { self.maxFrameSize = maxFrameSize }

    /// Takes one RTP packet (whole datagram). Returns a frame when this packet completed one.
    public mutating func add(packet: ByteBuffer) throws(RTPJPEGError) -> Frame? {
        var b = packet
        let rtp: RTPHeader
        let jh: JPEGPayloadHeader
        do {
            rtp = try RTPHeader(parsing: &b)
        } catch {
            packetsRejected += 1
            throw .rtp(error)
        }
        do {
            jh = try JPEGPayloadHeader(parsing: &b)
        } catch {
            packetsRejected += 1
            throw error
        }
        let (end, overflow) = jh.fragmentOffset.addingReportingOverflow(b.readableBytes)
        guard !overflow, end <= Swift.min(1 << 24, maxFrameSize) else { packetsRejected += 1; throw .offsetOverflow(end) }
        if timestamp != rtp.timestamp {
            if timestamp != nil, !data.isEmpty || broken { framesDropped += 1 }
            timestamp = rtp.timestamp
            header = nil
            tables = nil
            data.removeAll(keepingCapacity: true)
            broken = false
        }
        if jh.fragmentOffset == 0 {
            header = jh
            if let t = jh.quantizationTables { tables = t; if jh.q >= 128 && jh.q < 255 { knownTables[jh.q] = t } }
        }
        if jh.fragmentOffset != data.count { broken = true }
        if !broken { b.withUnsafeReadableBytes { data.append(contentsOf: $0) } }
        guard rtp.marker else { return nil }
        defer {
            data.removeAll(keepingCapacity: true)
            header = nil
            tables = nil
            broken = false
            timestamp = nil
        }
        guard !broken, let h = header else { framesDropped += 1; return nil }
        let q: [UInt8]
        if h.q < 128 { q = JPEGStandardTables.quantizationTables(q: h.q) } else if let t = tables ?? knownTables[h.q] { q = t } else {
            framesDropped += 1
            throw .missingQuantizationTables(q: h.q)
        }
        framesCompleted += 1
        return Frame(timestamp: rtp.timestamp, width: h.width, height: h.height,
                     jpeg: Self.jpegFile(header: h, tables: q, scan: data))
    }

    /// A JPEG file from RTP/JPEG parts (RFC 2435 Appendix B).
    public static func jpegFile(header h: JPEGPayloadHeader, tables: [UInt8], scan: [UInt8]) -> [UInt8] {
        var o: [UInt8] = [0xFF, 0xD8]
        let luma = Array(tables.prefix(64))
        let chroma = tables.count >= 128 ? Array(tables[64..<128]) : luma
        o += [0xFF, 0xDB, 0, 67, 0x00] + luma
        o += [0xFF, 0xDB, 0, 67, 0x01] + chroma
        if h.restartInterval != 0 { o += [0xFF, 0xDD, 0, 4, UInt8(h.restartInterval >> 8), UInt8(h.restartInterval & 0xFF)] }
        let base = h.type & 0x3F
        o += [0xFF, 0xC0, 0, 17, 8, UInt8(h.height >> 8), UInt8(h.height & 0xFF), UInt8(h.width >> 8), UInt8(h.width & 0xFF), 3,
              1, base == 0 ? 0x21 : 0x22, 0,
              2, 0x11, 1,
              3, 0x11, 1]
        o += JPEGStandardTables.huffmanSegment
        o += [0xFF, 0xDA, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]
        o += scan
        if !(scan.count >= 2 && scan[scan.count - 2] == 0xFF && scan[scan.count - 1] == 0xD9) { o += [0xFF, 0xD9] }
        return o
    }
}
