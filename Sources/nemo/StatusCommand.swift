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

    @Flag(name: .long, help: "Print the mobile router's SONAR handover records (JSON, as the onboard agent collects them).")
    var sonar = false

    @Option(name: .long, help: "With --sonar: only records numbered above this.")
    var after: UInt64 = 0

    @Flag(name: .long, help: "Make the home agent read its configuration file again and take its mobile routers live (as SIGHUP does): new ones admitted, removed ones revoked at once.")
    var reload = false

    func run() throws {
        let command = reload ? "reload" : sonar ? "sonar \(after)" : json ? "json" : metrics ? "metrics" : "status"
        print(try ControlServer.query(path: control, command: command), terminator: "")
    }
}
