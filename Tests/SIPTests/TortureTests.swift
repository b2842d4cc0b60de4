import Testing
import Foundation
import TestSupport
@testable import SIP

/// RFC 4475 / RFC 5118 torture messages, verdicts as /work/shared/vectors/sip-torture/README.md gives them.
@Suite struct TortureTests {
    static let valid = ["wsinv", "esc01", "esc02", "lwsdisp", "longreq", "semiuri", "transports", "unreason",
                        "noreason", "badbranch", "insuf", "unkscm", "unksm2", "bext01", "invut", "multi01",
                        "bcast", "cparam01", "regescrt", "sdp01", "inv2543", "ipv6-good", "port-unambiguous",
                        "via-received-param-with-delim", "ipv6-in-sdp", "mult-ip-in-header", "mult-ip-in-sdp",
                        "ipv6-correct-abnf-2-colons"]
    static let invalid: [(String, Int?)] = [
        ("badinv01", 400), ("clerr", 400), ("ncl", 400), ("scalarlg", nil), ("ltgtruri", 400), ("lwsstart", 400),
        ("trws", 400), ("baddate", 400), ("regbadct", 400), ("badaspec", 400), ("badvers", 505),
        ("mismatch01", 400), ("bigcode", nil), ("ipv6-bad", 400),
    ]

    @Test func everyFileIsCovered() throws {
        let shared = try SharedFolder.root()
        let files = try FileManager.default.contentsOfDirectory(atPath: shared.appendingPathComponent("vectors/sip-torture").path)
            .filter { $0.hasSuffix(".dat") }.map { String($0.dropLast(4)) }
        let covered = Set(Self.valid + Self.invalid.map(\.0))
        #expect(Set(files) == covered)
        #expect(files.count == 42)
    }

    @Test(arguments: valid) func validMessagesParse(name: String) throws {
        let bytes = try tortureMessage(name)
        let m = try SIPMessage(parsing: bytes)
        // round trip: what we write parses back to the same message
        let again = try SIPMessage(parsing: m.bytes)
        #expect(again == m, "\(name) does not survive write + parse")
    }

    @Test(arguments: invalid) func invalidMessagesAreRefused(name: String, status: Int?) throws {
        let bytes = try tortureMessage(name)
        var caught: SIPParseError?
        do { _ = try SIPMessage(parsing: bytes) } catch { caught = error }
        let error = try #require(caught, "\(name) parsed but must be refused")
        #expect(!error.detail.isEmpty)
        let answer = SIPResponse.answering(unparsable: bytes, error: error)
        #expect(answer?.status == status, "\(name): \(error)")
        if let answer {
            // the error answer itself is a well-formed message with the request's Via
            let parsed = try SIPResponse(parsing: answer.bytes)
            #expect(parsed.headers["Via"] != nil)
            #expect(parsed.headers["Call-ID"] != nil)
            #expect(parsed.headers["CSeq"] != nil)
        }
    }

    func request(_ name: String) throws -> SIPRequest { try SIPRequest(parsing: try tortureMessage(name)) }

    @Test func wsinvValues() throws {
        let r = try request("wsinv")
        #expect(r.method == .invite)
        #expect(r.uri.user == "vivekg")
        #expect(r.uri.parameter("unknownparam") != nil)
        #expect(r.headers.to?.tag == "1918181833n")
        #expect(r.headers.from?.displayName == "J Rosenberg \\\"")
        #expect(r.headers.from?.tag == "98asjd8")
        #expect(r.headers["Max-Forwards"] == "0068")
        #expect(r.headers.maxForwards == 68)
        #expect(r.headers.cseq == SIPCSeq(9, .invite))
        #expect(r.headers.vias.count == 3)
        #expect(r.headers.vias.map(\.transport) == ["UDP", "TCP", "UDP"])
        #expect(r.headers.vias[1].branch == "z9hG4bK9ikj8")
        #expect(r.headers.vias[2].branch == "z9hG4bK30239")
        #expect(r.headers["Subject"] == "")
        #expect(r.headers["NewFangledHeader"] == "newfangled value continued newfangled value")
        #expect(r.headers["UnknownHeaderWithUnusualValue"] == ";;,,;;,;")
        let contact = try #require(r.headers.contacts.first)
        #expect(contact.displayName == "Quoted string \"\"")
        #expect(contact.parameters["newparam"] == "newvalue")
        #expect(contact.parameters["q"] == "0.33")
        #expect(contact.parameters.contains("secondparam"))
        #expect(r.headers.routes.first?.uri.isLooseRouter == true)
        #expect(r.body.count == 150)
    }

    @Test func escapesDecodeOnce() throws {
        let r = try request("esc01")
        #expect(r.uri.user == "sips:user@example.com")
        #expect(r.headers.to?.uri.user == "user")
        #expect(r.headers.from?.uri.user == "I have spaces")
        let c = try #require(r.headers.contacts.first)
        #expect(c.uri.user == "caller")
        #expect(c.uri.parameter("name") == .some("value%41"))
        #expect(c.uri.parameter("lr") != nil)
        #expect(r.headers.contentType == "application/sdp")
    }

    @Test func percentThatIsNotAnEscape() throws {
        let r = try request("esc02")
        #expect(r.method.rawValue == "RE%47IST%45R")
        #expect(r.method != .register)
        #expect(r.headers.values("Contact").count == 2)
        #expect(r.headers["C%6Fntact"] != nil)
        #expect(r.headers.from?.displayName == "%Z%45")
        let answer = UASCapabilities().rejection(of: r)
        #expect(answer?.status == 501)
    }

