/// What RTP/JPEG needs of a baseline JPEG picture (RFC 2435 §3.1, §4): its RTP/JPEG Type (0 for
/// 4:2:2, 1 for 4:2:0, +64 with restart markers), size, the two 8-bit quantization tables (zig-zag
/// order), the restart interval and where the entropy-coded scan data lies in the file.
public struct JPEGPicture: Hashable, Sendable {
    public var type: UInt8
    public var width: Int
    public var height: Int
    /// Luminance table then chrominance table, 64 octets each.
    public var quantizationTables: [UInt8]
    public var restartInterval: UInt16
    /// The scan data (after SOS, up to but not including EOI).
    public var scan: Range<Int>

    /// Reads the picture's structure; refuses what RTP/JPEG types 0/1 cannot carry.
    public init(_ jpeg: [UInt8]) throws(RTPJPEGError) {
        guard jpeg.count >= 4, jpeg[0] == 0xFF, jpeg[1] == 0xD8 else { throw .notJPEG }
        var i = 2
        var tables: [Int: [UInt8]] = [:]
        var huffman: [UInt8: [UInt8]] = [:]
        var sof: (w: Int, h: Int, comps: [(id: UInt8, h: UInt8, v: UInt8, tq: Int)])?
        var dri: UInt16 = 0
        var scanStart: Int?
        while i < jpeg.count {
            guard jpeg[i] == 0xFF, i + 1 < jpeg.count else { throw .jpegTruncated(at: i) }
            let marker = jpeg[i + 1]
            if marker == 0xFF { i += 1; continue }
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { i += 2; continue }
            if marker == 0xD9 { throw .noScan }
            guard i + 4 <= jpeg.count else { throw .jpegTruncated(at: i) }
            let length = Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3])
            guard length >= 2, i + 2 + length <= jpeg.count else { throw .jpegTruncated(at: i) }
            let body = Array(jpeg[(i + 4)..<(i + 2 + length)])
            switch marker {
            case 0xC0:
                guard body.count >= 6, body[0] == 8 else { throw .notBaseline(marker: marker) }
                let h = Int(body[1]) << 8 | Int(body[2])
                let w = Int(body[3]) << 8 | Int(body[4])
                let n = Int(body[5])
                guard body.count >= 6 + 3 * n else { throw .jpegTruncated(at: i) }
                var comps: [(id: UInt8, h: UInt8, v: UInt8, tq: Int)] = []
                for k in 0..<n {
                    let id: UInt8 = body[6 + 3 * k]
                    let hv: UInt8 = body[7 + 3 * k]
                    let tq: Int = Int(body[8 + 3 * k])
                    comps.append((id: id, h: hv >> 4, v: hv & 0x0F, tq: tq))
                }
                sof = (w: w, h: h, comps: comps)
            case 0xC1...0xC3, 0xC5...0xC7, 0xC9...0xCB, 0xCD...0xCF:
                throw .notBaseline(marker: marker)
            case 0xDB:
                var k = 0
                while k < body.count {
                    let pq = body[k] >> 4
                    let tq = Int(body[k] & 0x0F)
                    guard pq == 0 else { throw .badQuantizationTable(id: tq) }
                    guard k + 65 <= body.count else { throw .jpegTruncated(at: i) }
                    tables[tq] = Array(body[(k + 1)..<(k + 65)])
                    k += 65
                }
            case 0xC4:
                var k = 0
                while k < body.count {
                    guard k + 17 <= body.count else { throw .jpegTruncated(at: i) }
                    let n = body[(k + 1)..<(k + 17)].reduce(0) { $0 + Int($1) }
                    guard k + 17 + n <= body.count else { throw .jpegTruncated(at: i) }
                    huffman[body[k]] = Array(body[(k + 1)..<(k + 17 + n)])
                    k += 17 + n
                }
            case 0xDD:
                guard body.count >= 2 else { throw .jpegTruncated(at: i) }
                dri = UInt16(body[0]) << 8 | UInt16(body[1])
            case 0xDA:
                scanStart = i + 2 + length
            default:
                break
            }
            if scanStart != nil { break }
            i += 2 + length
        }
        guard let sof else { throw .notBaseline(marker: 0) }
        guard let scanStart else { throw .noScan }
        // Huffman: absent (UVC MJPEG: the standard ones implied) or exactly the standard ones.
        for (k, v) in huffman where JPEGStandardTables.huffmanTables[k] != v { throw .nonStandardHuffmanTables }
        let c = sof.comps
        guard c.count == 3, c[1].h == 1, c[1].v == 1, c[2].h == 1, c[2].v == 1, c[1].tq == c[2].tq else {
            throw .unsupportedSampling(c.map { "\($0.h)x\($0.v)" }.joined(separator: ","))
        }
        let base: UInt8
        switch (c[0].h, c[0].v) {
        case (2, 1): base = 0
        case (2, 2): base = 1
        default: throw .unsupportedSampling(c.map { "\($0.h)x\($0.v)" }.joined(separator: ","))
        }
        guard sof.w > 0, sof.h > 0, sof.w <= 2040, sof.h <= 2040, sof.w % 8 == 0, sof.h % 8 == 0 else {
            throw .unsupportedSize(width: sof.w, height: sof.h)
        }
        guard let luma = tables[c[0].tq] else { throw .badQuantizationTable(id: c[0].tq) }
        guard let chroma = tables[c[1].tq] else { throw .badQuantizationTable(id: c[1].tq) }
        // The end: the last EOI (entropy-coded data cannot hold FF D9), or the end of the file.
        var end = jpeg.count
        if end >= scanStart + 2, jpeg[end - 2] == 0xFF, jpeg[end - 1] == 0xD9 { end -= 2 } else {
            var e = jpeg.count - 2
            while e >= scanStart, !(jpeg[e] == 0xFF && jpeg[e + 1] == 0xD9) { e -= 1 }
            if e >= scanStart { end = e }
        }
        guard end - scanStart < 1 << 24 else { throw .frameTooLarge(end - scanStart) }
        type = base + (dri != 0 ? 64 : 0)
        width = sof.w
        height = sof.h
        quantizationTables = luma + chroma
        restartInterval = dri
        scan = scanStart..<end
    }
}
