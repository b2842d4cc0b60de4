import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Sensors
import Timekeeping

/// The test pattern at an exact frame rate: frame k is due at start + k/fps (no drift from render time).
struct PacedTestPattern {
    var width: Int
    var height: Int
    var fps: Int
    var quality: Int
    /// Stamps the frames.
    var clock: any InstantClock = SystemClock()

    func frames() -> AsyncThrowingStream<JPEGFrame, any Error> {
        let s = self
        return AsyncThrowingStream(bufferingPolicy: .bufferingNewest(4)) { continuation in
            let task = Task {
                let codec = JPEGCodec()
                let start = monotonicNow()
                var k = 0
                while !Task.isCancelled {
                    let due = start + Double(k) / Double(s.fps)
                    let wait = due - monotonicNow()
                    if wait > 0 { try? await Task.sleep(for: .milliseconds(Int64((wait * 1000).rounded(.up)))) }
                    let time = s.clock.now()
                    let rgb = TestPattern.render(width: s.width, height: s.height, frame: k, time: time)
                    do {
                        let jpeg = try codec.encode(rgb: rgb, width: s.width, height: s.height, quality: s.quality)
                        continuation.yield(JPEGFrame(width: s.width, height: s.height, data: jpeg, time: time,
                                                     sequence: UInt32(truncatingIfNeeded: k), origin: .testPattern))
                    } catch {
                        continuation.finish(throwing: error)
                        return
                    }
                    k += 1
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// JPEG files sent as they are, one per frame interval, once.
struct JPEGFileSource {
    var files: [String]
    var fps: Int
    /// Stamps the frames.
    var clock: any InstantClock = SystemClock()

    func frames() -> AsyncThrowingStream<JPEGFrame, any Error> {
        let s = self
        return AsyncThrowingStream(bufferingPolicy: .bufferingNewest(4)) { continuation in
            let task = Task {
                let start = monotonicNow()
                for (k, path) in s.files.enumerated() {
                    if Task.isCancelled { break }
                    let due = start + Double(k) / Double(s.fps)
                    let wait = due - monotonicNow()
                    if wait > 0 { try? await Task.sleep(for: .milliseconds(Int64((wait * 1000).rounded(.up)))) }
                    guard let data = FileManager.default.contents(atPath: path) else {
                        continuation.finish(throwing: MessageError(description: "cannot read the frame file \(path) (was it removed while sending?)"))
                        return
                    }
                    continuation.yield(JPEGFrame(width: 0, height: 0, data: Array(data), time: s.clock.now(), sequence: UInt32(truncatingIfNeeded: k), origin: .passthrough))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
