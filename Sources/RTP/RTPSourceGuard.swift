import Timekeeping

/// Decides which incoming RTP/RTCP packets belong to the call (sans-I/O, injected time).
///
/// Policy (docs/phone.md, "Who may send media"):
/// - **Address**: a packet must come from the address the peer's SDP negotiated — the
///   host *and* the port for RTP; the host for RTCP (its port may be RTP + 1, `a=rtcp` or
///   RTP itself with rtcp-mux). No latching: a packet from anywhere else is dropped and
///   counted, so a third party cannot inject audio or DTMF, even before the peer's
///   first packet. A re-INVITE that moves the stream moves the expected address.
/// - **SSRC**: the first SSRC from that address is locked. Another SSRC from the same
///   address takes over only after the locked one has been silent for `ssrcTimeout`
///   (a restarted sender), and every such change is counted.
public struct RTPSourceGuard: Sendable {
    public enum Verdict: Sendable, Equatable {
        case accept
        case wrongAddress
        case foreignSSRC
    }

    public var expectedHost: String
    public var expectedPort: Int
    public var ssrcTimeout: Duration
    public private(set) var lockedSSRC: UInt32?
    public private(set) var lastFromLocked: Instant?
    public private(set) var droppedWrongAddress = 0
    public private(set) var droppedForeignSSRC = 0
    public private(set) var ssrcChanges = 0

    public init(host: String, port: Int, ssrcTimeout: Duration = .seconds(2)) {
        expectedHost = RTPSourceGuard.normalized(host)
        expectedPort = port
        self.ssrcTimeout = ssrcTimeout
    }

    /// A new negotiated address (re-INVITE); the SSRC lock stays.
    public mutating func expect(host: String, port: Int) {
        expectedHost = RTPSourceGuard.normalized(host)
        expectedPort = port
    }

    static func normalized(_ host: String) -> String {
        var h = host.lowercased()
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        if h.hasPrefix("::ffff:"), h.contains(".") { h = String(h.dropFirst(7)) }
        return h
    }

    /// Checks the sender of an RTCP packet (host only).
    public mutating func admitRTCP(host: String) -> Bool {
        guard RTPSourceGuard.normalized(host) == expectedHost else { droppedWrongAddress += 1; return false }
        return true
    }

    /// Checks an RTP packet from `host`:`port` with `ssrc` arriving at `now`.
    public mutating func admit(host: String, port: Int, ssrc: UInt32, now: Instant) -> Verdict {
        guard port == expectedPort, RTPSourceGuard.normalized(host) == expectedHost else {
            droppedWrongAddress += 1
            return .wrongAddress
        }
        if let locked = lockedSSRC, locked != ssrc {
            guard let last = lastFromLocked, now - last >= ssrcTimeout else {
                droppedForeignSSRC += 1
                return .foreignSSRC
            }
            ssrcChanges += 1
        }
        lockedSSRC = ssrc
        lastFromLocked = now
        return .accept
    }
}
