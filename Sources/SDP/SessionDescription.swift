/// Why text is not an SDP session description we accept.
public struct SDPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var detail: String
    public init(line: Int, _ detail: String) { self.line = line; self.detail = detail }
    public var description: String { "SDP line \(line): \(detail)" }
}

/// `c=` connection data. Addresses are written without brackets, IPv6 included (RFC 4566, RFC 5118 §4.6).
public struct SDPConnection: Sendable, Hashable {
    public var addressType: String   // "IP4" or "IP6"
    public var address: String
    public init(address: String) {
        self.address = address
        self.addressType = address.contains(":") ? "IP6" : "IP4"
    }
    public init(addressType: String, address: String) { self.addressType = addressType; self.address = address }
    var line: String { "IN \(addressType) \(address)" }
}

/// `o=` origin.
public struct SDPOrigin: Sendable, Hashable {
    public var username: String
    public var sessionID: String
    public var sessionVersion: UInt64
    public var connection: SDPConnection
    public init(username: String = "-", sessionID: String, sessionVersion: UInt64, address: String) {
        self.username = username
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.connection = SDPConnection(address: address)
    }
}

/// `a=name[:value]`.
public struct SDPAttribute: Sendable, Hashable {
    public var name: String
    public var value: String?
    public init(_ name: String, _ value: String? = nil) { self.name = name; self.value = value }
}

/// Media direction (RFC 3264 §5.1, §8.4 for hold).
public enum SDPDirection: String, Sendable, Hashable, CaseIterable {
    case sendrecv, sendonly, recvonly, inactive

    /// The direction an answerer uses for an offer with this direction, given what it wants.
    public func answer(wanting local: SDPDirection) -> SDPDirection {
        let offerSends = self == .sendrecv || self == .sendonly
        let offerReceives = self == .sendrecv || self == .recvonly
        let weSend = (local == .sendrecv || local == .sendonly) && offerReceives
        let weReceive = (local == .sendrecv || local == .recvonly) && offerSends
        switch (weSend, weReceive) {
        case (true, true): return .sendrecv
        case (true, false): return .sendonly
        case (false, true): return .recvonly
        case (false, false): return .inactive
        }
    }
}

/// `rtpmap` value: encoding name, clock rate, channels.
public struct SDPRTPMap: Sendable, Hashable {
    public var encoding: String
    public var clockRate: Int
    public var channels: Int
    public init(encoding: String, clockRate: Int, channels: Int = 1) {
        self.encoding = encoding
        self.clockRate = clockRate
        self.channels = channels
    }

    /// Clock rates an rtpmap may give (1 Hz … 192 kHz); others make the rtpmap unusable.
    public static let clockRates = 1...192_000
    /// Channel counts an rtpmap may give.
    public static let channelCounts = 1...8
}

/// One `m=` section with its attributes.
public struct SDPMedia: Sendable, Hashable {
    public var media: String
    public var port: Int
    public var portCount: Int?
    public var proto: String
    public var formats: [String]
    public var connection: SDPConnection?
    public var bandwidths: [String]
    public var attributes: [SDPAttribute]

    public init(media: String = "audio", port: Int, proto: String = "RTP/AVP", formats: [String],
                connection: SDPConnection? = nil, attributes: [SDPAttribute] = []) {
        self.media = media
        self.port = port
        self.portCount = nil
        self.proto = proto
        self.formats = formats
        self.connection = connection
        self.bandwidths = []
        self.attributes = attributes
    }

    public func attribute(_ name: String) -> String?? {
        attributes.first { $0.name == name }.map { $0.value }
    }
    public func attributes(_ name: String) -> [String] { attributes.filter { $0.name == name }.compactMap(\.value) }

    /// rtpmap for a payload type, falling back to the static RFC 3551 table.
    public func rtpmap(_ pt: Int) -> SDPRTPMap? {
        for v in attributes("rtpmap") {
            let parts = v.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, Int(parts[0]) == pt else { continue }
            let enc = parts[1].split(separator: "/")
            // RFC 4566 §6: clock rates and channel counts we can use are small positive numbers;
            // anything else (zero, negative, 2^63) names no format we could match
            guard enc.count >= 2, let rate = Int(enc[1]), SDPRTPMap.clockRates.contains(rate) else { return nil }
            let channels = enc.count > 2 ? Int(enc[2]) ?? 1 : 1
            guard SDPRTPMap.channelCounts.contains(channels) else { return nil }
            return SDPRTPMap(encoding: String(enc[0]), clockRate: rate, channels: channels)
        }
        return SDPMedia.staticPayloadTypes[pt]
    }

