/// The iLBC file format of RFC 3952 §4: a `#!iLBC20\n` or `#!iLBC30\n` header, then frames
/// back to back.
public struct ILBCFile: Sendable, Equatable {
    /// The header's frame size.
    public var mode: ILBCMode
    /// The frames, each `mode.bytesPerFrame` bytes.
    public var frames: [[UInt8]]

    public init(mode: ILBCMode, frames: [[UInt8]] = []) {
        self.mode = mode
        self.frames = frames
    }

    /// The 9-byte header for `mode`.
    public static func header(for mode: ILBCMode) -> [UInt8] { Array("#!iLBC\(mode.rawValue)\n".utf8) }

    /// Parses a whole file.
    public init(parsing bytes: [UInt8]) throws(StorageFormatError) {
        guard bytes.count >= 9, bytes.starts(with: Array("#!iLBC".utf8)), bytes[8] == 0x0A else {
            throw .missingHeader
        }
        let tag = String(decoding: bytes[6..<8], as: UTF8.self)
        guard let value = Int(tag), let mode = ILBCMode(rawValue: value) else { throw .unknownMode(tag) }
        let body = bytes.count - 9
        let size = mode.bytesPerFrame
        guard body % size == 0 else {
            throw .truncated(mode: mode, frames: body / size, extraBytes: body % size)
        }
        self.mode = mode
        frames = stride(from: 9, to: bytes.count, by: size).map { Array(bytes[$0..<($0 + size)]) }
    }

    /// Appends the file's bytes to `bytes`.
    public func write(to bytes: inout [UInt8]) {
        bytes.reserveCapacity(bytes.count + 9 + frames.count * mode.bytesPerFrame)
        bytes += Self.header(for: mode)
        for frame in frames { bytes += frame }
    }

    /// The file's bytes.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        write(to: &out)
        return out
    }
}

/// Why bytes are not an iLBC file.
public enum StorageFormatError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingHeader
    case unknownMode(String)
    case truncated(mode: ILBCMode, frames: Int, extraBytes: Int)

    public var description: String {
        switch self {
        case .missingHeader:
            "not an iLBC file: it must start with \"#!iLBC20\\n\" or \"#!iLBC30\\n\" (RFC 3952 §4)"
        case let .unknownMode(tag):
            "iLBC header names mode \"\(tag)\"; only 20 and 30 exist"
        case let .truncated(mode, frames, extra):
            "iLBC file (\(mode)) ends in a partial frame: \(frames) whole frames of \(mode.bytesPerFrame) bytes, then \(extra) bytes"
        }
    }
}
