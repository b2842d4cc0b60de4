// phone-bench: the figures bench/bench-phone.sh prints.
//   phone-bench parse TORTURE_DIR CAPTURE   parser throughput and allocations per message
//   phone-bench voice                       G.711/iLBC/Opus through the jitter buffer, 5 % loss, 40 ms jitter
//   phone-bench voice-pesq OUT SPEECH...    speech through the same, clean and lossy, for PESQ (bench/phone-pesq.py)
//   phone-bench calls URI SECONDS           calls per second against another softphone
import Foundation
import CAllocCounter
import SIP
import SDP
import RTP
import Timekeeping
import AudioCodec
import ILBC
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
struct LCG { var s: UInt64; mutating func next() -> Double { s = s &* 6364136223846793005 &+ 1442695040888963407; return Double(s >> 11) / Double(1 << 53) } }

/// One voice channel through the network and our jitter buffer: `x` encoded frame by frame,
/// `loss` of the packets dropped, each delayed by up to `jitter` seconds, played out one frame
/// per frame time (packet loss concealment for what is missing).
func throughBuffer(_ x: [Int16], codec: inout any AudioCodec, clock: Int, tsPerFrame: UInt32, loss: Double, jitter: Double)
    -> (y: [Int16], statistics: JitterBufferStatistics, lost: Int) {
    let frame = codec.samplesPerFrame
    let frameTime = Double(frame) / Double(codec.sampleRate)
    let frames = x.count / frame
    var rng = LCG(s: 7)
    var arrivals: [(Double, Int, [UInt8])] = []
    var lost = 0
    for k in 0..<frames {
        let payload = try! codec.encode(Array(x[(k * frame)..<((k + 1) * frame)]))
        if rng.next() < loss { lost += 1; continue }
        arrivals.append((Double(k) * frameTime + rng.next() * jitter, k, payload))
    }
    arrivals.sort { $0.0 < $1.0 }
    var jb = JitterBuffer<[UInt8]>(clockRate: clock, frameDuration: tsPerFrame)
    var y: [Int16] = []
    var a = 0
    var tick = 0
    while y.count < x.count + 20 * frame {
        let now = Double(tick) * frameTime + 0.0001
        while a < arrivals.count, arrivals[a].0 <= now {
            jb.insert(arrivals[a].2, timestamp: UInt32(arrivals[a].1) &* tsPerFrame, arrival: .seconds(arrivals[a].0)); a += 1
        }
        switch jb.pop() {
        case .frame(let p, _): y += try! codec.decode(p)
        case .lost: y += try! codec.decode(nil)
        case .waiting: y += [Int16](repeating: 0, count: frame)
        }
        tick += 1
    }
    return (y, jb.statistics, lost)
}

/// Where `x` (from 2 s in) sits in `y`: the playout delay in samples at the start and after
/// each 100 ms block (a jitter-buffer cut shifts only later blocks), with the segmental SNR.
func align(_ x: [Int16], in y: [Int16], rate: Int, frame: Int) -> (startShift: Int, endShift: Int, segSNR: Double) {
    let probe = Array(x[(2 * rate)..<(2 * rate + rate / 5)])
    let found = SignalMeasure.bestCorrelation(probe: probe, in: Array(y[0..<min(y.count, 4 * rate)]), stride: 1)
    let start = found.offset - 2 * rate
    var shift = start
    let block = rate / 10
    var segs: [Double] = []
    for s in stride(from: 2 * rate, to: x.count - block, by: block) {
        let lo = s + shift - 3 * frame, hi = s + shift + 3 * frame
        guard lo >= 0, hi + block <= y.count else { continue }
        let local = SignalMeasure.bestCorrelation(probe: Array(x[s..<(s + block)]), in: y, stride: 1, offsets: lo...hi)
        shift = local.offset - s
        for f in stride(from: 0, to: block, by: frame) where f + frame <= block {
            var sig = 0.0, err = 0.0
            for i in 0..<frame { let d = Double(x[s + f + i]); let e = d - Double(y[local.offset + f + i]); sig += d * d; err += e * e }
            segs.append(max(-10, min(35, 10 * log10(sig / max(err, 1)))))
        }
    }
    return (start, shift, segs.reduce(0, +) / Double(max(1, segs.count)))
}

/// The codecs the voice figures cover, fresh for each run (codec state must not carry over).
func voiceCodecs() -> [(name: String, codec: any AudioCodec, clock: Int, tsPerFrame: UInt32)] {
    var out: [(String, any AudioCodec, Int, UInt32)] = [("pcmu", G711Codec(law: .mu), 8000, 160),
                                                        ("ilbc20", ILBCCodec(mode: .ms20), 8000, 160),
                                                        ("ilbc30", ILBCCodec(mode: .ms30), 8000, 240)]
    var s = OpusCodec.Settings(); s.inbandFEC = true; s.expectedLossPercent = 5
    if let opus = try? OpusCodec(sampleRate: 48000, settings: s) { out.append(("opus", opus, 48000, 960)) }
    return out
}

