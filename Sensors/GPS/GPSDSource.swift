import CGPS
import SystemSupport
import Timekeeping
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// GPS fixes from gpsd, read through libgps (gpsd 3.22 API).
///
/// The source may start before gpsd does: it keeps trying to connect with a
/// capped exponential backoff (1 s cap by default, so it connects within about a
/// second of gpsd coming up), and does the same after gpsd is stopped or
/// restarted. While it has no fix it says so (`.noFix`) and reports nothing else;
/// it never repeats or invents a position. Every distinct fix gpsd reports is
/// delivered once, keyed by the receiver's time (see `GPSEpochCollector`).
///
/// libgps is blocking, so the work runs on its own thread; the stream is the only
/// thing shared with the caller. Ending the stream's iteration stops the thread.
public struct GPSDSource: Sendable {
    /// gpsd host name or address.
    public var host: String
    /// gpsd TCP port (2947 by default).
    public var port: Int
    /// Delays between connection attempts.
    public var backoff: ReconnectBackoff
    /// How long gpsd must stay quiet before a held fix is handed out anyway.
    /// A receiver sends all reports of an epoch in a burst, and the next epoch
    /// closes the previous one, so this only matters at the end of a run or when
    /// the receiver stops talking.
    public var quietFlush: Duration

    /// `gpsd` at `host:port`.
    public init(host: String = "127.0.0.1", port: Int = 2947,
                backoff: ReconnectBackoff = ReconnectBackoff(),
                quietFlush: Duration = .milliseconds(1500)) {
        self.host = host
        self.port = port
        self.backoff = backoff
        self.quietFlush = quietFlush
    }

