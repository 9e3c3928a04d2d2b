import ScanCore

extension ResultDocument {
    /// The RESULT of a session that has one (completed, or cancelled with its partial result).
    public static func of(session: ScanSession) -> ResultDocument? {
        guard let result = session.result else { return nil }
        return ResultDocument(result, sessionId: session.id, status: session.status)
    }

    /// This result with `signals.matches` cut to `[offset, offset + limit)`; every other field whole.
    public func slicing(offset: Int, limit: Int?) -> ResultDocument {
        var copy = self
        let all = signals.matches
        let lo = min(max(0, offset), all.count)
        let hi = limit.map { lo + min(max(0, $0), all.count - lo) } ?? all.count  // no overflow for any limit
        copy.signals.matches = Array(all[lo..<hi])
        return copy
    }
}

/// A reply carrying a session's result — `RUN_SCAN` with `"wait": true` (``SessionReply``'s JSON) or
/// `GET_RESULT` (``ResultReply``'s JSON, a slice of the matches) — written straight from the scan's
/// own matches by ``ResultJSONWriter``: the same bytes, without a ``ResultDocument/Match`` per match.
public struct SessionResultReply: Sendable, Encodable {
    /// `RUN_SCAN`'s reply has the session; `GET_RESULT`'s its id.
    let session: SessionDocument?
    let sessionId: String
    /// The result's document without its matches.
    let document: ResultDocument
    /// The matches the reply carries, in order.
    let matches: ArraySlice<SignalMatch>

    /// The reply for `session`, `nil` when it has no result. `GET_RESULT` (`withSession` false) carries
    /// the matches in `[offset, offset + limit)`, as ``ResultDocument/slicing(offset:limit:)`` cuts them.
    public init?(_ session: ScanSession, withSession: Bool, offset: Int = 0, limit: Int? = nil) {
        guard let result = session.result else { return nil }
        let all = result.signals.matches
        let lo = min(max(0, offset), all.count)
        let hi = limit.map { lo + min(max(0, $0), all.count - lo) } ?? all.count
        self.session = withSession ? SessionDocument(session) : nil
        sessionId = session.id
        document = ResultDocument(result, sessionId: session.id, status: session.status, matches: [])
        matches = all[lo..<hi]
    }

    /// The document with its matches, as the reply carries it.
    var fullDocument: ResultDocument {
        var doc = document
        doc.signals.matches = matches.map(ResultDocument.Match.init)
        return doc
    }

    /// ``SessionReply`` or ``ResultReply`` of the same content (``ResultJSONWriter`` writes it faster).
    public func encode(to encoder: any Encoder) throws {
        if let session {
            try SessionReply(session: session, result: fullDocument).encode(to: encoder)
        } else {
            try ResultReply(sessionId: sessionId, result: fullDocument).encode(to: encoder)
        }
    }
}
