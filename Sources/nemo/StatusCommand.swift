import ArgumentParser
import MobilityLinux

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a running home agent's or mobile router's bindings and counters.")

    @Option(name: .long, help: "Control socket of the daemon.")
    var control: String = "/run/nemo/mr.sock"

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @Flag(name: .long, help: "Print Prometheus metrics text.")
    var metrics = false

    func run() throws {
        print(try ControlServer.query(path: control, command: json ? "json" : metrics ? "metrics" : "status"), terminator: "")
    }
}
