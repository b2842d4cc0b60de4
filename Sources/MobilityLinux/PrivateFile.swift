#if canImport(Glibc)
import Glibc
#endif

/// Writes a file only its owner may read (the MN-HA key is in it), atomically: a temporary file in
/// the same directory, synced, then renamed over the old one, so a crash or power cut leaves
/// either the old file or the new one, never half of one.
enum PrivateFile {
    static func write(_ bytes: [UInt8], to path: String) throws(ServiceJoinError) {
        let directory = parent(of: path)
        try makeDirectories(directory, for: path)
        let base = path.split(separator: "/").last.map(String.init) ?? path
        var template = Array("\(directory)/.\(base).XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw .writeFailed(path: path, step: "create a temporary file", errno: errno) }
        let temporary = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var renamed = false
        defer {
            if !renamed { unlink(temporary) }
        }
        try fill(fd, with: bytes, path: path)
        guard rename(temporary, path) == 0 else { throw .writeFailed(path: path, step: "rename", errno: errno) }
        renamed = true
        // The rename itself is durable once the directory is synced (best effort: not every
        // file system lets a directory be opened for that).
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    /// Writes `bytes` to the new file `fd`, 0600, and syncs it; closes `fd` in every case.
    private static func fill(_ fd: Int32, with bytes: [UInt8], path: String) throws(ServiceJoinError) {
        defer { close(fd) }
        // mkstemp makes 0600 already; said again so nothing can have loosened it.
        guard fchmod(fd, 0o600) == 0 else { throw .writeFailed(path: path, step: "chmod", errno: errno) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress.map { $0 + offset }, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .writeFailed(path: path, step: "write", errno: errno)
            }
            offset += n
        }
        guard fsync(fd) == 0 else { throw .writeFailed(path: path, step: "sync", errno: errno) }
    }

    /// The directory part of `path` ("." for a bare name, "/" for a file in the root).
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let p = String(path[..<slash])
        return p.isEmpty ? "/" : p
    }

    /// Creates `directory` and any missing parents, 0700 each (they will hold a secret).
    private static func makeDirectories(_ directory: String, for path: String) throws(ServiceJoinError) {
        var st = stat()
        if stat(directory, &st) == 0 { return }
        var prefix = directory.hasPrefix("/") ? "" : "."
        for part in directory.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw .writeFailed(path: path, step: "create directory \(prefix)", errno: errno)
            }
        }
    }
}
