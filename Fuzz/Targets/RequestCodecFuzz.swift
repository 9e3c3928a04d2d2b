// libFuzzer target: the client request codec (what the service's ROUTER decodes from any client).
// Built by scripts/fuzz.sh with the ScanProtocol, ScanCore and FormulaEngine sources.
import Foundation
import ScanProtocol

/// Input layout: byte 0 picks the shape. Even: the rest is a BODY sent with a valid envelope, version
/// and the verb `byte0 / 2 % verbs` (most inputs exercise the JSON field checks). Odd: the rest is
/// split into ROUTER frames at each `0xFF 0xFE` pair (delimiter, version and frame-count checks).
@_cdecl("LLVMFuzzerTestOneInput")
public func requestCodecFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let shape = bytes.first else { return 0 }
    let rest = Array(bytes.dropFirst())
    let frames: [[UInt8]]
    if shape % 2 == 0 {
        let verbs = Verb.allCases
        let verb = verbs[Int(shape / 2) % verbs.count]
        frames = [Array("client".utf8), [], WireProtocol.versionBytes, Array(verb.rawValue.utf8), rest]
    } else {
        var split: [[UInt8]] = [[]]
        var i = 0
        while i < rest.count {
            if rest[i] == 0xFF, i + 1 < rest.count, rest[i + 1] == 0xFE {
                split.append([])
                i += 2
            } else {
                split[split.count - 1].append(rest[i])
                i += 1
            }
        }
        frames = split
    }
    let decoded = RequestCodec.decode(routerFrames: frames, maxBodyBytes: 64 << 10)
    // Whatever was decoded, the reply the service sends must encode and decode back to the same outcome.
    switch decoded.result {
    case .failure(let error):
        let reply = ReplyCodec.error(error, envelope: decoded.envelope, requestId: decoded.requestId)
        let back = try? ReplyCodec.decode(Array(reply.dropFirst(decoded.envelope.count - 1)))
        guard let back, !back.isOK, back.error?.code == error.code else {
            fatalError("an ERROR reply did not decode back to its code \(error.code): \(reply)")
        }
        // A number echoed as sent (a literal) may be beyond what a Double holds, which the client-side
        // probe cannot read back: then its text must be in the body.
        var echoedAsText = false
        if case .literal(let text)? = decoded.requestId, let body = reply.last {
            echoedAsText = String(decoding: body, as: UTF8.self).contains("\"request_id\":\(text)")
        }
        if decoded.requestId != nil, back.requestId == nil, !echoedAsText {
            fatalError("request_id \(String(describing: decoded.requestId)) was read but not echoed")
        }
    case .success(let request):
        _ = request.verb
        if case .runScan(let scan, _) = request {
            // What the service does next with a RUN_SCAN: turn it into a document and back.
            _ = try? JSONEncoder().encode(ScanRequestDocument(scan))
        }
    }
    return 0
}
