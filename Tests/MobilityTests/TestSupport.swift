import Foundation
import NIOCore
@testable import Mobility

/// Bytes from a spec-style hex dump (`0000: 3b06 0500 …`).
func hexDump(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    for line in text.split(separator: "\n") {
        let body = line.split(separator: ":", maxSplits: 1).last ?? ""
        let hex = body.filter { !$0.isWhitespace }
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
    }
    return out
}

func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

func v6(_ s: String) -> IPv6Address { IPv6Address(s)! }

/// Runs a program, returning exit status and standard output; nil when it cannot start.
@discardableResult
func run(_ path: String, _ args: [String], stdin: String? = nil) -> (status: Int32, out: String, err: String)? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let out = Pipe(), err = Pipe(), input = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = input
    do { try p.run() } catch { return nil }
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try? input.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// The first executable named `name` on PATH (plus sbin folders).
func which(_ name: String) -> String? {
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/bin:/usr/local/bin"
    for dir in path.split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// A Python interpreter that can import scapy, or nil.
let pythonWithScapy: String? = {
    for name in ["python3", "python"] {
        guard let py = which(name) else { continue }
        if let r = run(py, ["-c", "import scapy.all"]), r.status == 0 { return py }
    }
    return nil
}()