    /// `host:port` as it appears in messages.
    public var endpoint: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Starts reading; runs until the consumer stops iterating.
    public func events() -> AsyncStream<GPSEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: GPSEvent.self)
        let stop = StopFlag()
        continuation.onTermination = { _ in stop.set() }
        let config = self
        let rc = BlockingThread.start(name: "gpsd \(endpoint)") {
            config.run(continuation: continuation, stop: stop)
            continuation.finish()
        }
        if rc != 0 {
            continuation.yield(.unavailable(.threadUnavailable(errno: rc), retryIn: .zero))
            continuation.finish()
        }
        return stream
    }

    private func run(continuation: AsyncStream<GPSEvent>.Continuation, stop: StopFlag) {
        var backoff = self.backoff
        var collector = GPSEpochCollector()

        while !stop.isSet {
            var data = gps_data_t()
            if gps_open(host, String(port), &data) != 0 {
                let error = Self.openError(code: nautilus_gps_errno(), endpoint: endpoint)
                if collector.enterNoFix(.providerUnreachable) {
                    continuation.yield(.noFix(.providerUnreachable))
                }
                let delay = backoff.nextDelay()
                continuation.yield(.unavailable(error, retryIn: delay))
                stop.sleep(delay)
                continue
            }
            // Connecting again and again to a port in the ephemeral range while
            // nothing listens can end in a connection to ourselves, which would
            // also keep gpsd from binding the port: treat it as refused.
            if Self.isConnectedToItself(data.gps_fd) {
                gps_close(&data)
                if collector.enterNoFix(.providerUnreachable) {
                    continuation.yield(.noFix(.providerUnreachable))
                }
                let delay = backoff.nextDelay()
                continuation.yield(.unavailable(.connectionRefused(endpoint: endpoint), retryIn: delay))
                stop.sleep(delay)
                continue
            }
            guard gps_stream(&data, UInt32(WATCH_ENABLE | WATCH_JSON), nil) == 0 else {
                gps_close(&data)
                let delay = backoff.nextDelay()
                continuation.yield(.unavailable(.watchFailed(endpoint: endpoint), retryIn: delay))
                stop.sleep(delay)
                continue
            }
            backoff.reset()
            continuation.yield(.connected(endpoint))

            readSession(&data, collector: &collector, continuation: continuation, stop: stop)
            gps_close(&data)
            if let fix = collector.flush() { continuation.yield(.fix(fix)) }
            if stop.isSet { break }

            if collector.enterNoFix(.providerUnreachable) {
                continuation.yield(.noFix(.providerUnreachable))
            }
            let delay = backoff.nextDelay()
            continuation.yield(.unavailable(.connectionLost(endpoint: endpoint), retryIn: delay))
            stop.sleep(delay)
        }
    }

    /// Reads one connection until it breaks or the consumer stops.
    private func readSession(_ data: inout gps_data_t, collector: inout GPSEpochCollector,
                             continuation: AsyncStream<GPSEvent>.Continuation, stop: StopFlag) {
        var message = [CChar](repeating: 0, count: 8192)
        let clock = ContinuousClock()
        var lastReport = clock.now
        var removed = Set<String>()
        while !stop.isSet {
            guard gps_waiting(&data, 250_000) else {
                if collector.isHolding, clock.now - lastReport >= quietFlush,
                   let fix = collector.flush() {
                    continuation.yield(.fix(fix))
                }
                continue
            }
            message[0] = 0
            let count = gps_read(&data, &message, Int32(message.count))
            if count < 0 { return }
            let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            if text.hasPrefix("{\"class\":\"TPV\"") {
                // gpsd 3.22 may still decode one buffered report from a receiver
                // after announcing its removal; no position follows "no receiver".
                if let device = Self.jsonString(text, "device"), removed.contains(device) { continue }
                lastReport = clock.now
                let output: GPSEpochCollector.Output
                switch Self.report(from: data.fix) {
                case .fix(let fix): output = collector.receive(fix)
                case .noFix: output = collector.receive(nil)
                case .unusable: continue
                }
                if let fix = output.fix { continuation.yield(.fix(fix)) }
                if output.enteredNoFix { continuation.yield(.noFix(.receiverHasNoFix)) }
            } else if text.hasPrefix("{\"class\":\"DEVICE\"") {
                let path = Self.jsonString(text, "path") ?? ""
                if data.dev.activated.tv_sec == 0 && data.dev.activated.tv_nsec == 0 {
                    removed.insert(path)
                    if let fix = collector.flush() { continuation.yield(.fix(fix)) }
                    if collector.enterNoFix(.noReceiver) { continuation.yield(.noFix(.noReceiver)) }
                } else {
                    removed.remove(path)
                }
            } else if text.hasPrefix("{\"class\":\"DEVICES\"") {
                if data.devices.ndevices == 0, collector.enterNoFix(.noReceiver) {
                    continuation.yield(.noFix(.noReceiver))
                }
            }
        }
    }

    /// Whether a TCP socket's local and peer addresses are the same.
    static func isConnectedToItself(_ fd: Int32) -> Bool {
        var local = sockaddr_storage(), peer = sockaddr_storage()
        var localLength = socklen_t(MemoryLayout<sockaddr_storage>.size), peerLength = localLength
        let gotLocal = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &localLength) }
        }
        let gotPeer = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &peerLength) }
        }
        guard gotLocal == 0, gotPeer == 0, localLength == peerLength else { return false }
        return withUnsafeBytes(of: &local) { a in
            withUnsafeBytes(of: &peer) { b in a.prefix(Int(localLength)).elementsEqual(b.prefix(Int(peerLength))) }
        }
    }

    /// The string value of `key` in one line of gpsd JSON (gpsd writes no
    /// spaces and escapes no quotes in paths), or nil.
    static func jsonString(_ line: String, _ key: String) -> String? {
        guard let start = line.firstRange(of: "\"\(key)\":\"") else { return nil }
        let rest = line[start.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }

    /// What one TPV report says.
    enum TPVReport {
        case fix(GPSFix)
        case noFix
        /// A position without a time yet (GGA before any date): nothing to key it by.
        case unusable
    }

    static func report(from fix: gps_fix_t) -> TPVReport {
        guard fix.mode >= MODE_2D else { return .noFix }
        guard fix.time.tv_sec != 0 || fix.time.tv_nsec != 0,
              fix.latitude.isFinite, fix.longitude.isFinite else { return .unusable }
        let time = Instant.saturating(seconds: Int64(fix.time.tv_sec), nanoseconds: Int64(fix.time.tv_nsec))
        let mode: GPSFixMode = fix.mode >= MODE_3D ? .threeD : .twoD
        return .fix(GPSFix(time: time, mode: mode, latitude: fix.latitude, longitude: fix.longitude,
                       altitudeHAE: finite(fix.altHAE), altitudeMSL: finite(fix.altMSL),
                       speed: finite(fix.speed), track: finite(fix.track), climb: finite(fix.climb),
                       eph: finite(fix.eph), epv: finite(fix.epv), eps: finite(fix.eps),
                       epd: finite(fix.epd), ept: finite(fix.ept)))
    }

    /// libgps leaves errno at one of its negative netlib codes after gps_open fails.
    static func openError(code: Int32, endpoint: String) -> GPSSourceError {
        switch code {
        case -6, ECONNREFUSED: .connectionRefused(endpoint: endpoint) // NL_NOCONNECT
        case -2, -1: .hostNotFound(endpoint: endpoint)                 // NL_NOHOST, NL_NOSERVICE
        default:
            .connectionFailed(endpoint: endpoint,
                              detail: code < 0 ? String(cString: gps_errstr(code)) : String(cString: strerror(code)))
        }
    }
}

@inline(__always) func finite(_ value: Double) -> Double? {
    value.isFinite ? value : nil
}

/// A stop request shared between a consumer and a reader thread.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    func set() { flag.store(true, ordering: .releasing) }
    var isSet: Bool { flag.load(ordering: .acquiring) }

    /// Sleeps up to `duration`, waking early (within 50 ms) when stopped.
    func sleep(_ duration: Duration) {
        let clock = ContinuousClock()
        let deadline = clock.now + duration
        while !isSet {
            let left = deadline - clock.now
            if left <= .zero { return }
            let slice = min(left, .milliseconds(50))
            let c = slice.components
            var ts = timespec(tv_sec: Int(c.seconds), tv_nsec: Int(c.attoseconds / 1_000_000_000))
            nanosleep(&ts, nil)
        }
    }
}
