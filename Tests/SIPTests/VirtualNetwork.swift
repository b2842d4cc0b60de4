@testable import SIP
import Synchronization
import Timekeeping

/// Several user agents joined by a lossless-unless-told network and a virtual clock that starts
/// at the epoch, so `run(until: 2)` means two seconds into the test.
/// Every message crosses as octets, so each hop also exercises the writer and parser.
struct VirtualNetwork {
    var agents: [String: UserAgent] = [:]          // name -> agent
    var addresses: [String: String] = [:]          // "host:port" -> name
    var now = Instant.epoch
    var queue: [(bytes: [UInt8], from: SIPEndpoint, to: SIPEndpoint)] = []
    var events: [String: [UserAgentEvent]] = [:]
    var wire: [(from: String, to: SIPEndpoint, message: SIPMessage)] = []
    /// Return true to lose a message on the way.
    var drop: (SIPMessage, SIPEndpoint) -> Bool = { _, _ in false }
    /// Extra hands on the wire: a fake registrar or proxy that answers instead of an agent.
    var interceptors: [String: (SIPMessage, SIPEndpoint, inout VirtualNetwork) -> Void] = [:]

    mutating func add(_ name: String, port: Int, transport: SIPTransportKind = .udp, password: String? = nil,
                      domain: String = "127.0.0.1", configure: (inout UserAgentConfiguration) -> Void = { _ in }) {
        var c = UserAgentConfiguration(user: name, domain: domain, contactHost: .ipv4("127.0.0.1"), contactPort: port,
                                       defaultTransport: transport, password: password)
        configure(&c)
        let counter = TokenCounter(name)
        agents[name] = UserAgent(configuration: c, random: { counter.next() })
        addresses["127.0.0.1:\(port)"] = name
    }

    func endpoint(_ name: String) -> SIPEndpoint {
        let c = agents[name]!.configuration
        return SIPEndpoint(c.defaultTransport, c.contactHost.address, c.contactPort)
    }

    mutating func take(_ outputs: [UserAgentOutput], from name: String) {
        let me = agents[name]?.configuration
        for o in outputs {
            switch o {
            case .send(let m, let to):
                wire.append((name, to, m))
                let src = SIPEndpoint(to.transport, me?.contactHost.address ?? "127.0.0.1", me?.contactPort ?? 0)
                if drop(m, to) { continue }
                queue.append((m.bytes, src, to))
            case .event(let e):
                events[name, default: []].append(e)
            }
        }
    }

    mutating func with(_ name: String, _ body: (inout UserAgent, Instant) -> [UserAgentOutput]) {
        var a = agents[name]!
        let out = body(&a, now)
        agents[name] = a
        take(out, from: name)
    }

    /// Delivers queued messages and fires timers until `seconds` after the start (or until nothing is left).
    mutating func run(until seconds: Double) {
        let time = Instant.seconds(seconds)
        while true {
            while !queue.isEmpty {
                let (bytes, from, to) = queue.removeFirst()
                let key = "\(to.address):\(to.port)"
                if let hook = interceptors[key] {
                    if let m = try? SIPMessage(parsing: bytes) { hook(m, from, &self) }
                    continue
                }
                guard let name = addresses[key] else { continue }
                with(name) { a, now in a.receive(bytes: bytes, from: from, now: now) }
            }
            let next = agents.values.compactMap(\.nextDeadline).min()
            guard let next, next <= time else { now = time; return }
            now = Swift.max(now, next)
            for name in agents.keys.sorted() where (agents[name]!.nextDeadline.map { $0 <= now } ?? false) {
                with(name) { a, now in a.advance(to: now) }
            }
        }
    }

    /// Sends a message as if from `from` (used by interceptors).
    mutating func inject(_ m: SIPMessage, from: SIPEndpoint, to: SIPEndpoint) {
        queue.append((m.bytes, from, to))
    }
}

/// Deterministic tokens for one agent.
final class TokenCounter: Sendable {
    let n = Mutex(0)
    let prefix: String
    init(_ prefix: String) { self.prefix = prefix }
    func next() -> String { n.withLock { n in n += 1; return "\(prefix)\(n)" } }
}
