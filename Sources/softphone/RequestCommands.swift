import ArgumentParser
import Phone

struct Register: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Register with the registrar (digest MD5 or SHA-256) and exit; --stay keeps refreshing.")
    @Option(help: "Stay registered this many seconds (refreshing before expiry), then unregister.") var stay: Double?
    @Flag(help: "Remove the binding instead (Expires: 0).") var unregister = false
    @OptionGroup var common: CommonOptions

    func run() async throws {
        try checkFlags(seconds: [("stay", stay)])
        let c = try common.configuration(defaultPort: 0)
        guard c.registrar != nil else { throw ValidationError("register needs --registrar (or registrar in the account file)") }
        var script = RegistrationScript()
        script.stay = stay
        script.unregister = unregister
        let printer = EventPrinter(json: common.json)
        try finish(with: try await script.run(configuration: c, observe: printer.print))
    }
}

struct Message: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send a SIP MESSAGE (RFC 3428) with TEXT to URI.")
    @Argument var uri: String
    @Argument var text: String
    @OptionGroup var common: CommonOptions

    func run() async throws {
        let (uri, text) = (uri, text)
        try await standaloneRequest(common, toward: uri, RequestScript { try $0.sendMessage(uri, text: text) })
    }
}

struct Options: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send OPTIONS to URI and print the answer.")
    @Argument var uri: String
    @OptionGroup var common: CommonOptions

    func run() async throws {
        let uri = uri
        try await standaloneRequest(common, toward: uri, RequestScript { try $0.sendOptions(uri) })
    }
}

func standaloneRequest(_ common: CommonOptions, toward target: String, _ script: RequestScript) async throws {
    let c = try common.configuration(defaultPort: 0, toward: target)
    let printer = EventPrinter(json: common.json)
    try finish(with: try await script.run(configuration: c, observe: printer.print))
}
