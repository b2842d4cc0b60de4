import Foundation

/// The project's read-only `shared` folder (vectors, traces, peers, specs): `$NAUTILUS_SHARED`, else the
/// first folder named `shared` holding `vectors/` beside the package root or one of its ancestors.
public enum SharedFolder {
    /// The folder, or an error that says where it was looked for and what to do.
    public static func root() throws(SharedFolderMissing) -> URL {
        if let url = located { return url }
        throw SharedFolderMissing(searchedFrom: packageRoot.path)
    }

    /// A file or folder inside it, e.g. `url("vectors/ilbc")`.
    public static func url(_ relativePath: String) throws(SharedFolderMissing) -> URL {
        try root().appendingPathComponent(relativePath)
    }

    /// The package root (the folder holding Package.swift).
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url = url.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    }()

    private static let located: URL? = {
        if let env = ProcessInfo.processInfo.environment["NAUTILUS_SHARED"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        var url = packageRoot
        while url.path != "/" {
            let candidate = url.deletingLastPathComponent().appendingPathComponent("shared")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("vectors").path) { return candidate }
            url = url.deletingLastPathComponent()
        }
        return nil
    }()
}

/// The shared folder is not where the tests look for it.
public struct SharedFolderMissing: Error, CustomStringConvertible {
    public let searchedFrom: String
    public var description: String {
        "no folder named `shared` with vectors/ beside \(searchedFrom) or above it; set NAUTILUS_SHARED to the project's shared folder"
    }
}

/// The bytes of one SIP torture message, `vectors/sip-torture/NAME.dat`.
public func tortureMessage(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: try SharedFolder.url("vectors/sip-torture/\(name).dat")))
}
