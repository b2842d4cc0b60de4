// phone-bench: the figures bench/bench-phone.sh prints.
//   phone-bench parse TORTURE_DIR CAPTURE   parser throughput and allocations per message
//   phone-bench voice                       G.711/Opus through the jitter buffer, 5 % loss, 40 ms jitter
//   phone-bench calls URI SECONDS           calls per second against another softphone
import Foundation
import CAllocCounter
import SIP
import SDP
import RTP
import AudioCodec
import Phone

func line(_ name: String, _ value: Double, _ unit: String, _ target: String) {
    print("bench: \(name) \(String(format: "%.2f", value)) \(unit) target \(target)")
}

func parseBench(tortureDir: String, capture: String) {
    let files = (try? FileManager.default.contentsOfDirectory(atPath: tortureDir))?.filter { $0.hasSuffix(".dat") }.sorted() ?? []
    let torture = files.compactMap { FileManager.default.contents(atPath: "\(tortureDir)/\($0)").map { [UInt8]($0) } }
    // the captured baresip INVITE, LF line ends made CRLF as on the wire
    let text = (try? String(contentsOfFile: capture, encoding: .utf8)) ?? ""
    let invite = [UInt8](text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8)
    func run(_ messages: [[UInt8]], seconds: Double) -> (perSecond: Double, allocations: Double) {
        var n = 0
        let a0 = nautilus_alloc_count()
        for m in messages { _ = try? SIPMessage(parsing: m) }
        let perMessage = Double(nautilus_alloc_count() - a0) / Double(messages.count)
        let start = Date()
        var ok = 0
        while Date().timeIntervalSince(start) < seconds {
            for m in messages { if (try? SIPMessage(parsing: m)) != nil { ok += 1 }; n += 1 }
        }
        return (Double(n) / Date().timeIntervalSince(start), perMessage)
    }
    let t = run(torture, seconds: 2)
    line("sip_parse_torture", t.perSecond, "msgs/s", ">= 50000")
    line("sip_parse_torture_allocs", t.allocations, "allocs/msg", "<= 100")
    let i = run([invite], seconds: 2)
    line("sip_parse_invite", i.perSecond, "msgs/s", ">= 50000")
    line("sip_parse_invite_allocs", i.allocations, "allocs/msg", "<= 100")
    // writing: the parsed INVITE back to octets
    if let m = try? SIPMessage(parsing: invite) {
        let start = Date(); var n = 0
        while Date().timeIntervalSince(start) < 1 { var out: [UInt8] = []; m.write(to: &out); n += 1 }
        line("sip_write_invite", Double(n) / Date().timeIntervalSince(start), "msgs/s", ">= 100000")
    }
}

