import PropertyBased
import Testing
import ZeroMQ

@Suite("ZeroMQ properties: Z85 and multipart shapes")
struct ZeroMQPropertyTests {
    @Test func z85RoundTripsBytesInGroupsOfFour() async {
        let bytes = Gen.uint8().array(of: 4).array(of: 0...32).map { $0.flatMap { $0 } }
        await propertyCheck(input: bytes) { bytes in
            let text = Z85.encode(bytes)
            #expect(text?.utf8.count == bytes.count / 4 * 5)
            #expect(text.flatMap(Z85.decode) == bytes)
        }
    }

    @Test func z85RejectsLengthsThatAreNotMultiples() async {
        await propertyCheck(input: Gen.uint8().array(of: 1...40)) { bytes in
            if bytes.count % 4 != 0 { #expect(Z85.encode(bytes) == nil) }
            let text = String(decoding: bytes.map { 33 + $0 % 90 }, as: UTF8.self)
            if bytes.count % 5 != 0 { #expect(Z85.decode(text) == nil) }
        }
    }

    @Test func z85KnownVectorAndCurveKeys() throws {
        // ZeroMQ RFC 32 test vector.
        let bytes: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        #expect(Z85.encode(bytes) == "HelloWorld")
        #expect(Z85.decode("HelloWorld") == bytes)
        #expect(Z85.decode("Hello\u{7F}orld") == nil)
        #expect(Z85.decode("Héllo") == nil)
        if Curve.isAvailable {
            let pair = try Curve.keyPair()
            #expect(pair.publicKey.utf8.count == 40 && pair.secretKey.utf8.count == 40)
            #expect(Z85.decode(pair.publicKey)?.count == 32)
            #expect(pair.publicKey != pair.secretKey)
        }
    }

    @Test func randomMultipartShapesArriveIntact() async throws {
        let context = try ZMQContext()
        let loop = try ZMQLoop(context: context, name: "shapes")
        let endpoint = inprocEndpoint("shapes")
        let receiver = try await loop.makeSocket(.pair, binding: [endpoint]).socket
        let sender = try await loop.makeSocket(.pair, connectingTo: [endpoint])
        let shapes = Gen.uint8().array(of: 0...300).array(of: 1...8)
        await propertyCheck(input: shapes) { frames in
            try await sender.send(ZMQMessage(frames))
            #expect(try await receive(receiver) == ZMQMessage(frames))
        }
        await loop.shutdown()
        await context.terminate()
    }
}
