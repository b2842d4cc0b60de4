import CXcastLinux
import FoundationEssentials
import Glibc
import NIOCore
import Xcast

/// The fast path shared by `relay` and `send`: one Xcast datagram in, its copies out.
/// Per datagram: parse the headers in place, plan the branching, write one small header per relay
/// copy into a preallocated arena and queue (header, payload) iovecs; X2U queues the payload alone.
/// With UDP GSO, a destination's consecutive copies of one size (X2U payloads, or relay copies:
/// header + payload) go out as one send that the kernel cuts into datagrams.
/// Nothing is allocated per packet once the buffers are warm; `flush()` sends the batch with sendmmsg.
final class Forwarder {
    let socket: UDPSocket
    var table: RouteTable { didSet { labels = table.relays.map(\.description); relaySegmentLimit = Self.segmentLimits(table.relays) } }
    var policy: DestinationPolicy
    let metrics: Metrics
    private(set) var labels: [String]
    private var plan = BranchPlan()
    private var scratch = ByteBuffer()
    private let batch: SendBatch
    private let arena: UnsafeMutableRawPointer
    private let arenaSize = 4 << 20
    private var arenaUsed = 0
    private var parseBuffer = ByteBuffer()
    /// UDP GSO: a destination's consecutive equal-size datagrams go out as one send.
    var gso: Bool
    /// Largest relay copy (Xcast header + payload) sent with GSO to relay r: its path MTU less the
    /// IPv6 and UDP headers (the kernel refuses a GSO segment that does not fit the MTU). 0: never.
    private(set) var relaySegmentLimit: [Int]
    private static let maxSegments = 64
    /// iovecs a run may hold: a header and a payload per segment.
    private static let slotIovecs = 2 * maxSegments
    private static let maxRuns = 256
    private struct Run { var destination: Endpoint; var slot: Int; var count: Int; var iovecs: Int; var segment: Int; var octets: Int; var open: Bool }
    private var runs: [Run] = []
    private var runOf: [Endpoint: Int] = [:]
    /// Run slot last used by destination index i of the list (lists keep their order): skips the hash lookup.
    private var hint = [Int](repeating: -1, count: 128)
    private let runIovecs: UnsafeMutablePointer<iovec>

    init(socket: UDPSocket, table: RouteTable, policy: DestinationPolicy, metrics: Metrics, batchSize: Int = 1024, gso: Bool = true) {
        self.socket = socket
        self.table = table
        self.policy = policy
        self.metrics = metrics
        self.labels = table.relays.map(\.description)
        self.relaySegmentLimit = Self.segmentLimits(table.relays)
        batch = SendBatch(capacity: batchSize)
        arena = .allocate(byteCount: arenaSize, alignment: 16)
        self.gso = gso
        runIovecs = .allocate(capacity: Self.maxRuns * Self.slotIovecs)
        runs.reserveCapacity(Self.maxRuns)
        runOf.reserveCapacity(Self.maxRuns)
        scratch.reserveCapacity(4096)
        parseBuffer.reserveCapacity(4096)
    }

    deinit {
        arena.deallocate()
        runIovecs.deallocate()
    }

    static func segmentLimits(_ relays: [Endpoint]) -> [Int] {
        relays.map { UDPSocket.pathMTU(to: $0).map { Swift.max(0, $0 - 48) } ?? 0 }
    }

    /// Adds one datagram, `header` (if any) + `payload`, for `destination` to its open run when it fits
    /// (same size, or the shorter last one), else closes that run and starts another. A datagram longer
    /// than `limit` starts a run of its own that nothing joins (sent without GSO). `index` is the
    /// destination's place in the list, for the run hint (nil: look the destination up).
    private func segment(header: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, to destination: Endpoint,
                         index: Int?, limit: Int = .max) {
        let size = (header?.count ?? 0) + payload.count
        let found: Int?
        if let index, index < hint.count, case let h = hint[index], h >= 0, h < runs.count, runs[h].count > 0, runs[h].destination == destination {
            found = h
        } else {
            found = runOf[destination]
        }
        if let r = found {
            let run = runs[r]
            if run.open, size <= run.segment, run.count < Self.maxSegments, run.octets + size <= 65000 {
                append(header: header, payload: payload, to: r)
                runs[r].count += 1
                runs[r].octets += size
                if size < run.segment { runs[r].open = false }
                return
            }
            emit(r)
        }
        if runs.count == Self.maxRuns || batch.count + runs.count >= batch.capacity { flush() }
        let slot = runs.count
        runs.append(Run(destination: destination, slot: slot, count: 1, iovecs: 0, segment: size, octets: size, open: size <= limit))
        append(header: header, payload: payload, to: slot)
        runOf[destination] = slot
        if let index, index < hint.count { hint[index] = slot }
    }

    private func append(header: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, to r: Int) {
        let base = runs[r].slot * Self.slotIovecs
        var n = runs[r].iovecs
        if let header, header.count > 0 {
            runIovecs[base + n] = iovec(iov_base: UnsafeMutableRawPointer(mutating: header.baseAddress), iov_len: header.count)
            n += 1
        }
        runIovecs[base + n] = iovec(iov_base: UnsafeMutableRawPointer(mutating: payload.baseAddress), iov_len: payload.count)
        runs[r].iovecs = n + 1
    }

    /// Adds one X2U payload for `destination`.
    private func unicast(_ payload: UnsafeRawBufferPointer, to destination: Endpoint, index: Int) {
        guard gso else {
            if batch.isFull { flush() }
            batch.add(header: nil, payload: payload, to: destination)
            return
        }
        segment(header: nil, payload: payload, to: destination, index: index)
    }

