import ArgumentParser
import Logging
import MobilityLinux

/// The flags `nemo ha` and `nemo mr` share: the configuration file, and a flag for each key both
/// files have (`DaemonFile`), which overrides it.
struct DaemonOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (JSON).")
    var config: String

    @Option(name: .long, help: "TUN interface name (overrides 'tunnel'; default nemo0).")
    var tunnel: String?

    @Option(name: .long, help: "Control socket path for 'nemo status' (overrides 'control').")
    var control: String?

    @Option(name: .long, help: "Serve Prometheus metrics over HTTP on this port (overrides 'metricsPort').")
    var metricsPort: UInt16?

    /// Reads `--config` and applies the shared flags over its keys; the command applies its own.
    func load<File: DaemonFile>(_ type: File.Type) throws -> File {
        applied(to: try loadConfiguration(File.self, path: config))
    }

    /// `file` with the shared flags over its keys.
    func applied<File: DaemonFile>(to file: File) -> File {
        var file = file
        if let tunnel { file.tunnel = tunnel }
        if let control { file.control = control }
        if let metricsPort { file.metricsPort = metricsPort }
        return file
    }

    /// Serves `nemo status` on the file's control socket (or `defaultControl`) and metrics on its
    /// metrics port, if any.
    static func serveStatus(of file: some DaemonFile, defaultControl: String,
                            status: @escaping @Sendable () -> NemoStatus,
                            commands: @escaping @Sendable (String) -> String? = { _ in nil }) throws -> ControlServer {
        try ControlServer(path: file.control ?? defaultControl, metricsPort: file.metricsPort, status: status, commands: commands)
    }
}

struct LoggingOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func logger(_ label: String) -> Logger {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var l = Logger(label: label)
        l.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        return l
    }
}
