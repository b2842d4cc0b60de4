import Foundation
import NIOPosix

/// Picture bytes on disk: `pictures/VEHICLE/SEQ.jpg`, written to a temporary file, flushed and
/// renamed into place, so a picture the database knows is always whole on disk. The blocking
/// file calls run on NIO's blocking-I/O thread pool, never on Swift's cooperative pool (an fsync
/// of 4 MiB on a slow card must not stall every request).
struct PictureFiles: Sendable {
    let root: String
    let threadPool: NIOThreadPool

    init(root: String, threadPool: NIOThreadPool = .singleton) {
        self.root = root
        self.threadPool = threadPool
    }

    func path(vehicleID: String, seq: UInt64) -> String {
        "\(root)/\(vehicleID)/\(seq).jpg"
    }

    func write(_ bytes: [UInt8], vehicleID: String, seq: UInt64) async throws {
        try await threadPool.runIfActive { try writeBlocking(bytes, vehicleID: vehicleID, seq: seq) }
    }

    func read(vehicleID: String, seq: UInt64) async -> Data? {
        let path = path(vehicleID: vehicleID, seq: seq)
        return try? await threadPool.runIfActive { FileManager.default.contents(atPath: path) }
    }

    func remove(vehicleID: String, seq: UInt64) {
        unlink(path(vehicleID: vehicleID, seq: seq))
    }

    func writeBlocking(_ bytes: [UInt8], vehicleID: String, seq: UInt64) throws {
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

    /// Deletes files no record points at: temporary files of writes that never finished, and
    /// pictures whose row never committed (a crash or a failed commit between the file and the row).
    /// `isKnown(vehicle, seq)` says whether the database has that picture. Returns the paths removed.
    /// Files younger than `minimumAge` stay: with several server instances on one shared folder,
    /// another instance may have written the file and not yet committed its row.
    func removeOrphans(minimumAge: Duration = .zero, isKnown: (String, UInt64) async throws -> Bool) async throws -> [String] {
        let fm = FileManager.default
        var removed: [String] = []
        for vehicle in (try? fm.contentsOfDirectory(atPath: root)) ?? [] {
            let dir = "\(root)/\(vehicle)"
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] {
                let orphan: Bool
                if minimumAge > .zero {
                    var st = stat()
                    guard stat("\(dir)/\(name)", &st) == 0,
                          Double(time(nil) - st.st_mtim.tv_sec) >= Double(minimumAge.components.seconds) else { continue }
                }
                if name.hasSuffix(".tmp") {
                    orphan = true
                } else if name.hasSuffix(".jpg"), let seq = UInt64(name.dropLast(4)) {
                    orphan = try await !isKnown(vehicle, seq)
                } else {
                    orphan = false
                }
                if orphan, unlink("\(dir)/\(name)") == 0 { removed.append("\(dir)/\(name)") }
            }
        }
        return removed
    }
}
