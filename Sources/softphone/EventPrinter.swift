import FoundationEssentials
import SystemSupport
#if canImport(Glibc)
import Glibc
#endif
import Phone

/// Prints events as text or JSON lines.
struct EventPrinter {
    let json: Bool

    func print(_ e: PhoneEvent) {
        var o: [String: Any] = [:]
        switch e {
        case .listening(let h, let p): o = ["event": "listening", "host": h, "port": p]
        case .registered(let exp): o = ["event": "registered", "expires": exp]
        case .registrationFailed(let s, let r): o = ["event": "registration-failed", "status": s, "reason": r]
        case .unregistered: o = ["event": "unregistered"]
        case .incomingCall(let c, let f, let name):
            o = ["event": "incoming", "call": c, "from": f]
            if let name { o["name"] = name }
        case .ringing(let c, let s): o = ["event": "ringing", "call": c, "status": s]
        case .answered(let c, let codec): o = ["event": "answered", "call": c, "codec": codec]
        case .established(let c): o = ["event": "established", "call": c]
        case .dtmf(let c, let d): o = ["event": "dtmf", "call": c, "digit": d]
        case .message(let f, let t): o = ["event": "message", "from": f, "text": t]
        case .requestResult(let id, let s, let r): o = ["event": "response", "id": id, "status": s, "reason": r]
        case .mediaEnded(let c): o = ["event": "media-ended", "call": c]
        case .mediaUpdated(let c, let d): o = ["event": "media-updated", "call": c, "direction": d]
        case .error(let why): o = ["event": "error", "message": why]
        case .ended(let c, let reason, let stats):
            o = ["event": "ended", "call": c, "reason": reason.description]
            if let s = stats {
                o["statistics"] = ["codec": s.codec, "packets_sent": s.packetsSent, "packets_received": s.packetsReceived,
                                   "packets_lost": s.packetsLost, "loss": (s.lossRatio * 10000).rounded() / 10000,
                                   "jitter_ms": (s.jitterMs * 100).rounded() / 100, "concealed_frames": s.concealedFrames,
                                   "mos": s.mos, "seconds": (s.seconds * 100).rounded() / 100, "frame_ms": s.frameMs,
                                   "packets_rejected": s.packetsRejected] as [String: Any]
            }
        }
        if json {
            Swift.print(TerminalText.jsonSafe(JSONText.encode(o)))
        } else {
            let name = o.removeValue(forKey: "event") as? String ?? "?"
            // every value may hold a remote string (display name, reason phrase, MESSAGE text):
            // escaped and quoted, so it cannot drive the terminal or forge fields
            Swift.print(name + " " + o.keys.sorted().map { "\($0)=\(TerminalText.field(String(describing: o[$0]!)))" }.joined(separator: " "))
        }
        fflush(nil)  // every output stream; `stdout` is a global var Swift 6 will not touch unsynchronised
    }
}
