/// Which packets a flow policy covers, written from the mobile network's point of view:
/// "local" is the mobile network side, "remote" the correspondent side.
public struct FlowMatch: Hashable, Sendable, Codable {
    /// IP protocol / IPv6 next header (17 UDP, 6 TCP).
    public var `protocol`: UInt8?
    public var localPorts: ClosedRange<UInt16>?
    public var remotePorts: ClosedRange<UInt16>?
    public var localPrefix: IPv6Prefix?
    public var remotePrefix: IPv6Prefix?
    /// DSCP (six bits).
    public var dscp: UInt8?

    public init(protocol: UInt8? = nil, localPorts: ClosedRange<UInt16>? = nil, remotePorts: ClosedRange<UInt16>? = nil,
                localPrefix: IPv6Prefix? = nil, remotePrefix: IPv6Prefix? = nil, dscp: UInt8? = nil) {
        self.protocol = `protocol`
        self.localPorts = localPorts
        self.remotePorts = remotePorts
        self.localPrefix = localPrefix
        self.remotePrefix = remotePrefix
        self.dscp = dscp
    }

    /// Whether a packet leaving the mobile network (source local, destination remote) matches.
    public func matchesOutbound(_ flow: FlowKey) -> Bool {
        if let p = `protocol`, flow.nextHeader != p { return false }
        if let r = localPorts { guard let port = flow.sourcePort, r.contains(port) else { return false } }
        if let r = remotePorts { guard let port = flow.destinationPort, r.contains(port) else { return false } }
        if let p = localPrefix, !p.contains(flow.source.asIPv6) { return false }
        if let p = remotePrefix, !p.contains(flow.destination.asIPv6) { return false }
        if let d = dscp, flow.trafficClass >> 2 != d { return false }
        return true
    }

    /// The RFC 6088 selector the home agent applies to packets towards the mobile network.
    public var downlinkSelector: IPv6TrafficSelector {
        func range(_ p: IPv6Prefix) -> SelectorRange<IPv6Address> {
            let last = IPv6Prefix.mask(IPv6Address(high: ~0, low: ~0), p.length)
            let end = IPv6Address(high: p.address.high | ~last.high, low: p.address.low | ~last.low)
            return SelectorRange(p.address, end == p.address ? nil : end)
        }
        func ports(_ r: ClosedRange<UInt16>) -> SelectorRange<UInt16> {
            SelectorRange(r.lowerBound, r.upperBound == r.lowerBound ? nil : r.upperBound)
        }
        return IPv6TrafficSelector(
            sourceAddress: remotePrefix.map(range), destinationAddress: localPrefix.map(range),
            sourcePort: remotePorts.map(ports), destinationPort: localPorts.map(ports),
            trafficClass: dscp.map { SelectorRange($0 << 2) }, nextHeader: `protocol`.map { SelectorRange($0) })
    }
}

/// "RTP and SIP over cellular, bulk over WLAN": a match, the uplinks it prefers in order, and
/// the flow identifier and priority under which the home agent installs it.
public struct FlowPolicy: Hashable, Sendable, Codable {
    public var name: String
    /// FID at the home agent, unique per mobile router, non-zero.
    public var fid: UInt16
    /// FID-PRI: lower is evaluated first.
    public var priority: UInt16
    public var match: FlowMatch
    /// Uplink names, most preferred first; if none of them is registered the flow fails over
    /// to whatever uplink is.
    public var uplinks: [String]
    /// Make-before-break for this flow: its flow binding names every registered uplink of
    /// `uplinks` (RFC 6089 BID references), so the home agent sends each downlink packet down all
    /// of them and the router keeps the first copy (`discardDuplicates`). When the preferred
    /// uplink dies, the copies on the next one are already arriving: nothing waits for a BU.
    /// The uplink direction still uses the first registered uplink only. Absent: false.
    public var duplicate: Bool?

    public var duplicates: Bool { duplicate ?? false }

    public init(name: String, fid: UInt16, priority: UInt16, match: FlowMatch, uplinks: [String], duplicate: Bool? = nil) {
        self.name = name
        self.fid = fid
        self.priority = priority
        self.match = match
        self.uplinks = uplinks
        self.duplicate = duplicate
    }
}

extension IPv6Prefix: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let p = IPv6Prefix(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IPv6 prefix: \(text)"))
        }
        self = p
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension IPv6Address: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let a = IPv6Address(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IPv6 address: \(text)"))
        }
        self = a
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
