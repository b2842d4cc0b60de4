import Foundation
import TestSupport
import ILBC
import Testing

/// The `ilbc` executable as scripts use it.
@Suite("ilbc command line")
struct CommandLineTests {
    /// The `ilbc` binary built next to the test bundle.
    static let binary: URL? = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("ilbc")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }()

    struct Result {
        let status: Int32
        let stderr: String
    }

    func ilbc(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stderr: String(decoding: data, as: UTF8.self))
    }

    func wav(_ samples: [Int16], rate: Int = 8000, channels: Int = 1) -> Data {
        var out: [UInt8] = []
        func u16(_ v: Int) { out += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: Int) { u16(v & 0xFFFF); u16(v >> 16) }
        out += Array("RIFF".utf8); u32(36 + 2 * samples.count); out += Array("WAVE".utf8)
        out += Array("fmt ".utf8); u32(16); u16(1); u16(channels); u32(rate); u32(rate * 2 * channels); u16(2 * channels); u16(16)
        out += Array("data".utf8); u32(2 * samples.count)
        out += pcmBytes(samples)
        return Data(out)
    }

    @Test("WAV in, .lbc out, WAV back; ffmpeg decodes our file")
    func wavRoundTrip() throws {
        guard let binary = Self.binary else {
            TestEnvironment.dependencyMissing("the ilbc binary next to the tests", install: "swift build")
            return
        }
        _ = binary
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ilbc-cli-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try Shared.samples("sp_de_f3.pcm")
        let wavIn = dir.appendingPathComponent("in.wav"), lbc = dir.appendingPathComponent("out.lbc")
        let wavOut = dir.appendingPathComponent("out.wav")
        try wav(input).write(to: wavIn)

        #expect(try ilbc(["encode", "--mode", "20", wavIn.path, lbc.path]).status == 0)
        let ours = try [UInt8](Data(contentsOf: lbc))
        #expect(ours == (try Shared.bytes("sp_de_f3.20.lbc")))
        #expect(try ilbc(["decode", lbc.path, wavOut.path]).status == 0)
        let decodedWAV = try [UInt8](Data(contentsOf: wavOut))
        #expect(decodedWAV.count == 44 + 2 * input.count)
        let decoded = pcm(Array(decodedWAV[44...]))
        #expect(decoded == (try Shared.samples("sp_de_f3.20.out.pcm")))

        // Loss file and raw output.
        let raw = dir.appendingPathComponent("loss.raw")
        let lossFile = try SharedFolder.url("vectors/ilbc/sp_de_f3.20.loss.txt")
        #expect(try ilbc(["decode", "--loss", lossFile.path, lbc.path, raw.path]).status == 0)
        #expect(pcm(try [UInt8](Data(contentsOf: raw))) == (try Shared.samples("sp_de_f3.20.loss.out.pcm")))
        let plain = dir.appendingPathComponent("plain.pcm")
        #expect(try ilbc(["decode", "--no-enhancer", lbc.path, plain.path]).status == 0)
        #expect(pcm(try [UInt8](Data(contentsOf: plain))) == (try Shared.samples("sp_de_f3.20.noenh.pcm")))

        // ffmpeg's own iLBC decoder reads our file (it skips its broken first frames).
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg") else {
            TestEnvironment.dependencyMissing("/usr/bin/ffmpeg", install: "apt-get install ffmpeg; make deps")
            return
        }
        let ffmpegOut = dir.appendingPathComponent("ffmpeg.pcm")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        process.arguments = ["-hide_banner", "-loglevel", "error", "-y", "-i", lbc.path, "-f", "s16le", "-acodec", "pcm_s16le", ffmpegOut.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let fromFFmpeg = pcm(try [UInt8](Data(contentsOf: ffmpegOut)))
        #expect(fromFFmpeg.count == input.count)
        let skip = 10 * 160
        let agreement = snr(Array(try Shared.samples("sp_de_f3.20.noenh.pcm")[skip...]), Array(fromFFmpeg[skip...]))
        print("ffmpeg decoding our stream vs reference (no enhancer), after 10 frames: \(agreement) dB")
        #expect(agreement >= 30)
    }

    @Test("clear errors: wrong WAV format, wrong extension, bad mode, bad loss file")
    func errors() throws {
        guard Self.binary != nil else {
            TestEnvironment.dependencyMissing("the ilbc binary next to the tests", install: "swift build")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ilbc-cli-err-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let wide = dir.appendingPathComponent("wide.wav")
        try wav([Int16](repeating: 0, count: 3200), rate: 16000).write(to: wide)
        let result = try ilbc(["encode", "--mode", "30", wide.path, dir.appendingPathComponent("x.lbc").path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("16000 Hz") && result.stderr.contains("8000 Hz mono 16-bit"))
        #expect(result.stderr.contains("sox") && result.stderr.contains("ffmpeg"))

        let stereo = dir.appendingPathComponent("stereo.wav")
        try wav([Int16](repeating: 0, count: 3200), channels: 2).write(to: stereo)
        #expect(try ilbc(["encode", stereo.path, dir.appendingPathComponent("x.lbc").path]).stderr.contains("2 channel"))

        #expect(try ilbc(["encode", "--mode", "25", wide.path, dir.appendingPathComponent("x.lbc").path]).stderr.contains("20 or 30"))
        #expect(try ilbc(["encode", wide.path, dir.appendingPathComponent("x.mp3").path]).status != 0)

        let broken = dir.appendingPathComponent("broken.lbc")
        try Data(Array("#!iLBC20\n".utf8) + [UInt8](repeating: 1, count: 40)).write(to: broken)
        let truncated = try ilbc(["decode", broken.path, dir.appendingPathComponent("y.wav").path])
        #expect(truncated.status != 0 && truncated.stderr.contains("partial frame"))

        let good = dir.appendingPathComponent("good.lbc")
        try Data(try Shared.bytes("sp_quiet.30.lbc")).write(to: good)
        let lossFile = dir.appendingPathComponent("loss.txt")
        try Data("1\n1\nmaybe\n".utf8).write(to: lossFile)
        let badLoss = try ilbc(["decode", "--loss", lossFile.path, good.path, dir.appendingPathComponent("z.wav").path])
        #expect(badLoss.status != 0 && badLoss.stderr.contains("line 3"))
    }
}
