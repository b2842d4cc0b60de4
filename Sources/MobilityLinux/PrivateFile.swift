import SystemSupport
#if canImport(Glibc)
import Glibc
#endif

/// Writes the router's file, which holds the MN-HA key, as `SystemSupport.PrivateFileWriter` does
/// (0600, atomic, synced), creating missing directories 0700 first.
enum PrivateFile {
    static func write(_ bytes: [UInt8], to path: String) throws(ServiceJoinError) {
        try makeDirectories(PrivateFileWriter.directory(of: path), for: path)
        do {
            try PrivateFileWriter.write(bytes, to: path)
        } catch {
            throw .writeFailed(path: path, step: error.step, errno: error.errno)
        }
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