    /// Queues run `r` as one (GSO) datagram and forgets it (its iovecs stay until `flush`).
    private func emit(_ r: Int) {
        let run = runs[r]
        guard run.count > 0 else { return }
        if batch.isFull { sendBatch() }
        batch.addSegmented(runIovecs + run.slot * Self.slotIovecs, iovecs: run.iovecs, segments: run.count, segment: run.segment, to: run.destination)
        runs[r].count = 0
        runs[r].iovecs = 0
        runOf[run.destination] = nil
    }

    /// Forwards the Xcast datagram at `bytes` (which must stay valid until `flush`).
    /// Returns the parse error when the datagram was dropped.
    @discardableResult
    func forward(_ bytes: UnsafeRawBufferPointer) -> XcastParseError? {
        // Only the headers are copied for parsing; the payload is sent from `bytes` itself.
        parseBuffer.clear()
        let headerBound = Swift.min(bytes.count, XcastWire.overhead(destinations: XcastWire.maxDestinations))
        parseBuffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[0..<headerBound]))
        let d: XcastDatagram
        do {
            d = try XcastDatagram(parsing: parseBuffer, policy: policy)
        } catch {
            metrics.withLock { $0.drop(error.counterName) }
            return error
        }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[d.payloadStart..<bytes.count])
        Brancher.plan(d, table: table, into: &plan)
        var out: UInt64 = 0
        var dropped = UInt64(plan.noRoute + plan.hopLimitDrops)
        // relay copies: a new header each, the same payload
        for (r, bitmap) in plan.relayBitmaps.enumerated() where !bitmap.isEmpty {
            scratch.clear()
            d.writeHeader(to: &scratch, bitmap: bitmap, hopLimit: plan.forwardHopLimit)
            let n = scratch.readableBytes
            if arenaUsed + n > arenaSize || batch.isFull { flush() }
            let at = arena + arenaUsed
            scratch.withUnsafeReadableBytes { at.copyMemory(from: $0.baseAddress!, byteCount: n) }
            arenaUsed += n
            if gso {
                segment(header: UnsafeRawBufferPointer(start: at, count: n), payload: payload, to: table.relays[r], index: nil,
                        limit: relaySegmentLimit[r])
            } else {
                batch.add(header: UnsafeRawBufferPointer(start: at, count: n), payload: payload, to: table.relays[r])
            }
            out += 1
            let label = labels[r]
            metrics.withLock { $0.hop(label, packets: 1, octets: UInt64(n + payload.count)) }
        }
        // X2U: the RTP payload alone to each destination served directly
        for i in plan.unicast {
            unicast(payload, to: d.destination(i), index: i)
            out += 1
        }
        // X set: the whole datagram, one bit, to the destination itself
        for i in plan.directXcast {
            var bm = XcastBitmap()
            bm[i] = true
            scratch.clear()
            d.writeHeader(to: &scratch, bitmap: bm, hopLimit: plan.forwardHopLimit == 0 ? 1 : plan.forwardHopLimit)
            let n = scratch.readableBytes
            if arenaUsed + n > arenaSize || batch.isFull { flush() }
            let at = arena + arenaUsed
            scratch.withUnsafeReadableBytes { at.copyMemory(from: $0.baseAddress!, byteCount: n) }
            arenaUsed += n
            batch.add(header: UnsafeRawBufferPointer(start: at, count: n), payload: payload, to: d.destination(i))
            out += 1
        }
        // local delivery: this node is a member at that endpoint; hand it the RTP as plain UDP
        for i in plan.local {
            if batch.isFull { flush() }
            batch.add(header: nil, payload: payload, to: d.destination(i))
            out += 1
        }
        if dropped > 0 { metrics.withLock { m in if plan.noRoute > 0 { m.drop("no_route", UInt64(plan.noRoute)) }; if plan.hopLimitDrops > 0 { m.drop("hop_limit_exhausted", UInt64(plan.hopLimitDrops)) } } }
        let direct = UInt64(plan.unicast.count + plan.directXcast.count)
        let local = UInt64(plan.local.count)
        let channel = d.channel
        metrics.withLock { m in
            m.session(channel, packetsIn: 1, packetsOut: out, dropped: dropped)
            if direct > 0 { m.hop("direct", packets: direct, octets: direct * UInt64(payload.count)) }
            if local > 0 { m.hop("local", packets: local, octets: local * UInt64(payload.count)) }
        }
        dropped = 0
        return nil
    }

    /// Sends what is queued; the arena and the caller's buffers may be reused afterwards.
    func flush() {
        for r in runs.indices { emit(r) }
        sendBatch()
        runs.removeAll(keepingCapacity: true)
        runOf.removeAll(keepingCapacity: true)
        arenaUsed = 0
    }

    private func sendBatch() {
        let failedBefore = batch.failed
        let gsoInBatch = batch.hasSegmented
        batch.flush(socket)
        let failed = batch.failed - failedBefore
        if failed > 0 {
            metrics.withLock { $0.drop("send_refused", UInt64(failed)) }
            if gsoInBatch && gso && errno != ENOBUFS && errno != EAGAIN {
                gso = false
                warn("UDP GSO refused by the kernel (\(String(cString: strerror(errno)))); sending datagram by datagram from now on")
            }
        }
    }

    var sentDatagrams: Int { batch.sent }
    var sentMessages: Int { batch.sentMessages }
    var sendCalls: Int { batch.syscalls }
}