/// Sends a tone through codec → packets with loss and jitter → jitter buffer → decoder
/// and measures how much of it survives (segmental SNR against the sent audio, after
/// aligning for codec delay) and the E-model MOS for the loss seen.
func voiceBench() {
    struct LCG { var s: UInt64; mutating func next() -> Double { s = s &* 6364136223846793005 &+ 1442695040888963407; return Double(s >> 11) / Double(1 << 53) } }
    func run(_ name: String, codec: inout any AudioCodec, clock: Int, tsPerFrame: UInt32) {
        let rate = codec.sampleRate, frame = codec.samplesPerFrame
        let seconds = 20.0
        // speech-like test audio: tone bursts at changing frequencies
        var x: [Int16] = []
        var rng0 = LCG(s: 3)
        while x.count < Int(seconds * Double(rate)) {
            let f = 200 + 1500 * rng0.next()
            x += ToneSource(frequencies: [f, f * 2.1], amplitude: 0.4, sampleRate: rate, seconds: 0.1).read(rate / 10)!
        }
        let frames = x.count / frame
        var rng = LCG(s: 7)
        var arrivals: [(Double, Int, [UInt8])] = []
        var lost = 0
        for k in 0..<frames {
            let payload = try! codec.encode(Array(x[(k * frame)..<((k + 1) * frame)]))
            if rng.next() < 0.05 { lost += 1; continue }
            arrivals.append((Double(k) * 0.02 + rng.next() * 0.04, k, payload))
        }
        arrivals.sort { $0.0 < $1.0 }
        var jb = JitterBuffer<[UInt8]>(clockRate: clock, frameDuration: tsPerFrame)
        var y: [Int16] = []
        var a = 0
        var tick = 0
        while y.count < x.count + 20 * frame {
            let now = Double(tick) * 0.02 + 0.0001
            while a < arrivals.count, arrivals[a].0 <= now {
                jb.insert(arrivals[a].2, timestamp: UInt32(arrivals[a].1) &* tsPerFrame, arrival: arrivals[a].0); a += 1
            }
            switch jb.pop() {
            case .frame(let p, _): y += try! codec.decode(p)
            case .lost: y += try! codec.decode(nil)
            case .waiting: y += [Int16](repeating: 0, count: frame)
            }
            tick += 1
        }
        // align: find the playout delay with a probe from 2 s in, then let each 100 ms block
        // find its own offset near it, so one cut by the jitter buffer shifts only later blocks
        let probe = Array(x[(2 * rate)..<(2 * rate + rate / 5)])
        let found = SignalMeasure.bestCorrelation(probe: probe, in: Array(y[0..<min(y.count, 4 * rate)]), stride: 1)
        var shift = found.offset - 2 * rate
        let block = rate / 10
        var segs: [Double] = []
        for s in stride(from: 2 * rate, to: x.count - block, by: block) {
            let lo = s + shift - 3 * frame, hi = s + shift + 3 * frame
            guard lo >= 0, hi + block <= y.count else { continue }
            let local = SignalMeasure.bestCorrelation(probe: Array(x[s..<(s + block)]), in: y, stride: 1, offsets: lo...hi)
            shift = local.offset - s
            for f in stride(from: 0, to: block, by: frame) {
                var sig = 0.0, err = 0.0
                for i in 0..<frame { let d = Double(x[s + f + i]); let e = d - Double(y[local.offset + f + i]); sig += d * d; err += e * e }
                segs.append(max(-10, min(35, 10 * log10(sig / max(err, 1)))))
            }
        }
        let segSNR = segs.reduce(0, +) / Double(max(1, segs.count))
        let loss = Double(lost + jb.statistics.late) / Double(frames)
        let delay = Double(shift) / Double(rate)
        print("  \(name): jitter buffer \(jb.statistics)")
        line("voice_\(name)_loss5_jitter40_segsnr", segSNR, "dB", ">= 5")
        line("voice_\(name)_loss5_jitter40_mos", SignalMeasure.mos(codec: name, lossRatio: loss, delaySeconds: delay), "mos", ">= 3.0")
        line("voice_\(name)_loss5_jitter40_delay", delay * 1000, "ms", "<= 200")
    }
    var g711: any AudioCodec = G711Codec(law: .mu)
    run("pcmu", codec: &g711, clock: 8000, tsPerFrame: 160)
    var s = OpusCodec.Settings(); s.inbandFEC = true; s.expectedLossPercent = 5
    if var opus: any AudioCodec = try? OpusCodec(sampleRate: 48000, settings: s) {
        run("opus", codec: &opus, clock: 48000, tsPerFrame: 960)
    }
}

/// Places calls to `uri` as fast as they complete, ten at a time, for `seconds`.
func callsBench(uri: String, seconds: Double) async {
    var c = PhoneConfiguration()
    c.user = "load"
    c.listenHost = "127.0.0.1"
    c.listenPort = 0
    c.codecs = [.pcmu]
    c.rtpPorts = 40000...49999
    let phone = Phone(configuration: c)
    do { try phone.start() } catch { print("phone-bench: \(error)"); return }
    let start = Date()
    var inFlight = 0, completed = 0, failed = 0
    func launch() { inFlight += 1; try? phone.call(uri) }
    for _ in 0..<10 { launch() }
    for await e in phone.events {
        switch e {
        case .answered(let call, _): phone.hangUp(call)
        case .ended(_, let reason, _):
            inFlight -= 1
            if reason == .localHangup { completed += 1 } else { failed += 1 }
            if Date().timeIntervalSince(start) < seconds { launch() }
        default: break
        }
        if inFlight == 0 { break }
    }
    let elapsed = Date().timeIntervalSince(start)
    phone.shutdown()
    line("calls_per_second", Double(completed) / elapsed, "calls/s", ">= 20")
    line("calls_failed", Double(failed), "calls", "== 0")
}

let args = CommandLine.arguments
switch args.count > 1 ? args[1] : "" {
case "parse" where args.count >= 4: parseBench(tortureDir: args[2], capture: args[3])
case "voice": voiceBench()
case "calls" where args.count >= 4: await callsBench(uri: args[2], seconds: Double(args[3]) ?? 10)
default:
    print("usage: phone-bench parse TORTURE_DIR CAPTURE | voice | calls URI SECONDS")
    exit(1)
}
