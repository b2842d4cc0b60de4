import ArgumentParser
import Dispatch
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Xcast

/// A flag value that must be [ADDR]:PORT.
func parseEndpoint(_ text: String, flag: String) throws -> Endpoint {
    guard let e = Endpoint(text) else {
        throw ValidationError("\(flag) \"\(text)\" is not [IPV6-ADDRESS]:PORT (for example [::1]:5004 or [2001:db8::7]:4000; port 1–65535)")
    }
    return e
}

/// A listening endpoint: [ADDR]:PORT, where port 0 is allowed.
func parseListen(_ text: String, flag: String) throws -> Endpoint {
    if text.hasSuffix("]:0"), let e = Endpoint(String(text.dropLast()) + "1") { return Endpoint(address: e.address, port: 0) }
    return try parseEndpoint(text, flag: flag)
}

func parseSession(_ name: String) throws -> ChannelID {
    guard let c = ChannelID(name: name) else { throw ValidationError("--session \"\(name)\" must be 1–16 characters of A-Z a-z 0-9 . _ -") }
    return c
}

func parseToken(_ text: String) throws -> SessionToken {
    guard let t = SessionToken(text) else { throw ValidationError("--token must be 1–64 printable ASCII characters without spaces") }
    return t
}

/// Seconds on a monotonic clock.
func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A flag set from signal handlers and read by loops.
final class SignalFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    func take() -> Bool { value.withLock { v in defer { v = false }; return v } }
    var isSet: Bool { value.withLock { $0 } }
}

/// Sets `flag` on each of `signals` (the default action is suppressed).
func onSignals(_ signals: [Int32], set flag: SignalFlag) -> [DispatchSourceSignal] {
    signals.map { s in
        signal(s, SIG_IGN)
        let src = DispatchSource.makeSignalSource(signal: s, queue: .global())
        src.setEventHandler { flag.set() }
        src.resume()
        return src
    }
}

func warn(_ message: String) {
    let line = Array("xcast6: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// Serves /metrics from `metrics` on `endpoint`.
func serveMetrics(_ metrics: Metrics, on endpoint: Endpoint) throws -> HTTPServer {
    try HTTPServer(bind: endpoint) { path, conn in
        if path == "/metrics" {
            conn.respond(status: "200 OK", type: "text/plain; version=0.0.4", body: Array(metrics.render().utf8))
        } else {
            conn.respond(status: "404 Not Found", type: "text/plain", body: Array("try /metrics\n".utf8))
        }
    }
}
