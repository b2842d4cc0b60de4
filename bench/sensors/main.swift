// Sensors benchmarks: compiled together with the Sensors sources by
// bench/bench-sensors.sh; prints one `bench:` line per figure.
import Foundation

func measure(_ body: () throws -> Int) rethrows -> (count: Int, seconds: Double) {
    let clock = ContinuousClock()
    let start = clock.now
    let count = try body()
    let elapsed = clock.now - start
    return (count, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

func report(_ name: String, _ value: Double, _ unit: String, _ target: String) {
    print("bench: \(name) \(String(format: "%.1f", value)) \(unit) target \(target)")
}

let arguments = CommandLine.arguments
let logPath = arguments[1]
let yuvPath = arguments[2]

// NMEA: decode the chartplotter log (4999 sentences) repeatedly.
let log = Array(try Data(contentsOf: URL(fileURLWithPath: logPath)))
let nmea = measure { () -> Int in
    var lines = 0
    for _ in 0..<40 {
        let decoded = NMEALog(bytes: log)
        precondition(decoded.fixes.count == 148)
        lines += 4999
    }
    return lines
}
report("nmea_decode_speed", Double(nmea.count) / nmea.seconds, "sentences_per_s", ">= 100000")

// YUYV 640x480 to JPEG with libturbojpeg (what a YUYV-only camera costs per frame).
let width = 640, height = 480
let codec = JPEGCodec()
var yuyv = [UInt8](repeating: 0, count: width * height * 2)
for i in yuyv.indices { yuyv[i] = UInt8(truncatingIfNeeded: (i * 7) ^ (i >> 9)) }
try Data(Array(repeating: yuyv, count: 100).joined()).write(to: URL(fileURLWithPath: yuvPath))
let encode = try measure { () -> Int in
    for _ in 0..<100 { _ = try codec.encode(yuyv: yuyv, width: width, height: height, bytesPerLine: width * 2, quality: 80) }
    return 100
}
report("yuyv_to_jpeg_640x480", Double(encode.count) / encode.seconds, "fps", ">= 30")

// MJPEG pass-through (structure check + Huffman tables) at 1280x720.
// Noise, so the frame is as large as a busy camera picture (a few hundred KB).
var generator = SystemRandomNumberGenerator()
let rgb = (0..<(1280 * 720 * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) }
let jpeg = try codec.encode(rgb: rgb, width: 1280, height: 720, quality: 85)
print("mjpeg frame bytes \(jpeg.count)")
let pass = try measure { () -> Int in
    var bytes = 0
    for n in 0..<500 {
        // A different last byte each time, so the work cannot be hoisted.
        var frame = jpeg
        frame.append(UInt8(truncatingIfNeeded: n))
        bytes += try MJPEGFrame.completedJPEG(frame).count
    }
    precondition(bytes == 500 * jpeg.count)
    return 500
}
report("mjpeg_passthrough_1280x720", Double(pass.count) / pass.seconds, "fps", ">= 500")

// Test pattern 640x480, drawn and encoded.
let pattern = try measure { () -> Int in
    for n in 0..<30 {
        let picture = TestPattern.render(width: 640, height: 480, frame: n, time: SystemClock().now())
        _ = try codec.encode(rgb: picture, width: 640, height: 480, quality: 80)
    }
    return 30
}
report("test_pattern_640x480", Double(pattern.count) / pattern.seconds, "fps", ">= 10")
print("yuyv_fps \(Double(encode.count) / encode.seconds)")