    /// fmtp parameters for a payload type (the text after the payload type).
    public func fmtp(_ pt: Int) -> String? {
        for v in attributes("fmtp") {
            let parts = v.split(separator: " ", maxSplits: 1)
            if parts.count == 2, Int(parts[0]) == pt { return String(parts[1]) }
        }
        return nil
    }

    public var direction: SDPDirection {
        for a in attributes.reversed() { if let d = SDPDirection(rawValue: a.name) { return d } }
        return .sendrecv
    }

    public mutating func setDirection(_ d: SDPDirection) {
        attributes.removeAll { SDPDirection(rawValue: $0.name) != nil }
        attributes.append(SDPAttribute(d.rawValue))
    }

    /// `a=ptime:` as written (milliseconds; RFC 4566 allows fractions, which we round down).
    /// Any integer the peer wrote, 600000000 included: `OfferAnswer` clamps it to `PacketTime.range`.
    public var ptime: Int? { attribute("ptime").flatMap { $0 }.flatMap { PacketTime.parse($0) } }
    /// `a=maxptime:` (RFC 4566 §6), as written; clamped like ptime where used.
    public var maxptime: Int? { attribute("maxptime").flatMap { $0 }.flatMap { PacketTime.parse($0) } }
    /// `a=rtcp:` port (RFC 3605); nil means RTP port + 1. A value that is not a port 1…65535 is ignored.
    public var rtcpPort: Int? {
        attribute("rtcp").flatMap { $0 }.flatMap { Int($0.split(separator: " ").first ?? "") }.flatMap { (1...65535).contains($0) ? $0 : nil }
    }
    /// The RTCP port: `a=rtcp:` or the RTP port + 1 (the RTP port itself for 65535, which has no successor).
    public var effectiveRTCPPort: Int { rtcpPort ?? (port < 65535 ? port + 1 : port) }

    public static let staticPayloadTypes: [Int: SDPRTPMap] = [
        0: SDPRTPMap(encoding: "PCMU", clockRate: 8000),
        3: SDPRTPMap(encoding: "GSM", clockRate: 8000),
        8: SDPRTPMap(encoding: "PCMA", clockRate: 8000),
        9: SDPRTPMap(encoding: "G722", clockRate: 8000),
        18: SDPRTPMap(encoding: "G729", clockRate: 8000),
    ]
}

/// An SDP session description (RFC 4566) with one type per line kind.
public struct SessionDescription: Sendable, Hashable {
    public var origin: SDPOrigin
    public var sessionName: String
    public var connection: SDPConnection?
    public var bandwidths: [String]
    public var times: [String]
    public var attributes: [SDPAttribute]
    public var media: [SDPMedia]

    public init(origin: SDPOrigin, sessionName: String = "-", connection: SDPConnection? = nil,
                attributes: [SDPAttribute] = [], media: [SDPMedia] = []) {
        self.origin = origin
        self.sessionName = sessionName
        self.connection = connection
        self.bandwidths = []
        self.times = ["0 0"]
        self.attributes = attributes
        self.media = media
    }

    /// The connection address that applies to a media section.
    public func connection(for m: SDPMedia) -> SDPConnection? { m.connection ?? connection }

    public init(parsing bytes: some Collection<UInt8>) throws(SDPParseError) {
        try self.init(parsing: String(decoding: bytes, as: UTF8.self))
    }

