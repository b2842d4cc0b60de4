import ArgumentParser

/// mobility-bench: the load generators bench/bench-mobility.sh runs against the daemons. Not shipped
/// with `nemo`.
@main
struct MobilityBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mobility-bench",
        abstract: "Load generators for bench/bench-mobility.sh.",
        subcommands: [SignalingBenchCommand.self, SonarBenchCommand.self])
}
