import FoundationEssentials
import SystemSupport
import Glibc
import Mobility

/// The home agent's saved binding cache: `bindings.json` in the state directory, written
/// atomically (temporary file, fsync, rename, fsync of the directory) with mode 0600 on every
/// change, read back at start.
public struct BindingCacheStore: Sendable {
    public let directory: String
    public var path: String { directory + "/bindings.json" }

    /// Creates the directory (0700) when missing.
    public init(directory: String) throws {
        self.directory = directory
        var isDirectory = false
        if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw ConfigurationError("stateDirectory \(directory): cannot create it (\(fileErrorReason(error))); give a writable directory with --state-dir")
            }
        } else if !isDirectory {
            throw ConfigurationError("stateDirectory \(directory) is not a directory")
        }
    }

    /// What was found at start.
    public enum Loaded {
        case none
        case snapshot(BindingCacheSnapshot)
        /// Unreadable: moved aside to `movedTo`, the home agent starts empty.
        case corrupt(movedTo: String, reason: String)
    }

    public func load() -> Loaded {
        guard let data = FileManager.default.contents(atPath: path) else { return .none }
        do {
            return .snapshot(try JSONDecoder().decode(BindingCacheSnapshot.self, from: data))
        } catch {
            let aside = path + ".corrupt-\(Int(Date().timeIntervalSince1970))"
            _ = rename(path, aside)
            return .corrupt(movedTo: aside, reason: "\(error)")
        }
    }

    /// Replaces the file with `snapshot` so that a crash at any moment leaves the old or the new one.
    /// The JSON is written entry by entry (the same bytes as encoding the whole snapshot at once,
    /// `{"entries":[…],"version":N}`), so saving 100,000 bindings never holds the whole encoded tree.
    public func save(_ snapshot: BindingCacheSnapshot) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let writer: PrivateFileWriter
        do { writer = try PrivateFileWriter(replacing: path) } catch { throw SystemError("\(error.step) for \(path)", code: error.errno) }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        do {
            buffer += Array(#"{"entries":["#.utf8)
            for (i, entry) in snapshot.entries.enumerated() {
                if i > 0 { buffer.append(UInt8(ascii: ",")) }
                buffer += try encoder.encode(entry)
                if buffer.count >= 1 << 20 {
                    try writer.write(buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            buffer += Array(#"],"version":\#(snapshot.version)}"#.utf8)
            try writer.write(buffer)
            try writer.commit()
        } catch let error as PrivateFileError {
            throw SystemError("\(error.step) \(path)", code: error.errno)
        }
    }
}
