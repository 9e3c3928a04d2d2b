import ScanCore
import ScanProtocol

/// One session's state as its events arrive: each event's status and progress fold into the last
/// known ``SessionDocument``, and a `seq` that does not follow the previous one says events were
/// missed (the subscriber joined late, the publisher dropped some, or the service restarted) — then
/// re-read the session with `GET_SESSION` and ``replace(with:)``.
public struct SessionTracker: Sendable, Hashable {
    /// The session as last known.
    public private(set) var session: SessionDocument
    /// The `seq` of the last event applied (0 before the first).
    public private(set) var lastSeq: Int

    /// Starts from `session`, whose events up to `lastSeq` are already in it (0: none, so a fresh
    /// session's first event, `seq` 1, follows without a gap).
    public init(_ session: SessionDocument, lastSeq: Int = 0) {
        self.session = session
        self.lastSeq = lastSeq
    }

    /// Starts from an event of a session not known before (its request is not in events: the
    /// formula shows empty until the session is read).
    public init(event: EventDocument) {
        self.init(
            SessionDocument(
                sessionId: event.sessionId,
                status: event.status,
                progress: ProgressDocument(
                    completed: event.completed,
                    total: event.total,
                    matchesSoFar: event.matchesSoFar
                ),
                request: ScanRequestDocument(formula: FormulaDocument(name: nil, source: "")),
                createdAt: event.time
            ),
            lastSeq: event.seq
        )
    }

    /// Applies `event` (of this session) and returns `false` when events were missed before it. An
    /// event that does not come after the last one applied (delivered late, or the first events of a
    /// restarted service, which numbers them from 1 again) is not applied: it returns `false`, so the
    /// caller re-reads the session, and later events follow on from it.
    @discardableResult
    public mutating func apply(_ event: EventDocument) -> Bool {
        guard event.seq > lastSeq else {
            lastSeq = event.seq
            return false
        }
        let followed = event.seq == lastSeq + 1
        lastSeq = event.seq
        // A re-read (``replace(with:)``) can be ahead of the events still on their way: an event of the
        // same status and total that is behind it does not take the progress back.
        let behind =
            event.status == session.status && event.total == session.progress.total
            && event.completed < session.progress.completed
        session.status = event.status
        if !behind {
            session.progress = ProgressDocument(
                completed: event.completed,
                total: event.total,
                matchesSoFar: event.matchesSoFar
            )
        }
        session.error = event.error
        return followed
    }

    /// Takes a freshly read session (after a gap, a quiet spell or a reply), except where the events
    /// already said more: a read answered just before an event was published can be older than the
    /// event. So a session the events ended stays ended, and a running session's progress never goes
    /// back while the read is of the same status and total (the read's request and times are taken).
    public mutating func replace(with fresh: SessionDocument) {
        let known = session
        session = fresh
        if fresh.scanStatus?.isFinal == true { return }
        if known.scanStatus?.isFinal == true {
            session.status = known.status
            session.progress = known.progress
            session.error = known.error
            session.finishedAt = known.finishedAt ?? fresh.finishedAt
        } else if known.status == fresh.status, known.progress.total == fresh.progress.total,
            known.progress.completed > fresh.progress.completed
        {
            session.progress = known.progress
        }
    }

    /// Whether the session has ended (`completed`, `failed` or `cancelled`).
    public var isFinal: Bool { session.scanStatus?.isFinal == true }
}
