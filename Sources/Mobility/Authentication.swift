import Crypto
import NIOCore
import Timekeeping

/// One MN-HA security association: SPI and 16-octet HMAC-SHA1 key (RFC 4285 §5.1).
public struct MobilityAuthenticationKey: Hashable, Sendable {
    public var spi: UInt32
    public var key: [UInt8]

    /// Octets of an MN-HA key (spec §6.1: "16-octet key").
    public static let keyLength = 16
    /// SPIs 0–255 are reserved (RFC 4285 §5, spec §6.1).
    public static let firstUsableSPI: UInt32 = 256

    /// What is wrong with this association, or nil when it can be used.
    public var problem: KeyProblem? {
        if key.count != MobilityAuthenticationKey.keyLength { return .badKeyLength(key.count) }
        if spi < MobilityAuthenticationKey.firstUsableSPI { return .reservedSPI(spi) }
        return nil
    }

    public enum KeyProblem: Hashable, Sendable {
        case badKeyLength(Int)
        case reservedSPI(UInt32)
    }

    public init(spi: UInt32, key: [UInt8]) {
        self.spi = spi
        self.key = key
    }
}

/// The RFC 4285 MN-HA authenticator: the first 96 bits of
/// HMAC-SHA1(key, CoA ‖ HoA ‖ MH from Payload Proto through the option's SPI, checksum zero).
public enum MobilityAuthenticator {
    public static let authenticatorLength = 12

    /// Offset (from the MH start) of the first MN-HA authentication option, if any.
    static func optionOffset(in mh: ByteBuffer) -> Int? { locateOption(in: mh)?.offset }

    /// The first MN-HA option's offset, and whether anything but padding follows it (RFC 4285 §5:
    /// it must be the last option, since octets after it are not covered by the authenticator).
    static func locateOption(in mh: ByteBuffer) -> (offset: Int, last: Bool)? {
        guard mh.readableBytes >= 8, let type = mh.getInteger(at: mh.readerIndex + 2, as: UInt8.self),
              let fixed = MobilityHeaderType.fixedLength(type) else { return nil }
        var offset = 6 + fixed
        let bytes = mh.readableBytesView
        var found: Int?
        while offset < bytes.count {
            let t = bytes[bytes.startIndex + offset]
            if t == MobilityOptionType.pad1 { offset += 1; continue }
            guard offset + 1 < bytes.count else { return found.map { ($0, false) } }
            let len = Int(bytes[bytes.startIndex + offset + 1])
            if let f = found {
                // Only padding may follow the MN-HA option.
                if t != MobilityOptionType.padN { return (f, false) }
            } else if t == MobilityOptionType.authentication, len >= 5, offset + 2 + len <= bytes.count,
                      bytes[bytes.startIndex + offset + 2] == MobilityAuthentication.mnHA {
                found = offset
            }
            offset += 2 + len
        }
        return found.map { ($0, true) }
    }

    /// HMAC-SHA1 over the authenticated data, truncated to 96 bits.
    public static func authenticator(key: [UInt8], careOfAddress: IPv6Address, homeAddress: IPv6Address, mobilityData: some Collection<UInt8>) -> [UInt8] {
        var input = careOfAddress.octets + homeAddress.octets
        input.append(contentsOf: mobilityData)
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: input, using: SymmetricKey(data: key))
        return Array(Array(mac).prefix(authenticatorLength))
    }

    static func authenticatedPrefix(_ mh: ByteBuffer, optionOffset: Int) -> [UInt8] {
        var bytes = Array(mh.readableBytesView.prefix(optionOffset + 7))
        bytes[4] = 0
        bytes[5] = 0
        return bytes
    }

    /// Fills the authenticator of the MN-HA option in a written MH (checksum not yet set).
    static func sign(_ mh: inout ByteBuffer, key: MobilityAuthenticationKey, careOfAddress: IPv6Address, homeAddress: IPv6Address) {
        guard let offset = optionOffset(in: mh) else { return }
        mh.setInteger(key.spi, at: mh.readerIndex + offset + 3)
        let auth = authenticator(key: key.key, careOfAddress: careOfAddress, homeAddress: homeAddress,
                                 mobilityData: authenticatedPrefix(mh, optionOffset: offset))
        mh.setBytes(auth, at: mh.readerIndex + offset + 7)
    }

    /// The outcome of checking a received MH's MN-HA option.
    public enum Verdict: Equatable, Sendable {
        case valid(spi: UInt32)
        case missing
        case unknownSPI(UInt32)
        case invalid(spi: UInt32)
        /// Options (not padding) follow the MN-HA option: refused whatever the authenticator says.
        case notLast(spi: UInt32)
    }

    /// Checks the MN-HA option of a received MH against the keys the receiver holds.
    public static func verify(_ mh: ByteBuffer, keys: (UInt32) -> [UInt8]?, careOfAddress: IPv6Address, homeAddress: IPv6Address) -> Verdict {
        guard let (offset, last) = locateOption(in: mh),
              let spi = mh.getInteger(at: mh.readerIndex + offset + 3, as: UInt32.self),
              let len = mh.getInteger(at: mh.readerIndex + offset + 1, as: UInt8.self)
        else { return .missing }
        guard last else { return .notLast(spi: spi) }
        guard let key = keys(spi) else { return .unknownSPI(spi) }
        let received = mh.getBytes(at: mh.readerIndex + offset + 7, length: Int(len) - 5) ?? []
        let expected = authenticator(key: key, careOfAddress: careOfAddress, homeAddress: homeAddress,
                                     mobilityData: authenticatedPrefix(mh, optionOffset: offset))
        guard received.count == expected.count else { return .invalid(spi: spi) }
        // Constant-time comparison: no early exit on the first differing octet.
        var diff: UInt8 = 0
        for (a, b) in zip(received, expected) { diff |= a ^ b }
        return diff == 0 ? .valid(spi: spi) : .invalid(spi: spi)
    }
}

/// A 64-bit NTP timestamp: seconds since 1900 in the high half, fraction in the low half.
public enum NTPTimestamp {
    /// Seconds between 1900-01-01 and 1970-01-01.
    public static let unixOffset: UInt64 = 2_208_988_800

    /// The NTP form of a moment given in nanoseconds since the Unix epoch.
    public static func from(unixNanoseconds ns: Int64) -> UInt64 {
        // Before 1970 is not a moment this stack meets; clamp rather than trap.
        let ns = max(0, ns)
        let seconds = UInt64(ns / 1_000_000_000) + unixOffset
        let frac = UInt64(ns % 1_000_000_000) << 32 / 1_000_000_000
        return seconds << 32 | frac
    }

    /// Whole seconds of an NTP timestamp.
    public static func seconds(_ t: UInt64) -> UInt32 { UInt32(t >> 32) }
}

extension Instant {
    /// The RFC 4285 replay-protection form of this moment.
    public var ntp: UInt64 { NTPTimestamp.from(unixNanoseconds: nanoseconds) }
}
