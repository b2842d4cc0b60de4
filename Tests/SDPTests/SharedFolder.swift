import Foundation

/// The read-only `shared` folder: `$NAUTILUS_SHARED`, else found by walking up from this
/// file until a directory holds a child named `shared`.
func sharedFolder(_ file: String = #filePath) -> URL? {
    if let env = ProcessInfo.processInfo.environment["NAUTILUS_SHARED"], !env.isEmpty {
        return URL(fileURLWithPath: env)
    }
    var dir = URL(fileURLWithPath: file).deletingLastPathComponent()
    while dir.path != "/" {
        let candidate = dir.appendingPathComponent("shared")
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), isDir.boolValue,
           FileManager.default.fileExists(atPath: candidate.appendingPathComponent("vectors").path) {
            return candidate
        }
        dir = dir.deletingLastPathComponent()
    }
    return nil
}

func tortureMessage(_ name: String) throws -> [UInt8] {
    guard let shared = sharedFolder() else { throw CocoaError(.fileNoSuchFile) }
    let url = shared.appendingPathComponent("vectors/sip-torture/\(name).dat")
    return [UInt8](try Data(contentsOf: url))
}