    public init(parsing text: String) throws(SDPParseError) {
        var origin: SDPOrigin? = nil
        var name: String? = nil
        var conn: SDPConnection? = nil
        var bws: [String] = [], times: [String] = [], attrs: [SDPAttribute] = []
        var media: [SDPMedia] = []
        var sawVersion = false
        var n = 0
        for raw in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            n += 1
            var line = raw
            if line.last == "\r" { line = line.dropLast() }
            if line.isEmpty { continue }
            guard line.count >= 2, let type = line.first, type.isASCII, type.isLetter,
                  line[line.index(after: line.startIndex)] == "=" else {
                throw SDPParseError(line: n, "'\(line.prefix(40))' is not 'x=value'")
            }
            let value = line.dropFirst(2)
            if !sawVersion {
                guard type == "v", value == "0" else { throw SDPParseError(line: n, "first line must be v=0") }
                sawVersion = true
                continue
            }
            switch type {
            case "o":
                let f = value.split(separator: " ", omittingEmptySubsequences: true)
                guard f.count == 6, f[3] == "IN", let ver = UInt64(f[2]) else { throw SDPParseError(line: n, "bad origin '\(value)'") }
                var o = SDPOrigin(username: String(f[0]), sessionID: String(f[1]), sessionVersion: ver, address: String(f[5]))
                o.connection = try SessionDescription.parseConnection(value: "IN \(f[4]) \(f[5])", line: n)
                origin = o
            case "s": name = String(value)
            case "c":
                let c = try SessionDescription.parseConnection(value: value, line: n)
                if media.isEmpty { conn = c } else { media[media.count - 1].connection = c }
            case "b":
                if media.isEmpty { bws.append(String(value)) } else { media[media.count - 1].bandwidths.append(String(value)) }
            case "t": times.append(String(value))
            case "a":
                let a: SDPAttribute
                if let colon = value.firstIndex(of: ":") {
                    a = SDPAttribute(String(value[..<colon]), String(value[value.index(after: colon)...]))
                } else {
                    a = SDPAttribute(String(value))
                }
                guard !a.name.isEmpty else { throw SDPParseError(line: n, "empty attribute name") }
                if media.isEmpty { attrs.append(a) } else { media[media.count - 1].attributes.append(a) }
            case "m":
                let f = value.split(separator: " ", omittingEmptySubsequences: true)
                guard f.count >= 3 else { throw SDPParseError(line: n, "media line '\(value)' needs media, port and proto") }
                let portField = f[1].split(separator: "/", omittingEmptySubsequences: false)
                guard portField.count <= 2, let port = Int(portField[0]), (0...65535).contains(port) else {
                    throw SDPParseError(line: n, "media port '\(f[1])' is not a port")
                }
                var m = SDPMedia(media: String(f[0]), port: port, proto: String(f[2]), formats: f.dropFirst(3).map(String.init))
                if portField.count == 2 {
                    guard let c = Int(portField[1]), c > 0 else { throw SDPParseError(line: n, "bad port count in '\(f[1])'") }
                    m.portCount = c
                }
                media.append(m)
            case "v": throw SDPParseError(line: n, "second v= line")
            default: continue   // i=, u=, e=, p=, z=, k=, r= carry nothing we use
            }
        }
        guard sawVersion else { throw SDPParseError(line: 0, "empty description") }
        guard let origin else { throw SDPParseError(line: n, "no o= line") }
        guard let name else { throw SDPParseError(line: n, "no s= line") }
        self.origin = origin
        self.sessionName = name
        self.connection = conn
        self.bandwidths = bws
        self.times = times.isEmpty ? ["0 0"] : times
        self.attributes = attrs
        self.media = media
    }

    static func parseConnection(value: Substring, line: Int) throws(SDPParseError) -> SDPConnection {
        let f = value.split(separator: " ", omittingEmptySubsequences: true)
        guard f.count == 3, f[0] == "IN", f[1] == "IP4" || f[1] == "IP6" else {
            throw SDPParseError(line: line, "connection '\(value)' is not 'IN IP4|IP6 address'")
        }
        // multicast TTL/count may follow a '/'
        let address = f[2].split(separator: "/").first.map(String.init) ?? ""
        let ok = f[1] == "IP4"
            ? address.split(separator: ".", omittingEmptySubsequences: false).count == 4 && address.allSatisfy { $0.isNumber || $0 == "." }
            : address.contains(":") && address.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        guard ok || address.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }) && !address.isEmpty else {
            throw SDPParseError(line: line, "'\(address)' is not an \(f[1]) address")
        }
        return SDPConnection(addressType: String(f[1]), address: address)
    }

    /// The description as text with CRLF line ends.
    public var text: String {
        var s = "v=0\r\n"
        s += "o=\(origin.username) \(origin.sessionID) \(origin.sessionVersion) \(origin.connection.line)\r\n"
        s += "s=\(sessionName)\r\n"
        if let connection { s += "c=\(connection.line)\r\n" }
        for b in bandwidths { s += "b=\(b)\r\n" }
        for t in times { s += "t=\(t)\r\n" }
        for a in attributes { s += "a=\(a.name)\(a.value.map { ":" + $0 } ?? "")\r\n" }
        for m in media {
            s += "m=\(m.media) \(m.port)\(m.portCount.map { "/\($0)" } ?? "") \(m.proto) \(m.formats.joined(separator: " "))\r\n"
            if let c = m.connection { s += "c=\(c.line)\r\n" }
            for b in m.bandwidths { s += "b=\(b)\r\n" }
            for a in m.attributes { s += "a=\(a.name)\(a.value.map { ":" + $0 } ?? "")\r\n" }
        }
        return s
    }

    public func write(to out: inout [UInt8]) { out.append(contentsOf: text.utf8) }
    public var bytes: [UInt8] { Array(text.utf8) }
}
