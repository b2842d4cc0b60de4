import Foundation
import Testing
import Timekeeping
@testable import Sensors

struct GPXMalformedTests {
    static func read(_ text: String) throws(ReplayFileError) -> GPXTrack { try GPXTrack(bytes: Array(text.utf8)) }

    static func expectXML(_ text: String, _ expected: XMLReadError, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: ReplayFileError.notGPX(path: "<memory>", reason: .xml(expected)), sourceLocation: sourceLocation) {
            try read(text)
        }
    }

    @Test("malformed XML is a typed error with its line")
    func malformed() {
        Self.expectXML("<gpx><trk><trkpt lat=", .unexpectedEnd(inside: "the tag <trkpt>", line: 1))
        Self.expectXML("<gpx>\n<trk>\n<trkseg>", .unexpectedEnd(inside: "<trkseg>", line: 3))
        Self.expectXML("<gpx>\n<trk></trkseg></gpx>", .mismatchedEndTag(expected: "trk", found: "trkseg", line: 2))
        Self.expectXML("<gpx></gpx></gpx>", .unopenedEndTag(found: "gpx", line: 1))
        Self.expectXML("<gpx><trkpt lat=48 lon=\"1\"/></gpx>", .badAttribute(element: "trkpt", line: 1))
        Self.expectXML("<gpx><trkpt lat=\"1\"lon=\"1\"/></gpx>", .badAttribute(element: "trkpt", line: 1))
        Self.expectXML("<gpx><trkpt lat=\"1\" lat=\"2\"/></gpx>", .duplicateAttribute(element: "trkpt", name: "lat", line: 1))
        Self.expectXML("<gpx>&nbsp;</gpx>", .unknownEntity(name: "nbsp", line: 1))
        Self.expectXML("<gpx>&amp</gpx>", .badReference("&amp", line: 1))
        Self.expectXML("<gpx>&#0;</gpx>", .badReference("&#0;", line: 1))
        Self.expectXML("<gpx>&#x110000;</gpx>", .badReference("&#x110000;", line: 1))
        Self.expectXML("<gpx>&#999999999;</gpx>", .badReference("&#999999999;", line: 1))
        Self.expectXML("junk<gpx></gpx>", .textOutsideRoot(line: 1))
        Self.expectXML("<gpx></gpx>\n<gpx></gpx>", .contentAfterRoot(line: 2))
        Self.expectXML("<gpx><!-- never closed </gpx>", .unexpectedEnd(inside: "a comment", line: 1))
        Self.expectXML("<gpx><![CDATA[ open", .unexpectedEnd(inside: "a CDATA section", line: 1))
        Self.expectXML("<?xml version=\"1.0\"?>\n", .noRootElement)
        Self.expectXML("", .noRootElement)
        Self.expectXML("<gpx><1trk/></gpx>", .badName(line: 1))
        Self.expectXML("<gpx>" + String(repeating: "<a>", count: 300), .tooDeep(limit: 256, line: 1))
        #expect(throws: ReplayFileError.notGPX(path: "<memory>", reason: .rootIsNotGPX(found: "kml"))) {
            try Self.read("<kml><trkpt lat=\"1\" lon=\"1\"><time>2024-01-01T00:00:00Z</time></trkpt></kml>")
        }
        let description = ReplayFileError.notGPX(path: "ride.gpx", reason: .xml(.unexpectedEnd(inside: "<trkseg>", line: 3))).description
        #expect(description == "ride.gpx is not a readable GPX 1.1 file: the file ends inside <trkseg> (line 3); truncated?")
    }

    @Test("prefixes, entities, CDATA, comments, a DOCTYPE and single-quoted attributes")
    func wellFormedVariants() throws {
        let track = try Self.read("""
            <?xml version='1.0' encoding='UTF-8'?>
            <!DOCTYPE gpx [ <!ELEMENT gpx ANY> ]>
            <!-- exported -->
            <g:gpx xmlns:g="http://www.topografix.com/GPX/1/1" version="1.1">
              <g:metadata><g:name>A &amp; B &lt;&#x41;&#66;&gt;</g:name></g:metadata>
              <g:trk><g:trkseg>
                <g:trkpt lat='48.0' lon="11.0"><g:ele><![CDATA[ 500 ]]></g:ele><g:time>2024-06-01T10:00:00Z</g:time></g:trkpt>
                <g:trkpt g:lat="48.0" g:lon="11.001"><!-- c --><g:time>2024-06-01T10:00:<![CDATA[10]]>Z</g:time><g:extensions/></g:trkpt>
              </g:trkseg></g:trk>
            </g:gpx>
            """)
        #expect(track.fixes.count == 2 && track.skippedPoints == 0)
        #expect(track.fixes[0].altitudeMSL == 500)
        #expect(track.fixes[1].time - track.fixes[0].time == .seconds(10))
    }

    @Test("every prefix of a good file either reads or fails with a typed error, never a crash")
    func truncations() throws {
        let text = Array("""
            <?xml version="1.0"?><gpx version="1.1"><trk><trkseg><trkpt lat="1" lon="1"><ele>3</ele>\
            <time>2024-01-01T00:00:00Z</time></trkpt><trkpt lat="1" lon="1.0001"><time>2024-01-01T00:00:01Z</time></trkpt>\
            </trkseg></trk></gpx>
            """.utf8)
        for n in 0..<text.count {
            #expect(throws: ReplayFileError.self) { try GPXTrack(bytes: Array(text.prefix(n))) }
        }
        #expect(try GPXTrack(bytes: text).fixes.count == 2)
    }

    @Test("a track point at a time an Instant cannot hold (year 9999) is skipped, not clamped, not a crash")
    func farFuture() throws {
        let track = try GPXTrack(bytes: Array("""
            <gpx version="1.1"><trk><trkseg>
            <trkpt lat="1" lon="1"><time>2024-01-01T00:00:00Z</time></trkpt>
            <trkpt lat="1" lon="1.0001"><time>9999-12-31T23:59:59Z</time></trkpt>
            <trkpt lat="1" lon="1.0002"><time>2024-01-01T00:00:02Z</time></trkpt>
            </trkseg></trk></gpx>
            """.utf8))
        #expect(track.fixes.map(\.time) == [.seconds(1_704_067_200), .seconds(1_704_067_202)])
        #expect(track.skippedPoints == 1)
    }

    @Test("GPX times: RFC 3339 with fractions and offsets, as ISO8601DateFormatter reads them; nonsense is nil")
    func times() throws {
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for text in ["2024-06-01T10:00:00Z", "2010-05-28T01:16:36Z", "1970-01-01T00:00:00Z", "2000-02-29T23:59:59Z",
                     "2024-06-01T12:00:00+02:00", "2024-06-01T02:30:00-07:30", "1969-12-31T23:59:59Z", "2100-03-01T00:00:00Z"] {
            #expect(RFC3339Time.instant(text) == plain.date(from: text).map { .seconds($0.timeIntervalSince1970) }, "\(text)")
        }
        for text in ["2024-06-01T10:00:10.500Z", "2024-06-01T10:00:10.25+01:00"] {
            let ours = try #require(RFC3339Time.instant(text))
            let theirs = try #require(fractional.date(from: text))
            #expect(abs(ours.secondsSinceEpoch - theirs.timeIntervalSince1970) < 1e-6, "\(text)")
        }
        #expect(RFC3339Time.instant("2024-06-01t10:00:00z") == plain.date(from: "2024-06-01T10:00:00Z").map { .seconds($0.timeIntervalSince1970) })
        #expect(RFC3339Time.instant("2024-06-01T10:00:00Z") == .seconds(1_717_236_000))
        // Exact to the nanosecond; digits beyond are ignored.
        #expect(RFC3339Time.instant("2024-06-01T10:00:10.123456789987Z") == Instant(nanoseconds: 1_717_236_010_123_456_789))
        // The ends of what an Instant holds (1677-09-21T00:12:43.145224192Z … 2262-04-11T23:47:16.854775807Z).
        #expect(RFC3339Time.instant("2262-04-11T23:47:16.854775807Z") == Instant(nanoseconds: .max))
        #expect(RFC3339Time.instant("1677-09-21T00:12:43.145224192Z") == Instant(nanoseconds: .min))
        for bad in ["", "2024-06-01", "2024-06-01T10:00Z", "2024-02-30T10:00:00Z", "2023-02-29T10:00:00Z", "2024-13-01T10:00:00Z",
                    "2024-06-01T24:00:00Z", "2024-06-01T10:60:00Z", "2024-06-01T10:00:00", "2024-06-01T10:00:00.Z",
                    "2024-06-01T10:00:00+0200", "2024-06-01T10:00:00Zjunk", "２０２４-06-01T10:00:00Z", "2024-06-01T10:00:00+25:00"] {
            #expect(RFC3339Time.instant(bad) == nil, "\(bad)")
        }
        // A well-formed time an Instant cannot hold is no time (the point is skipped), never a trap.
        for far in ["2262-04-11T23:47:16.854775808Z", "2262-04-11T23:47:17Z", "9999-12-31T23:59:60Z", "9999-12-31T23:59:59-23:59",
                    "0000-01-01T00:00:00Z", "0000-01-01T00:00:00+23:59", "1677-09-21T00:12:43.145224191Z"] {
            #expect(RFC3339Time.instant(far) == nil, "\(far)")
        }
    }
}
