import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import Xcast

struct Members: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List who is joined to a session at a sender (address, port, seconds left; 'static' for --receiver members)."
    )

    @Option(help: "The sender's control port [ADDR]:PORT (its --listen).") var sender: String
    @Option(help: "Session name.") var session: String = "live"
    @Option(help: "Session token.") var token: String

    func run() throws {
        let at = try parseEndpoint(sender, flag: "--sender")
        let channel = try parseSession(session)
        let socket = try UDPSocket(bind: nil, buffers: 1 << 16)
        var out = ByteBuffer()
        MembersQuery(channel: channel, token: try parseToken(token)).write(to: &out)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { buffer.deallocate() }
        for _ in 0..<3 {
            _ = out.withUnsafeReadableBytes { socket.send($0, to: at) }
            guard let (n, _) = socket.receive(into: buffer, timeoutMilliseconds: 1000) else { continue }
            var b = ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            switch try? ControlMessage(parsing: &b) {
            case .members(let list)?:
                print("session \(list.channel.name): \(list.entries.count) members")
                for e in list.entries { print("\(e.member)\t\(e.secondsLeft == .max ? "static" : "\(e.secondsLeft) s")") }
                return
            case .reply(let r)?:
                if case .refused(let why) = r.verdict { throw ValidationError("the sender refused the query for session \(session): \(why)") }
            default:
                continue
            }
        }
        throw ValidationError("no answer from \(at) (is `xcast6 send --token … --listen \(at)` running?)")
    }
}
