import Foundation

/// Picture bytes on disk: `pictures/VEHICLE/SEQ.jpg`, written to a temporary file, flushed and
/// renamed into place, so a picture the database knows is always whole on disk.
struct PictureFiles: Sendable {
    let root: String

    func path(vehicleID: String, seq: UInt64) -> String {
        "\(root)/\(vehicleID)/\(seq).jpg"
    }

    func write(_ bytes: [UInt8], vehicleID: String, seq: UInt64) throws {
        let dir = "\(root)/\(vehicleID)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let final = path(vehicleID: vehicleID, seq: seq)
        let temp = "\(final).\(UUID().uuidString).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var ok = true
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { ok = false; return }
                offset += n
            }
        }
        if ok { ok = fsync(fd) == 0 }
        close(fd)
        guard ok, rename(temp, final) == 0 else {
            unlink(temp)
            throw POSIXError(.EIO)
        }
        let dfd = open(dir, O_RDONLY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    func read(vehicleID: String, seq: UInt64) -> Data? {
        FileManager.default.contents(atPath: path(vehicleID: vehicleID, seq: seq))
    }

    func remove(vehicleID: String, seq: UInt64) {
        unlink(path(vehicleID: vehicleID, seq: seq))
    }

    /// True when the bytes look like a whole JPEG (SOI at the start, EOI at the end).
    static func isJPEG(_ b: [UInt8]) -> Bool {
        b.count >= 4 && b[0] == 0xFF && b[1] == 0xD8 && b[b.count - 2] == 0xFF && b[b.count - 1] == 0xD9
    }
}
