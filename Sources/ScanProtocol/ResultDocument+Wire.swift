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
