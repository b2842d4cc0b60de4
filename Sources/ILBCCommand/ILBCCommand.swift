import ArgumentParser
import Foundation
import ILBC

@main
struct ILBCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ilbc",
        abstract: "Encode and decode iLBC speech (RFC 3951), 8 kHz 16-bit mono.",
        discussion: """
            Files are chosen by extension: .wav (8 kHz mono 16-bit WAV), .pcm or .raw (headerless \
            8 kHz s16le mono), .lbc (RFC 3952 iLBC file: "#!iLBC20\\n" or "#!iLBC30\\n", then frames).
            """,
        subcommands: [Encode.self, Decode.self]
    )
}

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Encode audio (.wav/.pcm/.raw) to an iLBC file (.lbc).")

    @Option(name: .long, help: "Frame size in ms: 20 (15.2 kbit/s) or 30 (13.33 kbit/s).")
    var mode: Int = 30

    @Flag(name: .long, help: "No progress messages.")
    var quiet = false

    @Argument(help: "Input audio: .wav, .pcm or .raw.")
    var input: String

    @Argument(help: "Output iLBC file: .lbc.")
    var output: String

    func run() throws {
        guard let frameMode = ILBCMode(rawValue: mode) else {
            throw ValidationError("--mode must be 20 or 30, got \(mode)")
        }
        guard try FileKind(path: output) == .lbc else {
            throw ValidationError("the output of `ilbc encode` must be a .lbc file")
        }
        var samples = try AudioIO.readSamples(input, kind: FileKind(path: input))
        let frameLength = frameMode.samplesPerFrame
        let remainder = samples.count % frameLength
        if remainder != 0 {
            samples += [Int16](repeating: 0, count: frameLength - remainder)
            if !quiet {
                FileHandle.standardError.write(Data(
                    "ilbc: input is not a whole number of \(frameMode) frames; padded with \(frameLength - remainder) zero samples\n".utf8))
            }
        }
        let frameCount = samples.count / frameLength
        var encoder = ILBCEncoder(mode: frameMode)
        var bytes = ILBCFile.header(for: frameMode)
        bytes.reserveCapacity(bytes.count + frameCount * frameMode.bytesPerFrame)
        var frame = [UInt8](repeating: 0, count: frameMode.bytesPerFrame)
        var progress = Progress(total: frameCount, verb: "encoded", audioSeconds: Double(samples.count) / 8000, quiet: quiet)
        samples.withUnsafeBufferPointer { all in
            for index in 0..<frameCount {
                let slice = UnsafeBufferPointer(rebasing: all[(index * frameLength)..<((index + 1) * frameLength)])
                frame.withUnsafeMutableBufferPointer { encoder.encode(slice, into: $0) }
                bytes += frame
                progress.update(index + 1)
            }
        }
        try AudioIO.writeBytes(bytes, to: output)
    }
}

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode an iLBC file (.lbc) to audio (.wav/.pcm/.raw).",
        discussion: """
            The mode comes from the file's header. A frame whose last bit (the empty-frame flag) \
            is set, or that the --loss file marks 0, is replaced by packet loss concealment.
            """
    )

    @Flag(name: .long, help: "Turn the pitch enhancer off (no added delay).")
    var noEnhancer = false

    @Option(name: .long, help: "Loss pattern: one line per frame, 1 = received, 0 = lost (conceal).")
    var loss: String?

    @Flag(name: .long, help: "No progress messages.")
    var quiet = false

    @Argument(help: "Input iLBC file: .lbc.")
    var input: String

    @Argument(help: "Output audio: .wav, .pcm or .raw.")
    var output: String

    func run() throws {
        guard try FileKind(path: input) == .lbc else {
            throw ValidationError("the input of `ilbc decode` must be a .lbc file")
        }
        let outputKind = try FileKind(path: output)
        let file: ILBCFile
        do {
            file = try ILBCFile(parsing: AudioIO.readBytes(input))
        } catch let error as StorageFormatError {
            throw CLIError.usage("\"\(input)\": \(error)")
        }
        var received = [Bool](repeating: true, count: file.frames.count)
        if let loss {
            let text = String(decoding: try AudioIO.readBytes(loss), as: UTF8.self)
            let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
            for (number, line) in lines.enumerated() {
                guard line == "0" || line == "1" else {
                    throw CLIError.usage("\"\(loss)\" line \(number + 1): expected 0 (lost) or 1 (received), got \"\(line)\"")
                }
                if number < received.count { received[number] = line == "1" }
            }
            if lines.count < file.frames.count && !quiet {
                FileHandle.standardError.write(Data(
                    "ilbc: the loss file has \(lines.count) lines for \(file.frames.count) frames; the rest count as received\n".utf8))
            }
        }
        var decoder = ILBCDecoder(mode: file.mode, enhancer: !noEnhancer)
        let frameLength = file.mode.samplesPerFrame
        var samples = [Int16](repeating: 0, count: file.frames.count * frameLength)
        var progress = Progress(
            total: file.frames.count, verb: "decoded", audioSeconds: Double(samples.count) / 8000, quiet: quiet)
        samples.withUnsafeMutableBufferPointer { all in
            for (index, frame) in file.frames.enumerated() {
                let slice = UnsafeMutableBufferPointer(rebasing: all[(index * frameLength)..<((index + 1) * frameLength)])
                decoder.decode(received[index] ? frame : nil, into: slice)
                progress.update(index + 1)
            }
        }
        try AudioIO.writeSamples(samples, to: output, kind: outputKind)
    }
}
