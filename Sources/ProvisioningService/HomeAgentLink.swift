import Foundation
import Logging
import Mobility
import MobilityLinux
import Provisioning
import SystemSupport

/// The service's hold on `nemo ha`: it writes the accounts file the HA reads (`accountsFile` in
/// the HA's configuration, mode 0600, replaced atomically) and asks the HA over its control
/// socket to take it live (`reload`); it reads the HA's status for the operator's statistics.
public struct HomeAgentLink: Sendable {
    /// The accounts file `nemo ha` reads (its `accountsFile` key).
    public var accountsFile: String
    /// The HA's control socket; nil: write the file only (the operator reloads the HA).
    public var control: String?

    public init(accountsFile: String, control: String?) {
        self.accountsFile = accountsFile
        self.control = control
    }

    /// What the HA said to a reload.
    public enum ReloadOutcome: Sendable, Equatable {
        case reloaded(String)
        /// No control socket configured: the file is written, the HA reads it at its next reload.
        case fileOnly
        /// The HA refused the file or could not be reached; the message says which.
        case failed(String)
    }

    /// Writes the active routers' accounts and asks the HA to reload.
    public func publish(_ store: ServiceStore) throws -> ReloadOutcome {
        let keys = try store.keys()
        // A suspended owner's routers leave the HA with them.
        let suspended = Set(try store.users().filter(\.suspended).map(\.id))
        let active = try store.routers().filter { $0.status == .active && !suspended.contains($0.owner) }.compactMap { r -> MobileRouterAccountFile? in
            guard let key = keys[r.id] else { return nil }
            // A mobile host (no prefix) may not register as a router (the HA answers 140).
            return MobileRouterAccountFile(homeAddress: r.homeAddress, nai: "router-\(r.id)", spi: r.spi, key: key,
                                           prefixes: r.prefixes.compactMap(IPv6Prefix.init), maximumLifetime: r.lifetime,
                                           mobileRouterAllowed: r.prefixes.isEmpty ? false : nil,
                                           maximumBindings: r.multipleCareOf ? nil : 1, ipv4HomeAddress: r.ipv4HomeAddress)
        }
        try write(AccountsFile(mobileRouters: active))
        guard let control else { return .fileOnly }
        do {
            let answer = try ControlServer.query(path: control, command: "reload").trimmingCharacters(in: .whitespacesAndNewlines)
            return answer.hasPrefix("reloaded") ? .reloaded(answer) : .failed(answer)
        } catch {
            return .failed("the home agent's control socket \(control) did not answer (\(error)); the accounts file is written, reload nemo ha by hand (nemo status --control \(control) --reload, or SIGHUP)")
        }
    }

    func write(_ file: AccountsFile) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try e.encode(file)
        let directory = (accountsFile as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        // 0600 before a byte of a key is in it; atomic, so nemo ha never reads half a file.
        do {
            try PrivateFileWriter.write(Array(data), to: accountsFile)
        } catch {
            throw AccountsFileError(path: accountsFile, reason: "\(error.step): \(String(cString: strerror(error.errno)))")
        }
    }

    /// The HA's status now, as a statistics sample.
    public func sample(now: Int64) throws -> HomeAgentSample? {
        guard let control else { return nil }
        let text = try ControlServer.query(path: control, command: "json")
        let status = try JSONDecoder().decode(NemoStatus.self, from: Data(text.utf8))
        return HomeAgentSample(at: now, bindings: status.bindings.count, routers: Set(status.bindings.map(\.homeAddress)).count,
                               counters: status.counters)
    }
}

/// The HA's accounts file could not be written (the service keeps its database; the HA keeps
/// serving the accounts it has until the file can be written again).
public struct AccountsFileError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot write the home agent's accounts file \(path): \(reason)" }
}