    @Test func displayNameWithoutSpace() throws {
        #expect(try request("lwsdisp").headers.from?.displayName == "caller")
    }

    @Test func longRequestKeepsEverything() throws {
        let r = try request("longreq")
        #expect(r.headers.vias.count == 34)
        #expect((r.headers.to?.displayName?.count ?? 0) > 80)
        #expect((r.headers.from?.uri.user?.count ?? 0) > 100)
        #expect((r.headers.callID?.count ?? 0) > 100)
    }

    @Test func semicolonInUserPart() throws {
        let r = try request("semiuri")
        #expect(r.uri.user == "user;par=u@example.net")
        #expect(r.uri.host == .name("example.com"))
        #expect(r.uri.rawParameters.isEmpty)
    }

    @Test func transports() throws {
        #expect(try request("transports").headers.vias.map(\.transport) == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"])
    }

    @Test func reasonPhrases() throws {
        let u = try SIPResponse(parsing: tortureMessage("unreason"))
        #expect(u.status == 200)
        #expect(u.reason.unicodeScalars.contains { $0.value >= 0x400 && $0.value <= 0x4FF })
        let n = try SIPResponse(parsing: tortureMessage("noreason"))
        #expect(n.status == 100)
        #expect(n.reason == "")
    }

    @Test func semanticErrorsGetTheirAnswers() throws {
        let ua = UASCapabilities()
        #expect(ua.rejection(of: try request("badbranch"))?.status == 400)
        #expect(ua.rejection(of: try request("insuf"))?.status == 400)
        let unkscm = try request("unkscm")
        #expect(unkscm.uri.scheme == "nobodyknowsthisscheme")
        #expect(unkscm.uri.opaque == "totallyopaquecontent")
        #expect(ua.rejection(of: unkscm)?.status == 416)
        let registrar = UASCapabilities(methods: [.register], isRegistrar: true)
        let unksm2 = try request("unksm2")
        #expect(unksm2.headers.to?.uri.scheme == "isbn")
        #expect(registrar.rejection(of: unksm2)?.status == 400)
        let bext = try #require(ua.rejection(of: try request("bext01")))
        #expect(bext.status == 420)
        #expect(bext.headers.values("Unsupported").count >= 1)
        let invut = try #require(ua.rejection(of: try request("invut")))
        #expect(invut.status == 415)
        #expect(invut.headers["Accept"]?.contains("application/sdp") == true)
        #expect(ua.rejection(of: try request("multi01"))?.status == 400)
        #expect(ua.rejection(of: try request("sdp01"))?.status == 406)
        // a well-formed request passes
        #expect(ua.rejection(of: try request("inv2543")) == nil)
    }

    @Test func broadcastViaParses() throws {
        let r = try SIPResponse(parsing: tortureMessage("bcast"))
        #expect(r.headers.vias.count >= 2)
        #expect(r.headers.vias[1].host == .ipv4("255.255.255.255"))
    }

    @Test func contactParameterIsNotURIParameter() throws {
        let c = try #require(try request("cparam01").headers.contacts.first)
        #expect(c.uri.rawParameters.isEmpty)
        #expect(c.parameters.contains("unknownparam"))
    }

    @Test func escapedRouteInContactURI() throws {
        let c = try #require(try request("regescrt").headers.contacts.first)
        #expect(c.uri.headers.first?.name == "Route")
        #expect(c.uri.headers.first?.value == "<sip:sip.example.com>")
        #expect(c.description.contains("%3Csip:sip.example.com%3E"))
    }

    @Test func legacyRFC2543Request() throws {
        let r = try request("inv2543")
        #expect(!r.body.isEmpty)
        #expect(r.headers.from?.tag == nil)
        #expect(r.headers.topVia?.branch == nil)
    }

    @Test func ipv6References() throws {
        let g = try request("ipv6-good")
        #expect(g.uri.host == .ipv6("2001:db8::10"))
        #expect(g.headers.topVia?.host == .ipv6("2001:db8::9:1"))
        #expect(g.headers.contacts.first?.uri.host == .ipv6("2001:db8::1"))
        let p = try request("port-unambiguous")
        #expect(p.uri.host == .ipv6("2001:db8::10"))
        #expect(p.uri.port == 5070)
        #expect(try request("via-received-param-with-delim").headers.topVia?.received == "2001:db8::9:255")
        let m = try request("mult-ip-in-header")
        #expect(m.headers.vias.map(\.host) == [.ipv6("2001:db8::9:1"), .ipv4("192.0.2.1"), .ipv6("2001:db8::9:255")])
        #expect(m.headers.vias[0].port == 6050)
        #expect(m.headers.vias[2].received == "192.0.2.200")
        #expect(try request("ipv6-correct-abnf-2-colons").uri.host == .ipv6("2001:db8::192.0.2.1"))
    }

    @Test func streamFramerCutsMessages() throws {
        var framer = SIPStreamFramer()
        let a = try tortureMessage("esc01"), b = try tortureMessage("wsinv")
        let stream = [13, 10] + a + b
        // feed byte chunks of awkward sizes
        var got: [[UInt8]] = []
        var i = 0
        while i < stream.count {
            framer.append(stream[i..<min(i + 37, stream.count)])
            i += 37
            while let m = try framer.nextMessage() { got.append(m) }
        }
        #expect(got == [a, b])
        var bad = SIPStreamFramer()
        bad.append(try tortureMessage("ncl"))
        #expect(throws: SIPParseError.self) { _ = try bad.nextMessage() }
    }
}
