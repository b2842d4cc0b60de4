import Foundation
import Testing
import Timekeeping
@testable import Sensors

struct GPSCoreTests {
    static func fix(_ t: Double, lat: Double = 1, speed: Double? = nil) -> GPSFix {
        GPSFix(time: .seconds(t), mode: .threeD, latitude: lat, longitude: 2, speed: speed)
    }

    @Test("receiver and driver times convert exactly, saturating instead of trapping")
    func saturatingInstants() {
        #expect(Instant.saturating(seconds: 1_175_990_400, nanoseconds: 802_000_000) == Instant(nanoseconds: 1_175_990_400_802_000_000))
        #expect(Instant.saturating(seconds: -1, nanoseconds: 500_000_000) == Instant(nanoseconds: -500_000_000))
        #expect(Instant.saturating(seconds: .max, nanoseconds: .max) == Instant(nanoseconds: .max))
        #expect(Instant.saturating(seconds: .min, nanoseconds: .min) == Instant(nanoseconds: .min))
        #expect(Instant.saturating(seconds: 9_223_372_036, nanoseconds: 854_775_808) == Instant(nanoseconds: .max))
    }

    @Test("one fix per receiver time, the last report of each epoch, stragglers dropped")
    func collector() {
        var c = GPSEpochCollector()
        let first = c.receive(Self.fix(10, speed: nil)).fix
        let second = c.receive(Self.fix(10, speed: 3)).fix
        let third = c.receive(Self.fix(11)).fix
        #expect(first == nil && second == nil)
        #expect(third == Self.fix(10, speed: 3))
        let flushed = c.flush(), again = c.flush()
        #expect(flushed == Self.fix(11) && again == nil)
        // A late report for 11 after it was handed out is not a second fix.
        let late = c.receive(Self.fix(11, lat: 5)).fix
        #expect(late == nil && !c.isHolding)
    }

    @Test("no fix is announced once per transition, and per reason")
    func noFixTransitions() {
        var c = GPSEpochCollector()
        var out = c.receive(nil)
        #expect(out.enteredNoFix && out.fix == nil)
        out = c.receive(nil)
        #expect(!out.enteredNoFix)
        _ = c.receive(Self.fix(1))
        out = c.receive(nil)
        #expect(out.enteredNoFix && out.fix == Self.fix(1))
        let unplugged = c.enterNoFix(.noReceiver), again = c.enterNoFix(.noReceiver)
        #expect(unplugged && !again)
        out = c.receive(nil)
        #expect(out.enteredNoFix)
        #expect(c.state == .noFix(.receiverHasNoFix))
    }

    @Test("backoff doubles to its cap and starts over after a success")
    func backoff() {
        var b = ReconnectBackoff()
        let delays = (0..<6).map { _ in b.nextDelay() }
        #expect(delays == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1)])
        b.reset()
        #expect(b.nextDelay() == .milliseconds(100))
    }

    @Test("errors say what to do")
    func messages() {
        #expect(GPSEvent.unavailable(.connectionRefused(endpoint: "127.0.0.1:2947"), retryIn: .seconds(2)).description
                == "gpsd at 127.0.0.1:2947 refused the connection; is gpsd running? (retrying in 2 s)")
        #expect(GPSEvent.unavailable(.connectionLost(endpoint: "[::1]:2947"), retryIn: .milliseconds(400)).description
                == "the connection to gpsd at [::1]:2947 was lost; was gpsd stopped or restarted? (retrying in 400 ms)")
        #expect(GPSDSource(host: "::1").endpoint == "[::1]:2947")
        #expect(GPSDSource.openError(code: -6, endpoint: "h:1") == .connectionRefused(endpoint: "h:1"))
        #expect(GPSDSource.openError(code: -2, endpoint: "h:1") == .hostNotFound(endpoint: "h:1"))
    }
}

struct SelfConnectionTests {
    @Test("a connection to itself is recognised (and a normal one is not)")
    func selfConnection() throws {
        // Bind a socket to a port and connect it to that same address: TCP
        // simultaneous open makes it a connection to itself.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(freeLoopbackPort()).bigEndian
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
        try #require(bound == 0)
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, size) } }
        try #require(connected == 0)
        #expect(GPSDSource.isConnectedToItself(fd))

        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener); close(client) }
        addr.sin_port = UInt16(freeLoopbackPort()).bigEndian
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, size) } }
        listen(listener, 1)
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, size) } }
        try #require(ok == 0)
        #expect(!GPSDSource.isConnectedToItself(client))
    }
}