func voiceBench() {
    for (name, c, clock, ts) in voiceCodecs() {
        var codec = c
        let rate = codec.sampleRate, frame = codec.samplesPerFrame
        // speech-like test audio: tone bursts at changing frequencies
        var x: [Int16] = []
        var rng0 = LCG(s: 3)
        while x.count < 20 * rate {
            let f = 200 + 1500 * rng0.next()
            x += ToneSource(frequencies: [f, f * 2.1], amplitude: 0.4, sampleRate: rate, seconds: 0.1).read(rate / 10)!
        }
        let run = throughBuffer(x, codec: &codec, clock: clock, tsPerFrame: ts, loss: 0.05, jitter: 0.04)
        let a = align(x, in: run.y, rate: rate, frame: frame)
        let loss = Double(run.lost + run.statistics.late) / Double(x.count / frame)
        let delay = Double(a.endShift) / Double(rate)
        let mosName = name.hasPrefix("ilbc") ? "iLBC" : name
        print("  \(name): jitter buffer \(run.statistics)")
        line("voice_\(name)_loss5_jitter40_segsnr", a.segSNR, "dB", name.hasPrefix("ilbc") ? ">= 2" : ">= 5")
        line("voice_\(name)_loss5_jitter40_mos", SignalMeasure.mos(codec: mosName, lossRatio: loss, delaySeconds: delay), "mos", ">= 3.0")
        line("voice_\(name)_loss5_jitter40_delay", delay * 1000, "ms", "<= 200")
    }
}

/// Speech (8 kHz PCM files) through each codec twice, clean and with 5 % loss and 40 ms jitter
/// through the jitter buffer (and with each alone); writes OUT/NAME.{clean,lossy,loss,jitter}.pcm and OUT/ref.pcm (8 kHz, delay removed) for
/// PESQ and prints the mouth-to-ear delay the buffer adds (playout delay minus the codec's own).
func voicePESQ(speechFiles: [String], out: String) {
    var speech: [Int16] = []
    for f in speechFiles {
        guard let d = FileManager.default.contents(atPath: f) else { continue }
        speech += d.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }.map { Int16(littleEndian: $0) }
    }
    guard speech.count > 8 * 8000 else { print("phone-bench: need at least 8 s of speech"); exit(1) }
    func write(_ x: [Int16], _ path: String) {
        FileManager.default.createFile(atPath: path, contents: x.map { $0.littleEndian }.withUnsafeBytes { Data($0) })
    }
    write(speech, out + "/ref.pcm")
    for (name, c, clock, ts) in voiceCodecs() {
        let rate = c.sampleRate, frame = c.samplesPerFrame
        var up = Resampler(from: 8000, to: rate)
        let x = rate == 8000 ? speech : up.process(speech + [Int16](repeating: 0, count: 64))
        var delays: [String: Double] = [:]
        // loss-only and jitter-only runs tell the concealment's share from the buffer's
        for (kind, loss, jitter) in [("clean", 0.0, 0.0), ("lossy", 0.05, 0.04), ("loss", 0.05, 0.0), ("jitter", 0.0, 0.04)] {
            var codec = c
            if let fresh = voiceCodecs().first(where: { $0.name == name }) { codec = fresh.codec }
            let run = throughBuffer(x, codec: &codec, clock: clock, tsPerFrame: ts, loss: loss, jitter: jitter)
            let a = align(x, in: run.y, rate: rate, frame: frame)
            delays[kind] = Double(a.startShift) / Double(rate)
            let start = max(0, a.startShift)
            var y = Array(run.y[start..<min(run.y.count, start + x.count)])
            if rate != 8000 { var down = Resampler(from: rate, to: 8000); y = down.process(y) }
            write(y, "\(out)/\(name).\(kind).pcm")
        }
        line("voice_\(name)_buffer_delay_loss5_jitter40", ((delays["lossy"] ?? 0) - (delays["clean"] ?? 0)) * 1000, "ms", "<= 120")
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
case "voice-pesq" where args.count >= 4: voicePESQ(speechFiles: Array(args[3...]), out: args[2])
case "calls" where args.count >= 4: await callsBench(uri: args[2], seconds: Double(args[3]) ?? 10)
default:
    print("usage: phone-bench parse TORTURE_DIR CAPTURE | voice | voice-pesq OUTDIR SPEECH.pcm... | calls URI SECONDS")
    exit(1)
}
