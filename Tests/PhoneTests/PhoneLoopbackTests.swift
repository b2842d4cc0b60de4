import Testing
import Foundation
import NIOPosix
import Synchronization
@testable import Phone
import WAV

/// Two `Phone`s in this process on loopback (no namespace, no root, no peers): the NIO
/// transports, media sessions and the driver end to end.
@Suite(.serialized) struct PhoneLoopbackTests {
    final class Collected: Sendable {
        let events = Mutex<[PhoneEvent]>([])
        func add(_ e: PhoneEvent) { events.withLock { $0.append(e) } }
        func has(_ match: (PhoneEvent) -> Bool) -> Bool { count(match) > 0 }
        func count(_ match: (PhoneEvent) -> Bool) -> Int { events.withLock { $0.filter(match).count } }
    }

    func collect(_ p: Phone) -> Collected {
        let c = Collected()
        Task { for await e in p.events { c.add(e) } }
        return c
    }

    func waitUntil(_ seconds: Double, _ cond: () -> Bool) async -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end { if cond() { return true }; try? await Task.sleep(nanoseconds: 20_000_000) }
        return cond()
    }

    @Test(arguments: [("::1", CodecChoice.opus, "udp"), ("127.0.0.1", .pcma, "tcp")])
    func callWithToneBothWays(host: String, codec: CodecChoice, transport: String) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loop-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var b = PhoneConfiguration()
        b.user = "bob"; b.listenHost = host; b.listenPort = 0; b.autoAnswer = true
        b.codecs = [codec]; b.toneHz = 440; b.rtpPorts = 42000...42999
        b.recordFile = dir.appendingPathComponent("bob.wav").path
        var a = PhoneConfiguration()
        a.user = "alice"; a.listenHost = host; a.listenPort = 0
        a.codecs = [codec]; a.toneHz = 1000; a.rtpPorts = 43000...43999
        a.recordFile = dir.appendingPathComponent("alice.wav").path
        let bob = Phone(configuration: b), alice = Phone(configuration: a)
        let be = collect(bob), ae = collect(alice)
        try bob.start(); try alice.start()
        let ref = host.contains(":") ? "[\(host)]" : host
        try alice.call("sip:bob@\(ref):\(bob.port)" + (transport == "tcp" ? ";transport=tcp" : ""))
        #expect(await waitUntil(30) { ae.has { if case .answered = $0 { return true }; return false } })
        #expect(await waitUntil(30) { be.has { if case .established = $0 { return true }; return false } })
        try await Task.sleep(nanoseconds: 1_500_000_000)
        alice.hangUp()
        #expect(await waitUntil(30) { be.has { if case .ended(_, .remoteHangup, _) = $0 { return true }; return false } })
        #expect(await waitUntil(30) { ae.has { if case .ended(_, .localHangup, let s) = $0 { return (s?.packetsReceived ?? 0) > 40 }; return false } })
        alice.shutdown(); bob.shutdown()
        // each side heard the other's tone, not its own
        let heardByBob = try WAVAudio(contentsOf: dir.appendingPathComponent("bob.wav").path)
        let heardByAlice = try WAVAudio(contentsOf: dir.appendingPathComponent("alice.wav").path)
        let bobTail = Array(heardByBob.samples.suffix(heardByBob.sampleRate / 2))
        let aliceTail = Array(heardByAlice.samples.suffix(heardByAlice.sampleRate / 2))
        #expect(SignalMeasure.toneShare(bobTail, frequency: 1000, sampleRate: heardByBob.sampleRate) > 0.8)
        #expect(SignalMeasure.toneShare(aliceTail, frequency: 440, sampleRate: heardByAlice.sampleRate) > 0.8)
        #expect(SignalMeasure.toneShare(aliceTail, frequency: 1000, sampleRate: heardByAlice.sampleRate) < 0.05)
    }

    @Test func optionsAndMessageOverUDP() async throws {
        var b = PhoneConfiguration(); b.user = "bob"; b.listenHost = "127.0.0.1"; b.listenPort = 0
        var a = PhoneConfiguration(); a.user = "alice"; a.listenHost = "127.0.0.1"; a.listenPort = 0
        let bob = Phone(configuration: b), alice = Phone(configuration: a)
        let be = collect(bob), ae = collect(alice)
        try bob.start(); try alice.start()
        try alice.sendOptions("sip:bob@127.0.0.1:\(bob.port)")
        try alice.sendMessage("sip:bob@127.0.0.1:\(bob.port)", text: "ahoy")
        #expect(await waitUntil(30) { ae.count { if case .requestResult(_, 200, _) = $0 { return true }; return false } == 2 })
        #expect(await waitUntil(30) { be.has { $0 == .message(from: "sip:alice@127.0.0.1", text: "ahoy") } })
        alice.shutdown(); bob.shutdown()
    }
}
