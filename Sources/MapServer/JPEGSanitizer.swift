/// Why a picture body was refused.
public enum JPEGError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The body does not start with SOI (FF D8): not a JPEG (PNG, GIF, … are refused).
    case notJPEG
    /// A segment runs past the end of the body, or a marker is where none may be.
    case malformed(offset: Int)
    /// The body ends before EOI (FF D9).
    case truncated

    public var description: String {
        switch self {
        case .notJPEG: "the body is not a JPEG (it must start with FF D8; PNG and other formats are refused)"
        case .malformed(let offset): "the JPEG is malformed at byte \(offset)"
        case .truncated: "the JPEG ends before its end marker (FF D9)"
        }
    }
}

/// Removes metadata from a baseline or progressive JPEG without re-encoding it: every APP1…APP15
/// segment (EXIF with its GPS position, XMP, ICC, maker notes, Photoshop IRB, …) and every COM
/// segment goes; APP0 (JFIF), tables, frame and scan headers and the entropy-coded data stay
/// byte for byte. Anything after EOI is dropped. A picture stored this way carries no position
/// of its own: the only position the public sees is the record's, rounded to the vehicle's
/// public precision.
public enum JPEGSanitizer {
    public static func strip(_ b: [UInt8]) throws(JPEGError) -> [UInt8] {
        guard b.count >= 2, b[0] == 0xFF, b[1] == 0xD8 else { throw .notJPEG }
        var out: [UInt8] = [0xFF, 0xD8]
        out.reserveCapacity(b.count)
        var i = 2
        while true {
            // A marker: one or more FF fill bytes, then the marker code.
            guard i < b.count else { throw .truncated }
            guard b[i] == 0xFF else { throw .malformed(offset: i) }
            while i < b.count && b[i] == 0xFF { i += 1 }
            guard i < b.count else { throw .truncated }
            let marker = b[i]
            i += 1
            switch marker {
            case 0xD9:
                out += [0xFF, 0xD9]
                return out
            case 0x00, 0xD8:
                throw .malformed(offset: i - 1)
            case 0x01, 0xD0...0xD7:
                // Standalone markers (TEM, RSTn) outside entropy-coded data: keep, no length.
                out += [0xFF, marker]
                continue
            default:
                break
            }
            guard i + 2 <= b.count else { throw .truncated }
            let length = Int(b[i]) << 8 | Int(b[i + 1])
            guard length >= 2 else { throw .malformed(offset: i) }
            guard length <= b.count - i else { throw .truncated }
            let segmentEnd = i + length
            let drop = (0xE1...0xEF).contains(marker) || marker == 0xFE
            if !drop {
                out += [0xFF, marker]
                out += b[i..<segmentEnd]
            }
            i = segmentEnd
            if marker == 0xDA {
                // Entropy-coded data runs to the next marker that is not stuffing (FF 00) or a restart (FF D0–D7).
                let start = i
                while i < b.count {
                    if b[i] == 0xFF, i + 1 < b.count {
                        let next = b[i + 1]
                        if next == 0x00 || (0xD0...0xD7).contains(next) { i += 2; continue }
                        if next == 0xFF { i += 1; continue }
                        break
                    }
                    i += 1
                }
                guard i < b.count else { throw .truncated }
                out += b[start..<i]
            }
        }
    }
}
