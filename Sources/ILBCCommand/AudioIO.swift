import Foundation
import ILBC
import WAV

/// What a path's extension says it holds.
enum FileKind {
    case wav, raw, lbc

    init(path: String) throws(CLIError) {
        switch (path as NSString).pathExtension.lowercased() {
        case "wav": self = .wav
        case "pcm", "raw": self = .raw
        case "lbc": self = .lbc
        default:
            throw .usage("cannot tell the format of \"\(path)\": use .wav, .pcm/.raw (8 kHz s16le mono) or .lbc")
        }
    }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    static func usage(_ text: String) -> CLIError { CLIError(description: text) }
}

enum AudioIO {
    static func readBytes(_ path: String) throws(CLIError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .usage("cannot read \"\(path)\": no such file or not readable")
        }
        return [UInt8](data)
    }

    static func writeBytes(_ bytes: [UInt8], to path: String) throws(CLIError) {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw .usage("cannot write \"\(path)\"")
        }
    }

    /// Reads 8 kHz mono 16-bit samples from a WAV or raw file.
    static func readSamples(_ path: String, kind: FileKind) throws(CLIError) -> [Int16] {
        let bytes = try readBytes(path)
        switch kind {
        case .raw:
            if bytes.count % 2 != 0 { throw .usage("\"\(path)\" has an odd number of bytes; raw input must be 16-bit samples") }
            return (0..<(bytes.count / 2)).map { Int16(bitPattern: UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8) }
        case .wav:
            let wav: WAVAudio
            do { wav = try WAVAudio(parsing: bytes) } catch {
                throw .usage("\"\(path)\": \(error)\(conversionHint(path))")
            }
            guard wav.sampleRate == 8000, wav.fileChannels == 1 else {
                throw .usage(
                    "\"\(path)\" is \(wav.sampleRate) Hz, \(wav.fileChannels) channel(s), 16-bit; "
                        + "iLBC needs 8000 Hz mono 16-bit.\(conversionHint(path))")
            }
            return wav.samples
        case .lbc:
            throw .usage("\"\(path)\" is an iLBC bitstream; `ilbc encode` takes audio (.wav, .pcm, .raw)")
        }
    }

    static func writeSamples(_ samples: [Int16], to path: String, kind: FileKind) throws(CLIError) {
        switch kind {
        case .raw:
            var bytes = [UInt8]()
            bytes.reserveCapacity(samples.count * 2)
            for s in samples {
                let u = UInt16(bitPattern: s)
                bytes.append(UInt8(u & 0xFF))
                bytes.append(UInt8(u >> 8))
            }
            try writeBytes(bytes, to: path)
        case .wav:
            try writeBytes(WAVAudio(sampleRate: 8000, samples: samples).bytes, to: path)
        case .lbc:
            throw .usage("\"\(path)\": `ilbc decode` writes audio (.wav, .pcm, .raw), not .lbc")
        }
    }

    static func conversionHint(_ path: String) -> String {
        "\nConvert it first, for example:\n  sox \"\(path)\" -r 8000 -c 1 -b 16 converted.wav\n"
            + "  ffmpeg -i \"\(path)\" -ar 8000 -ac 1 -c:a pcm_s16le converted.wav"
    }
}

/// Prints progress to stderr at every 10 % of long inputs.
struct Progress {
    let total: Int
    let verb: String
    let enabled: Bool
    var nextDecile = 1

    init(total: Int, verb: String, audioSeconds: Double, quiet: Bool) {
        self.total = total
        self.verb = verb
        enabled = !quiet && audioSeconds >= 60
    }

    mutating func update(_ done: Int) {
        guard enabled, total > 0 else { return }
        while nextDecile <= 10 && done * 10 >= nextDecile * total {
            FileHandle.standardError.write(Data("ilbc: \(verb) \(nextDecile * 10) % (\(done)/\(total) frames)\n".utf8))
            nextDecile += 1
        }
    }
}
