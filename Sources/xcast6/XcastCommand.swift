import ArgumentParser

/// `xcast6`: the vehicle's camera to many viewers through explicit-multicast (RFC 5058) relays.
@main
struct XcastCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xcast6",
        abstract: "Live video over Xcast6: send a camera as RTP/JPEG to a list of receivers, relay it, receive it.",
        discussion: """
            Wire format and design: docs/xcast.md (version 1).
              xcast6 send --camera test|/dev/videoN --size WxH --fps N [--duration S] --receiver [ADDR]:PORT … [--relay [ADDR]:PORT]
              xcast6 relay --listen [ADDR]:PORT --table FILE        (SIGHUP reloads the table)
              xcast6 recv --listen [ADDR]:PORT --output DIR [--serve [ADDR]:PORT] [--join [SENDER]:PORT --token T]
              xcast6 members --sender [ADDR]:PORT --session NAME --token T
            The last hop is plain RTP over UDP: GStreamer, ffmpeg (SDP file) and VLC receive it as is.
            """,
        subcommands: [Send.self, Relay.self, Recv.self, Members.self, Sink.self, Blast.self]
    )
}

