import NIOCore
import RTP
import Sensors
import Testing
@testable import RTPJPEG

@Suite struct RTPJPEGTests {
    static func picture(width: Int = 320, height: Int = 240, frame: Int = 3, quality: Int = 80) throws -> [UInt8] {
        let rgb = TestPattern.render(width: width, height: height, frame: frame, time: .epoch)
        return try JPEGCodec().encode(rgb: rgb, width: width, height: height, quality: quality)
    }

    @Test func headerRoundTrips() throws {
        var b = ByteBuffer()
        let rtp = RTPHeader(marker: true, payloadType: 26, sequenceNumber: 65535, timestamp: 0xDEAD_BEEF, ssrc: 42)
        rtp.write(to: &b)
        let jh = JPEGPayloadHeader(type: 1, q: 255, width: 1280, height: 720, fragmentOffset: 0, quantizationTables: [UInt8](repeating: 7, count: 128))
        jh.write(to: &b)
        b.writeBytes([1, 2, 3])
        #expect(try RTPHeader(parsing: &b) == rtp)
        #expect(try JPEGPayloadHeader(parsing: &b) == jh)
        #expect(b.readableBytes == 3)
    }

    @Test func pictureRoundTripsThroughPackets() throws {
        let jpeg = try Self.picture()
        let pic = try JPEGPicture(jpeg)
        #expect(pic.type == 1)
        #expect(pic.width == 320 && pic.height == 240)
        var packetizer = JPEGPacketizer(ssrc: 7, initialSequence: 65530, maxPacketSize: 600)
        let packets = try packetizer.packets(jpeg: jpeg, timestamp: 3000)
        #expect(packets.count > 2)
        #expect(packets.allSatisfy { $0.readableBytes <= 600 })
        var assembler = JPEGFrameAssembler()
        var frames: [JPEGFrameAssembler.Frame] = []
        for p in packets { if let f = try assembler.add(packet: p) { frames.append(f) } }
        #expect(frames.count == 1)
        let rebuilt = try #require(frames.first)
        #expect(rebuilt.width == 320)
        // same scan octets and tables: decodes to the same pixels
        let back = try JPEGPicture(rebuilt.jpeg)
        #expect(Array(rebuilt.jpeg[back.scan]) == Array(jpeg[pic.scan]))
        #expect(back.quantizationTables == pic.quantizationTables)
        let codec = JPEGCodec()
        #expect(try codec.decodeRGB(rebuilt.jpeg).rgb == codec.decodeRGB(jpeg).rgb)
    }

    @Test func yuyvPicturesAreType0() throws {
        var yuyv = [UInt8](repeating: 128, count: 64 * 48 * 2)
        for i in stride(from: 0, to: yuyv.count, by: 2) { yuyv[i] = UInt8(truncatingIfNeeded: i / 7) }
        let jpeg = try JPEGCodec().encode(yuyv: yuyv, width: 64, height: 48, bytesPerLine: 128, quality: 80)
        #expect(try JPEGPicture(jpeg).type == 0)
        var packetizer = JPEGPacketizer(ssrc: 1)
        var assembler = JPEGFrameAssembler()
        let frames = try packetizer.packets(jpeg: jpeg, timestamp: 1).compactMap { try assembler.add(packet: $0) }
        #expect(frames.count == 1)
        let codec = JPEGCodec()
        #expect(try codec.decodeRGB(frames[0].jpeg).rgb == codec.decodeRGB(jpeg).rgb)
    }

    @Test func standardQuantizationTablesMatchLibjpeg() throws {
        // libjpeg's quality 50 is Annex K unscaled, as RFC 2435 Q=50.
        let jpeg = try Self.picture(quality: 50)
        #expect(try JPEGPicture(jpeg).quantizationTables == JPEGStandardTables.quantizationTables(q: 50))
        let jpeg80 = try Self.picture(quality: 80)
        #expect(try JPEGPicture(jpeg80).quantizationTables == JPEGStandardTables.quantizationTables(q: 80))
    }

    @Test func lostFragmentDropsTheFrameAndTheNextOneStillArrives() throws {
        var packetizer = JPEGPacketizer(ssrc: 9, maxPacketSize: 500)
        let a = try packetizer.packets(jpeg: Self.picture(frame: 1), timestamp: 0)
        let b = try packetizer.packets(jpeg: Self.picture(frame: 2), timestamp: 3000)
        var assembler = JPEGFrameAssembler()
        var frames = 0
        for (i, p) in a.enumerated() where i != 1 { if try assembler.add(packet: p) != nil { frames += 1 } }
        for p in b { if try assembler.add(packet: p) != nil { frames += 1 } }
        #expect(frames == 1)
        #expect(assembler.framesDropped == 1)
    }

    @Test func refusesWhatRTPJPEGCannotCarry() throws {
        #expect(throws: RTPJPEGError.notJPEG) { try JPEGPicture([1, 2, 3, 4]) }
        var jpeg = try Self.picture()
        jpeg.removeLast(jpeg.count - 300)
        #expect(throws: RTPJPEGError.self) { try JPEGPicture(jpeg) }
        var b = ByteBuffer()
        RTPHeader(payloadType: 26, sequenceNumber: 1, timestamp: 1, ssrc: 1).write(to: &b)
        b.writeBytes([0, 0, 0, 0, 7, 255, 40, 30])
        var assembler = JPEGFrameAssembler()
        #expect(throws: RTPJPEGError.unsupportedType(7)) { try assembler.add(packet: b) }
    }
}
