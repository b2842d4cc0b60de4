import Testing
import Foundation
import SIP
import Synchronization
@testable import Phone

/// The call scripts the `softphone` commands run, driven in this process on loopback.
@Suite(.serialized) struct CallScriptTests {
    /// Events a script hands its observer, and the port its phone listens on.
    final class Observed: Sendable {
        let events = Mutex<[PhoneEvent]>([])
        func add(_ e: PhoneEvent) { events.withLock { $0.append(e) } }
        var port: Int? {
            events.withLock { events in
                for case .listening(_, let p) in events { return p }
                return nil
            }
        }
        func has(_ match: (PhoneEvent) -> Bool) -> Bool { events.withLock { $0.contains(where: match) } }
    }

    func configuration(_ user: String, tone: Double) -> PhoneConfiguration {
        var c = PhoneConfiguration()
        c.user = user; c.listenHost = "127.0.0.1"; c.listenPort = 0
        c.codecs = [.pcmu]; c.toneHz = tone
        return c
    }

    func waitForPort(_ o: Observed) async -> Int? {
        for _ in 0..<500 {
            if let p = o.port { return p }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return nil
    }

    @Test func callAnswerDTMFAndHangUp() async throws {
        let answered = Observed(), called = Observed()
        var answer = AnswerScript()
        answer.calls = 1
        let answerer = Task { try await answer.run(configuration: configuration("bob", tone: 440), observe: answered.add) }
        let port = try #require(await waitForPort(answered))
        var call = CallScript(uri: "sip:bob@127.0.0.1:\(port)")
        call.duration = 1
        call.dtmf = "5"
        call.answerTimeout = 10
        #expect(try await call.run(configuration: configuration("alice", tone: 1000), observe: called.add) == .callEnded(.localHangup))
        #expect(try await answerer.value == .completed)
        #expect(called.has { if case .answered = $0 { return true }; return false })
        #expect(answered.has { if case .dtmf(_, "5") = $0 { return true }; return false })
        #expect(answered.has { if case .ended(_, .remoteHangup, _) = $0 { return true }; return false })
    }

    @Test func answererHangsUpAfterItsDuration() async throws {
        let answered = Observed()
        var answer = AnswerScript()
        answer.calls = 1
        answer.duration = 0.5
        let answerer = Task { try await answer.run(configuration: configuration("bob", tone: 440), observe: answered.add) }
        let port = try #require(await waitForPort(answered))
        var call = CallScript(uri: "sip:bob@127.0.0.1:\(port)")
        call.duration = 30
        // Ended by the answerer's hang-up (after its 0.5 s), not by the caller's own 30 s.
        #expect(try await call.run(configuration: configuration("alice", tone: 1000), observe: { _ in }) == .callEnded(.remoteHangup))
        #expect(try await answerer.value == .completed)
    }

    @Test func nobodyAnswers() async throws {
        // a UDP socket that reads nothing: the INVITE is never answered
        let silent = try DatagramSocketHolder()
        var call = CallScript(uri: "sip:nobody@127.0.0.1:\(silent.port)")
        call.answerTimeout = 1
        #expect(try await call.run(configuration: configuration("alice", tone: 1000), observe: { _ in }) == .noAnswer)
    }

    @Test func answererStopsAfterRunFor() async throws {
        var answer = AnswerScript()
        answer.auto = true
        answer.runFor = 0.3
        #expect(try await answer.run(configuration: configuration("bob", tone: 440), observe: { _ in }) == .completed)
    }
}

/// A bound UDP socket on 127.0.0.1 that never reads.
final class DatagramSocketHolder {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard fd >= 0, bound else { throw POSIXError(.EADDRNOTAVAIL) }
        port = Int(UInt16(bigEndian: a.sin_port))
    }

    deinit { close(fd) }
}
