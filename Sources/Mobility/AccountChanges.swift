import Timekeeping

/// What a live change of a home agent's accounts did (`HomeAgent.replaceAccounts`).
public struct AccountChanges: Hashable, Sendable {
    /// Home addresses of routers admitted from now on.
    public var added: [IPv6Address] = []
    /// Home addresses of routers no longer served (revoked): refused from now on.
    public var removed: [IPv6Address] = []
    /// Routers whose security association (SPI, key, NAI), prefixes, IPv4 home address or mobile-router permission changed.
    public var changed: [IPv6Address] = []
    /// Routers whose other settings (lifetime, bindings cap, replay protection, duplicate downlink) changed.
    public var adjusted: [IPv6Address] = []
    /// Bindings dropped at once because their router was removed or changed.
    public var bindingsDropped = 0

    public init() {}

    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty && adjusted.isEmpty }
}

extension HomeAgent {
    /// Serves `accounts` from now on, without a restart. A router that is gone, or whose security
    /// association, prefixes or permission changed, loses its bindings and its routes at once (its
    /// next BU is judged by the new accounts: refused when gone or signed with the old key); every
    /// other router keeps its bindings untouched. The caller has checked the list (distinct home
    /// addresses, no overlapping prefixes).
    public mutating func replaceAccounts(_ list: [MobileRouterAccount], now: Instant) -> (output: HomeAgentOutput, changes: AccountChanges) {
        var out = HomeAgentOutput()
        var changes = AccountChanges()
        var next: [IPv6Address: MobileRouterAccount] = [:]
        for a in list { next[a.homeAddress] = a }
        for (hoa, old) in accounts.sorted(by: { $0.key < $1.key }) {
            guard let new = next[hoa] else {
                changes.removed.append(hoa)
                changes.bindingsDropped += dropBindings(of: hoa, reason: "account revoked", now: now, into: &out)
                continue
            }
            guard new != old else { continue }
            if new.key != old.key || new.identifier != old.identifier || new.prefixes != old.prefixes
                || new.mobileRouterAllowed != old.mobileRouterAllowed || new.ipv4HomeAddress != old.ipv4HomeAddress {
                changes.changed.append(hoa)
                changes.bindingsDropped += dropBindings(of: hoa, reason: "account changed", now: now, into: &out)
            } else {
                changes.adjusted.append(hoa)
            }
        }
        changes.added = next.keys.filter { accounts[$0] == nil }.sorted()
        for hoa in changes.removed {
            if revokedAccounts.count >= HomeAgent.maximumRevokedKept, let any = revokedAccounts.keys.first { revokedAccounts[any] = nil }
            revokedAccounts[hoa] = accounts[hoa]
        }
        for hoa in changes.added { revokedAccounts[hoa] = nil }
        accounts = next
        configuration.accounts = list
        owners = AccountOwnerIndex(list)
        revokedOwners = AccountOwnerIndex(revokedAccounts.values)
        if changes.bindingsDropped > 0 { count("bindings_dropped_by_reload") }
        return (out, changes)
    }

    /// Revoked accounts remembered to refuse their routers with an answer they can verify.
    public static let maximumRevokedKept = 10_000

    /// Removes every binding of `hoa` and its prefix routes; returns how many bindings there were.
    private mutating func dropBindings(of hoa: IPv6Address, reason: String, now: Instant, into out: inout HomeAgentOutput) -> Int {
        guard let entry = cache[hoa], entry.deletedAt == nil, !entry.bindings.isEmpty else { return 0 }
        var emptied = entry
        emptied.bindings = [:]
        emptied.flows = []
        commit(emptied, oldPrefixes: entry.prefixes, oldBindings: entry.bindings, oldIPv4HomeAddress: entry.ipv4HomeAddress,
               now: now, reason: reason, into: &out)
        return entry.bindings.count
    }
}
