import CTurboJPEG
import FoundationEssentials

/// A libturbojpeg failure, with its own message.
public struct JPEGCodecError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var description: String { "libturbojpeg: \(message)" }
}

/// Encodes camera pixels to JPEG and reads JPEG headers, through libturbojpeg.
///
/// Holds libturbojpeg handles: one instance per thread.
public final class JPEGCodec {
    private let compressor: tjhandle
    private let decompressor: tjhandle

    public init() {
        guard let c = tjInitCompress(), let d = tjInitDecompress() else {
            fatalError("libturbojpeg could not allocate a handle (out of memory)")
        }
        compressor = c
        decompressor = d
    }

    deinit {
        tjDestroy(compressor)
        tjDestroy(decompressor)
    }

    /// RGB (3 bytes per pixel, rows packed) to a 4:2:0 JPEG.
    public func encode(rgb: [UInt8], width: Int, height: Int, quality: Int) throws(JPEGCodecError) -> [UInt8] {
        precondition(rgb.count >= width * height * 3, "RGB buffer smaller than \(width)x\(height)")
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let rc = rgb.withUnsafeBufferPointer { pixels in
            tjCompress2(compressor, pixels.baseAddress, Int32(width), Int32(width * 3), Int32(height), Int32(TJPF_RGB.rawValue),
                        &output, &size, Int32(TJSAMP_420.rawValue), Int32(quality), 0)
        }
        return try finish(rc, output, size, handle: compressor)
    }

    /// Packed YUYV (Y0 Cb Y1 Cr) to a 4:2:2 JPEG, without a trip through RGB.
    public func encode(yuyv: [UInt8], width: Int, height: Int, bytesPerLine: Int, quality: Int) throws(JPEGCodecError) -> [UInt8] {
        let stride = max(bytesPerLine, width * 2)
        guard width % 2 == 0, yuyv.count >= stride * (height - 1) + width * 2 else {
            throw JPEGCodecError(message: "YUYV frame of \(yuyv.count) bytes is too small for \(width)x\(height)")
        }
        let chromaWidth = width / 2
        var y = [UInt8](repeating: 0, count: width * height)
        var u = [UInt8](repeating: 0, count: chromaWidth * height)
        var v = [UInt8](repeating: 0, count: chromaWidth * height)
        yuyv.withUnsafeBufferPointer { src in
            for row in 0..<height {
                let line = row * stride
                for pair in 0..<chromaWidth {
                    let s = line + pair * 4
                    y[row * width + pair * 2] = src[s]
                    u[row * chromaWidth + pair] = src[s + 1]
                    y[row * width + pair * 2 + 1] = src[s + 2]
                    v[row * chromaWidth + pair] = src[s + 3]
                }
            }
        }
        return try encodePlanes(y, u, v, width: width, height: height, chromaWidth: chromaWidth,
                                subsampling: Int32(TJSAMP_422.rawValue), quality: quality)
    }

    /// Planar I420 (Y, then U and V at half width and height) to a 4:2:0 JPEG.
    public func encode(i420: [UInt8], width: Int, height: Int, quality: Int) throws(JPEGCodecError) -> [UInt8] {
        let cw = (width + 1) / 2, ch = (height + 1) / 2
        guard i420.count >= width * height + 2 * cw * ch else {
            throw JPEGCodecError(message: "I420 frame of \(i420.count) bytes is too small for \(width)x\(height)")
        }
        let y = Array(i420[0..<(width * height)])
        let u = Array(i420[(width * height)..<(width * height + cw * ch)])
        let v = Array(i420[(width * height + cw * ch)..<(width * height + 2 * cw * ch)])
        return try encodePlanes(y, u, v, width: width, height: height, chromaWidth: cw,
                                subsampling: Int32(TJSAMP_420.rawValue), quality: quality)
    }

    private func encodePlanes(_ y: [UInt8], _ u: [UInt8], _ v: [UInt8], width: Int, height: Int, chromaWidth: Int,
                              subsampling: Int32, quality: Int) throws(JPEGCodecError) -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let strides: [Int32] = [Int32(width), Int32(chromaWidth), Int32(chromaWidth)]
        let rc = y.withUnsafeBufferPointer { yp in
            u.withUnsafeBufferPointer { up in
                v.withUnsafeBufferPointer { vp in
                    var planes: [UnsafePointer<UInt8>?] = [yp.baseAddress, up.baseAddress, vp.baseAddress]
                    return tjCompressFromYUVPlanes(compressor, &planes, Int32(width), strides, Int32(height),
                                                   subsampling, &output, &size, Int32(quality), 0)
                }
            }
        }
        return try finish(rc, output, size, handle: compressor)
    }

    /// Width and height from a JPEG's header.
    public func size(of jpeg: [UInt8]) throws(JPEGCodecError) -> (width: Int, height: Int) {
        var w: Int32 = 0, h: Int32 = 0, sub: Int32 = 0, colorspace: Int32 = 0
        let rc = jpeg.withUnsafeBufferPointer { tjDecompressHeader3(decompressor, $0.baseAddress, UInt($0.count), &w, &h, &sub, &colorspace) }
        guard rc == 0 else { throw JPEGCodecError(message: String(cString: tjGetErrorStr2(decompressor))) }
        return (Int(w), Int(h))
    }

    /// Decodes a whole JPEG to RGB; fails on anything libjpeg-turbo will not
    /// decode cleanly (missing Huffman tables, truncation).
    public func decodeRGB(_ jpeg: [UInt8]) throws(JPEGCodecError) -> (rgb: [UInt8], width: Int, height: Int) {
        let (width, height) = try size(of: jpeg)
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        let rc = jpeg.withUnsafeBufferPointer { src in
            rgb.withUnsafeMutableBufferPointer { dst in
                tjDecompress2(decompressor, src.baseAddress, UInt(src.count), dst.baseAddress,
                              Int32(width), Int32(width * 3), Int32(height), Int32(TJPF_RGB.rawValue), 0)
            }
        }
        guard rc == 0 else { throw JPEGCodecError(message: String(cString: tjGetErrorStr2(decompressor))) }
        return (rgb, width, height)
    }

    private func finish(_ rc: Int32, _ output: UnsafeMutablePointer<UInt8>?, _ size: UInt, handle: tjhandle) throws(JPEGCodecError) -> [UInt8] {
        defer { if let output { tjFree(output) } }
        guard rc == 0, let output else { throw JPEGCodecError(message: String(cString: tjGetErrorStr2(handle))) }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }
}

