import Foundation
import TestSupport
import ILBC
import Testing

/// Perceptual quality of our encoder's streams, decoded by our decoder and by ffmpeg's
/// independent (WebRTC-derived) iLBC decoder, scored with PESQ by `pesq_check.py`.
@Suite("Encoder quality by PESQ (ffmpeg + PyPI pesq)")
struct PESQTests {
    struct Row: Decodable {
        let `case`: String
        let mode: Int
        let figure: Double
        let ours: Double
        let ref_live: Double
        let ffmpeg_ours: Double
        let ffmpeg_ref: Double
    }

    @Test("PESQ within 0.1 per file and 0.05 in the mean of the reference encoder")
    func pesqAgainstReference() throws {
        let vectors = try SharedFolder.url("vectors/ilbc")
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("ilbc-pesq-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }

        for name in Shared.speechCases {
            let input = try Shared.samples("\(name).pcm")
            for mode in ILBCMode.allCases {
                let stream = encodeSamples(input, mode: mode)
                let decoded = decodeFile(stream, enhancer: true)
                try Data(stream.serialized()).write(to: work.appendingPathComponent("\(name).\(mode.rawValue).lbc"))
                try Data(pcmBytes(decoded)).write(to: work.appendingPathComponent("\(name).\(mode.rawValue).ours.pcm"))
            }
        }

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("pesq_check.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, work.path, vectors.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: output, as: UTF8.self)
        if process.terminationStatus == 77 {
            TestEnvironment.dependencyMissing("PESQ test: \(text.trimmingCharacters(in: .whitespacesAndNewlines))", install: "make deps: deps/pip-ilbc.txt")
            return
        }
        #expect(process.terminationStatus == 0, "pesq_check.py failed: \(text)")
        let rows = try text.split(separator: "\n").filter { $0.hasPrefix("{") }
            .map { try JSONDecoder().decode(Row.self, from: Data($0.utf8)) }
        #expect(rows.count == 2 * Shared.speechCases.count)

        for mode in [20, 30] {
            let modeRows = rows.filter { $0.mode == mode }
            guard !modeRows.isEmpty else { continue }
            for row in modeRows {
                print(String(
                    format: "pesq %@ %d ms: ours %.3f (reference %.3f, measured %.3f); ffmpeg ours %.3f vs reference stream %.3f",
                    row.case, mode, row.ours, row.figure, row.ref_live, row.ffmpeg_ours, row.ffmpeg_ref))
                #expect(abs(row.ref_live - row.figure) < 0.01, "PESQ set-up differs from figures.json for \(row.case)")
                #expect(abs(row.ours - row.figure) <= 0.1, "\(row.case) \(mode) ms, our decoder")
                #expect(abs(row.ffmpeg_ours - row.ffmpeg_ref) <= 0.1, "\(row.case) \(mode) ms, ffmpeg")
            }
            let n = Double(modeRows.count)
            let meanOurs = modeRows.map(\.ours).reduce(0, +) / n
            let meanFigure = modeRows.map(\.figure).reduce(0, +) / n
            let meanFFmpegOurs = modeRows.map(\.ffmpeg_ours).reduce(0, +) / n
            let meanFFmpegRef = modeRows.map(\.ffmpeg_ref).reduce(0, +) / n
            print(String(format: "pesq mean %d ms: ours %.3f vs reference %.3f; via ffmpeg ours %.3f vs reference %.3f",
                         mode, meanOurs, meanFigure, meanFFmpegOurs, meanFFmpegRef))
            #expect(abs(meanOurs - meanFigure) <= 0.05)
            #expect(abs(meanFFmpegOurs - meanFFmpegRef) <= 0.05)
        }
    }
}
