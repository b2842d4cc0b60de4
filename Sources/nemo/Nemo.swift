import ArgumentParser

@main
struct Nemo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nemo",
        abstract: "NEMO mobility over UDP: home agent, mobile router, status.",
        discussion: """
        Mobility Header signaling and IPv6-in-IPv6 data both travel in UDP port 4191 (DSMIPv6 style)
        between a mobile router and its home agent, with a TUN device on each end. See docs/mobility.md.
        """,
        subcommands: [HomeAgentCommand.self, MobileRouterCommand.self, JoinCommand.self, StatusCommand.self])
}