/// Why an MJPEG frame is not a usable JPEG.
public enum JPEGStructureError: Error, Sendable, Hashable, CustomStringConvertible {
    case noStartOfImage
    case truncated(at: Int)
    case noScan
    case noEndOfImage

    public var description: String {
        switch self {
        case .noStartOfImage: "the frame does not start with a JPEG SOI marker"
        case .truncated(let at): "the frame ends inside a JPEG segment at byte \(at)"
        case .noScan: "the frame has no JPEG scan (SOS)"
        case .noEndOfImage: "the frame has no JPEG EOI marker; it was cut short"
        }
    }
}

/// Turns camera MJPEG frames into standalone JPEG files.
///
/// UVC cameras leave the Huffman tables out of their MJPEG frames (the AVI
/// MJPEG convention: decoders are to use the standard tables of JPEG Annex K).
/// A JPEG interchange file must carry them: libjpeg-turbo and ffmpeg guess
/// the standard ones, other decoders reject the picture, so they are put back.
public enum MJPEGFrame {
    /// The standard (Annex K) Huffman tables as DHT segments. libjpeg-turbo
    /// writes exactly these when it does not optimise, so they are taken from
    /// a small picture it encodes rather than typed in.
    public static let standardHuffmanTables: [UInt8] = {
        let codec = JPEGCodec()
        var rgb = [UInt8](repeating: 0, count: 16 * 16 * 3)
        for i in rgb.indices { rgb[i] = UInt8(truncatingIfNeeded: i &* 37) }
        guard let jpeg = try? codec.encode(rgb: rgb, width: 16, height: 16, quality: 75) else { return [] }
        var tables: [UInt8] = []
        var offset = 2
        while offset + 4 <= jpeg.count, jpeg[offset] == 0xFF {
            let marker = jpeg[offset + 1]
            let length = Int(jpeg[offset + 2]) << 8 | Int(jpeg[offset + 3])
            if marker == 0xC4 { tables += jpeg[offset..<(offset + 2 + length)] }
            if marker == 0xDA { break }
            offset += 2 + length
        }
        return tables
    }()

    /// The frame as a complete JPEG: Huffman tables added when missing, bytes
    /// after EOI dropped. Throws for frames that are not JPEG or are cut short.
    public static func completedJPEG(_ frame: [UInt8]) throws(JPEGStructureError) -> [UInt8] {
        guard frame.count >= 4, frame[0] == 0xFF, frame[1] == 0xD8 else { throw .noStartOfImage }
        var offset = 2
        var sawTables = false
        var scanStart: Int?
        while offset < frame.count {
            guard frame[offset] == 0xFF, offset + 1 < frame.count else { throw .truncated(at: offset) }
            let marker = frame[offset + 1]
            if marker == 0xFF { offset += 1; continue }           // fill byte
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 { offset += 2; continue }
            if marker == 0xD9 { throw .noScan }
            guard offset + 4 <= frame.count else { throw .truncated(at: offset) }
            let length = Int(frame[offset + 2]) << 8 | Int(frame[offset + 3])
            guard length >= 2, offset + 2 + length <= frame.count else { throw .truncated(at: offset) }
            if marker == 0xC4 { sawTables = true }
            if marker == 0xDA { scanStart = offset; break }
            offset += 2 + length
        }
        guard let scanStart else { throw .noScan }
        // The last EOI: entropy-coded data cannot contain FF D9 (FF is stuffed).
        var end = frame.count - 2
        while end > scanStart, !(frame[end] == 0xFF && frame[end + 1] == 0xD9) { end -= 1 }
        guard end > scanStart else { throw .noEndOfImage }
        if sawTables { return Array(frame[..<(end + 2)]) }
        return Array(frame[..<scanStart]) + standardHuffmanTables + frame[scanStart..<(end + 2)]
    }
}
