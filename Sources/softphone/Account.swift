import FoundationEssentials
import SystemSupport
#if canImport(Glibc)
import Glibc
#endif

/// Reads an account file: JSON (an object) or flat TOML (`key = "value"`, numbers,
/// booleans, arrays of strings, `#` comments). Keys: user, password, auth_user, domain,
/// display_name, registrar, proxy, listen, transport, codecs, expires, rtp_ports, ilbc_mode.
struct AccountFile {
    var values: [String: Any] = [:]

    init(path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        if text.trimmingWhitespace.hasPrefix("{") {
            guard let obj = try JSONText.decode(Array(text.utf8)) as? [String: Any] else {
                throw ValidationError("\(path): the JSON account file must hold one object")
            }
            values = obj
        } else {
            values = try AccountFile.parseTOML(text, path: path)
        }
    }

    static func parseTOML(_ text: String, path: String) throws -> [String: Any] {
        var out: [String: Any] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = raw.trimmingWhitespace
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("[") { continue }
            if let hash = line.firstRange(of: " #"), !line[..<hash.lowerBound].contains("\"") || line[..<hash.lowerBound].filter({ $0 == "\"" }).count % 2 == 0 {
                line = String(line[..<hash.lowerBound])
            }
            guard let eq = line.firstIndex(of: "=") else { throw ValidationError("\(path):\(n + 1): expected key = value") }
            let key = line[..<eq].trimmingWhitespace
            let value = line[line.index(after: eq)...].trimmingWhitespace
            out[key] = try parseValue(value, where: "\(path):\(n + 1)")
        }
        return out
    }

    static func parseValue(_ v: String, where loc: String) throws -> Any {
        if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { return String(v.dropFirst().dropLast()).replacing("\\\"", with: "\"") }
        if v == "true" { return true }
        if v == "false" { return false }
        if let i = Int(v) { return i }
        if v.hasPrefix("["), v.hasSuffix("]") {
            return try v.dropFirst().dropLast().split(separator: ",").map { try parseValue($0.trimmingWhitespace, where: loc) }
        }
        throw ValidationError("\(loc): cannot read value '\(v)'")
    }

    func string(_ k: String) -> String? { values[k].map { "\($0)" } }
    func int(_ k: String) -> Int? { values[k] as? Int ?? string(k).flatMap(Int.init) }
    func strings(_ k: String) -> [String]? {
        if let a = values[k] as? [Any] { return a.map { "\($0)" } }
        return string(k)?.split(separator: ",").map { $0.trimmingWhitespace }
    }
}

import ArgumentParser
